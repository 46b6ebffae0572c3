import * as crypto from 'node:crypto';
import type { AuthInfo, TokenVerifier } from '../core/auth.js';
import type { Clock } from './lib/options.js';

/**
 * A verifier may bound how long its verdicts stay true: an introspection answer can be revoked at the
 * authorization server, so it is trusted for at most `maxCacheSeconds` (RFC 7662 §4), whatever `exp` says.
 */
export interface CacheHints {
  readonly maxCacheSeconds?: number;
}

export interface CachedVerifierOptions {
  /** Most tokens remembered; the oldest entry goes first. Default 10,000. */
  maxEntries?: number;
  /** Upper bound for any entry, in seconds, on top of the token's `exp` and the inner verifier's hint. */
  maxTtlSeconds?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: Clock;
}

/** A cached verifier, with its size exposed for metrics and tests. */
export interface CachedVerifier extends TokenVerifier {
  readonly size: number;
  /** Forgets every verdict (say, after a configuration reload). */
  clear(): void;
  /**
   * Whether `auth`, which this cache returned, is still the answer it holds for that token: not expired,
   * not evicted, not cleared. Lets a caller that remembers which token gave `auth` skip hashing it again
   * (the guard does, per connection) without ever answering differently from the cache.
   */
  isCurrent(auth: AuthInfo): boolean;
}

interface Entry {
  readonly auth: AuthInfo;
  /** Milliseconds since the epoch at which the entry stops counting. */
  readonly until: number;
}

// crypto.hash (Node >= 20.12) skips the Hash object; createHash is the fallback for older 20.x.
const sha256: (token: string) => string =
  typeof crypto.hash === 'function'
    ? (token) => crypto.hash('sha256', token, 'base64')
    : (token) => crypto.createHash('sha256').update(token).digest('base64');

/**
 * Remembers verified tokens so a token is not verified again until it expires: the hot path of every
 * request becomes a SHA-256 of the token and a `Map` lookup (about a microsecond), instead of a signature
 * check or an introspection call.
 *
 * - An entry lives until the token's `exp`, and never past the inner verifier's `maxCacheSeconds`
 *   (introspection) or `maxTtlSeconds`. A token already past `exp` (accepted within the clock tolerance)
 *   is not stored.
 * - Keys are SHA-256 digests of the tokens; raw tokens are never kept.
 * - Bounded: at `maxEntries`, the oldest insertion is evicted (entries also die at their expiry, so
 *   insertion order is close to expiry order; an LRU touch on every hit would cost the hot path more).
 * - Concurrent verifications of one token share one in-flight promise (one JWKS or introspection call).
 * - Failures are not cached. A negative cache cannot stop a flood of distinct garbage tokens, and for the
 *   same bad token repeated it would freeze refusals that can turn true moments later (`nbf` within
 *   reach, a key rotation during the JWKS cooldown, an introspection outage answered 503). Refusing a
 *   known-bad JWT again is cheap; the JWKS refetch behind an unknown `kid` is rate-limited by its cooldown.
 *
 * Not detected: revocation of a JWT before its `exp` (no verifier can see that without introspection).
 *
 * @example
 * const verifier = cachedVerifier(createJwtVerifier({ issuer, audience, jwksUri }));
 * const auth = await verifier.verify(token); // verified once, then served from memory until exp
 */
export function cachedVerifier(inner: TokenVerifier & CacheHints, options: CachedVerifierOptions = {}): CachedVerifier {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new TypeError(`maxEntries must be a positive integer, got ${String(maxEntries)}`);
  const bounds = [options.maxTtlSeconds, inner.maxCacheSeconds].filter((value): value is number => value !== undefined);
  for (const bound of bounds) {
    if (!Number.isFinite(bound) || bound < 0) throw new TypeError(`cache bound must be a non-negative number of seconds, got ${String(bound)}`);
  }
  const maxTtlMs = bounds.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...bounds) * 1000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  /** The `until` of every entry, by its `auth`, for isCurrent(); an entry leaves both maps together. */
  let current = new WeakMap<AuthInfo, number>();
  const inflight = new Map<string, Promise<AuthInfo>>();
  let generation = 0;

  const store = (key: string, auth: AuthInfo, started: number): void => {
    const until = Math.min(auth.expiresAt * 1000, started + maxTtlMs);
    if (until <= now()) return;
    if (entries.size >= maxEntries) forget(entries.keys().next().value!);
    entries.set(key, { auth, until });
    current.set(auth, until);
  };
  const forget = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    entries.delete(key);
    current.delete(entry.auth);
  };

  return {
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
      current = new WeakMap();
      inflight.clear();
      generation++;
    },
    isCurrent(auth: AuthInfo): boolean {
      const until = current.get(auth);
      return until !== undefined && now() < until;
    },
    verify(token: string): Promise<AuthInfo> {
      const key = sha256(token);
      const entry = entries.get(key);
      if (entry !== undefined) {
        if (now() < entry.until) return Promise.resolve(entry.auth);
        forget(key);
      }
      const pending = inflight.get(key);
      if (pending !== undefined) return pending;
      // The bound counts from when verification started: an introspection answer is as old as its request.
      const started = now();
      const startedIn = generation;
      const verification = inner.verify(token).then(
        (auth) => {
          if (startedIn === generation) {
            inflight.delete(key);
            store(key, auth, started);
          }
          return auth;
        },
        (err: unknown) => {
          if (startedIn === generation) inflight.delete(key);
          throw err;
        },
      );
      inflight.set(key, verification);
      return verification;
    },
  };
}

import { createLocalJWKSet, errors, type CryptoKey, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import { unavailable } from '../../core/errors.js';
import type { Clock, Fetch } from './options.js';

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

/** Timings of a {@link RemoteKeySet}, in milliseconds. */
export interface RemoteKeySetTimings {
  /** After a successful fetch, how long an unknown `kid` waits before it may trigger another one. */
  readonly cooldownMs: number;
  /** Age after which the keys are refetched before use. */
  readonly cacheMaxAgeMs: number;
  /** While the endpoint fails, keys are still used up to this age; past it, verification answers 503. */
  readonly maxStaleMs: number;
  /** Timeout of one JWKS request. */
  readonly timeoutMs: number;
}

type RefreshResult = 'ok' | 'failed' | 'skipped';

/** After a failed fetch, no new attempt for this long (bounded by the cooldown): a down IdP is not hammered. */
const RETRY_AFTER_FAILURE_MS = 5_000;

/**
 * A remote JSON Web Key Set (RFC 7517 §5) whose keys are selected by jose's `createLocalJWKSet`, with the
 * fetching policy the resource server needs, which jose's `createRemoteJWKSet` does not give:
 *
 * - **Stale-if-error.** jose refetches once `cacheMaxAge` has passed and fails the verification if that
 *   fetch fails, so a short JWKS outage would reject every new token. Here cached keys keep working while
 *   the endpoint is down, up to `maxStaleMs`.
 * - **Cooldown on failure too.** jose's cooldown starts only after a *successful* fetch, so while the
 *   endpoint is down every token with an unknown `kid` triggers a fetch. Here a failed fetch also holds
 *   further attempts back (5 s, or the cooldown if shorter).
 * - **An injected clock**, so tests drive time instead of sleeping.
 *
 * One refetch for an unknown `kid` (OpenID Connect Core §10.1.1: signing keys rotate by publishing a new
 * `kid`), then a cooldown. Concurrent callers share one request. Failures to fetch surface as 503
 * (`temporarily_unavailable`), never as a grant.
 */
export class RemoteKeySet {
  readonly #url: string;
  readonly #fetch: Fetch;
  readonly #now: Clock;
  readonly #timings: RemoteKeySetTimings;
  readonly #retryMs: number;
  #local: LocalKeySet | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastFailure: string | undefined;
  #pending: Promise<RefreshResult> | undefined;

  constructor(url: URL, timings: RemoteKeySetTimings, fetchImpl: Fetch = fetch, now: Clock = Date.now) {
    this.#url = url.href;
    this.#fetch = fetchImpl;
    this.#now = now;
    this.#timings = timings;
    this.#retryMs = Math.min(RETRY_AFTER_FAILURE_MS, timings.cooldownMs);
  }

  /**
   * The key resolver handed to jose's `jwtVerify`: returns the key matching the JWS header's `alg` and
   * `kid`, or throws jose's `JWKSNoMatchingKey` (→ 401) or a 503 `OAuthError` when no keys are usable.
   */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    if (this.#local === undefined || this.#age() >= this.#timings.cacheMaxAgeMs) await this.#refresh(false);
    try {
      return await this.#select(this.#usable(), header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      const result = await this.#refresh(true);
      if (result === 'ok') return this.#select(this.#local!, header, token);
      // The key may exist at the issuer but cannot be fetched now: that is doubt, so 503, not 401.
      if (this.#lastFailure !== undefined) throw unavailable(`no JWKS key matches and the JWKS cannot be fetched: ${this.#lastFailure}`);
      throw err;
    }
  };

  /** Whether keys are loaded and usable now (for readiness checks). */
  get ready(): boolean {
    return this.#local !== undefined && this.#age() < this.#timings.maxStaleMs;
  }

  async #select(local: LocalKeySet, header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    try {
      return await local(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      // A published key that cannot be imported is the issuer's fault, not the token's: we cannot check.
      throw unavailable(`JWKS key from ${this.#url} is unusable: ${describe(err)}`);
    }
  }

  #age(): number {
    return this.#now() - this.#fetchedAt;
  }

  #usable(): LocalKeySet {
    if (this.#local === undefined) throw unavailable(`no JWKS keys loaded from ${this.#url}: ${this.#lastFailure ?? 'not fetched yet'}`);
    if (this.#age() >= this.#timings.maxStaleMs) {
      throw unavailable(`JWKS keys from ${this.#url} are older than the stale limit and the endpoint fails: ${this.#lastFailure ?? 'unknown'}`);
    }
    return this.#local;
  }

  /** Fetches the set unless one is in flight or the last attempt was too recent. Never rejects. */
  #refresh(unknownKid: boolean): Promise<RefreshResult> {
    if (this.#pending !== undefined) return this.#pending;
    const gap = this.#lastFailure !== undefined ? this.#retryMs : unknownKid ? this.#timings.cooldownMs : 0;
    if (this.#now() - this.#attemptedAt < gap) return Promise.resolve('skipped');
    this.#attemptedAt = this.#now();
    const pending = this.#load().then(
      (local): RefreshResult => {
        this.#local = local;
        this.#fetchedAt = this.#now();
        this.#lastFailure = undefined;
        return 'ok';
      },
      (err: unknown): RefreshResult => {
        this.#lastFailure = describe(err);
        return 'failed';
      },
    );
    this.#pending = pending.finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #load(): Promise<LocalKeySet> {
    const response = await this.#fetch(this.#url, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(this.#timings.timeoutMs),
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`JWKS endpoint answered HTTP ${response.status}`);
    }
    // createLocalJWKSet checks the shape (RFC 7517 §5: an object with a "keys" array).
    return createLocalJWKSet((await response.json()) as JSONWebKeySet);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

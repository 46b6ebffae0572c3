/**
 * The optional credential an HTTP backend receives (`--backend-token jwt`): a short-lived JWT the gateway
 * signs with the embedded authorization server's key ring, so the backend can verify it against the
 * gateway's JWKS (`PUBLIC_URL/.well-known/jwks.json`, found through the gateway's RFC 8414 metadata) and
 * know both that the request came through the gateway and who is calling. It is a new token, for the
 * backend only, never the caller's:
 *
 * - header `{ alg: ES256, kid, typ: at+jwt }` (an RFC 9068 access token for the backend);
 * - `iss` the gateway (`PUBLIC_URL`), `aud` the backend URL exactly, `sub`, `client_id` and `scope` of the
 *   caller, `iat`, `exp` (at most 60 s later), `jti`.
 *
 * Because its `aud` is the backend, the gateway itself refuses it (RFC 8707), and so does any other resource.
 * A token is reused for the same caller and scopes while it has more than half its life left, so a busy
 * caller costs one signature every 30 s, not one per request.
 */
import { randomBytes } from 'node:crypto';
import type { AuthInfo } from '../core/auth.js';

/** What signs: the embedded authorization server's key ring (`KeyRing.sign`). */
export interface TokenSigner {
  sign(payload: Record<string, unknown>, header: { typ: string }): Promise<string>;
}

export interface BackendTokenOptions {
  signer: TokenSigner;
  /** `iss`: the gateway's `PUBLIC_URL`. */
  issuer: string;
  /** `aud`: the backend's URL. */
  audience: string;
  /** Lifetime in seconds (default and at most 60). */
  ttlSeconds?: number;
  /** Clock, epoch seconds. */
  now?: () => number;
}

/** Most callers whose token is kept for reuse (the cache starts over past it). */
const CACHE_LIMIT = 1000;
/** The longest a backend token lives: it proves one request's caller, not a session. */
export const BACKEND_TOKEN_MAX_TTL_SECONDS = 60;

/**
 * Returns the `Authorization` header value for a caller.
 *
 * @example
 * const credentials = backendCredentials({ signer: embedded.context.keys, issuer: 'https://gw.example', audience: 'http://127.0.0.1:8080/mcp' });
 * await credentials(auth); // 'Bearer eyJhbGciOiJFUzI1NiIs…'
 */
export function backendCredentials(options: BackendTokenOptions): (caller: AuthInfo) => Promise<string> {
  const ttl = options.ttlSeconds ?? BACKEND_TOKEN_MAX_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 2 || ttl > BACKEND_TOKEN_MAX_TTL_SECONDS) throw new TypeError(`ttlSeconds must be a whole number from 2 to ${BACKEND_TOKEN_MAX_TTL_SECONDS}`);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const cache = new Map<string, { value: Promise<string>; renewAt: number }>();

  return (caller) => {
    const at = now();
    const key = `${caller.subject}\u0000${caller.clientId}\u0000${caller.scopes.join(' ')}`;
    const kept = cache.get(key);
    if (kept !== undefined && at < kept.renewAt) return kept.value;
    const payload: Record<string, unknown> = {
      iss: options.issuer,
      sub: caller.subject,
      aud: options.audience,
      client_id: caller.clientId,
      iat: at,
      exp: at + ttl,
      jti: randomBytes(12).toString('base64url'),
    };
    if (caller.scopes.length > 0) payload['scope'] = caller.scopes.join(' ');
    const value = options.signer.sign(payload, { typ: 'at+jwt' }).then((jwt) => `Bearer ${jwt}`);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, { value, renewAt: at + Math.floor(ttl / 2) });
    // A failed signature is not kept: the next request tries again.
    value.catch(() => cache.delete(key));
    return value;
  };
}

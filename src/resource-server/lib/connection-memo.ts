import { timingSafeEqual } from 'node:crypto';
import type { AuthInfo } from '../../core/auth.js';

interface Remembered {
  /** The exact `Authorization` header value, UTF-8 encoded. */
  readonly header: Buffer;
  readonly auth: AuthInfo;
}

/**
 * The last `Authorization` header each connection presented and the verdict it got, so that the next
 * request on that connection carrying the same header skips parsing it, hashing the token and looking it
 * up in the verified-token cache (measured: about 7 µs of server CPU per request under `npm run bench`,
 * most of it the SHA-256).
 *
 * Why this is safe:
 * - It never answers differently from the cache: a remembered verdict counts only while `isCurrent(auth)`
 *   says the cache still holds that very verdict, so its expiry (the token's `exp`, the inner verifier's
 *   `maxCacheSeconds`, `maxTtlSeconds`), eviction and `clear()` end it here too.
 * - Headers are compared in constant time (only whether the lengths are equal shows): one connection can
 *   carry several callers (a reverse proxy pooling its upstream connections), and no caller may learn
 *   anything about another one's token from how long its own request takes.
 * - It holds one header per open connection, in a WeakMap keyed by the socket, so it goes with it.
 *
 * What still runs on every request: the refusals about where credentials are (two `Authorization` headers,
 * a token in the query string) and every scope check.
 */
export class ConnectionMemo {
  readonly #last = new WeakMap<object, Remembered>();
  readonly #isCurrent: (auth: AuthInfo) => boolean;

  constructor(isCurrent: (auth: AuthInfo) => boolean) {
    this.#isCurrent = isCurrent;
  }

  /** The verdict for `header` if it is exactly the header this connection presented last, and still current. */
  recall(connection: object, header: string): AuthInfo | undefined {
    const last = this.#last.get(connection);
    if (last === undefined) return undefined;
    const presented = Buffer.from(header);
    if (presented.length !== last.header.length || !timingSafeEqual(presented, last.header)) return undefined;
    return this.#isCurrent(last.auth) ? last.auth : undefined;
  }

  remember(connection: object, header: string, auth: AuthInfo): void {
    this.#last.set(connection, { header: Buffer.from(header), auth });
  }
}

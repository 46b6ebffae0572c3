import { timingSafeEqual } from 'node:crypto';
import type { AuthInfo } from '../../core/auth.js';

interface Remembered {
  readonly header: string;
  /** `header` as latin1 bytes, for the constant-time comparison. */
  readonly bytes: Buffer;
  readonly auth: AuthInfo;
}

/** Where a presented header is copied to be compared, so that a comparison allocates nothing. */
let scratch = Buffer.allocUnsafe(2048);

/**
 * The last `Authorization` header each connection presented and the verdict it got, so that the next
 * request on that connection carrying the same header skips parsing it, hashing the token and looking it
 * up in the verified-token cache, and the wait for its answer (measured under `npm run bench`: about
 * 7 µs of server CPU per request).
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
    if (last === undefined || header.length !== last.header.length) return undefined;
    if (scratch.length < header.length) scratch = Buffer.allocUnsafe(header.length);
    // Node's HTTP parser gives header values one character per byte, so latin1 gives back the wire bytes.
    scratch.write(header, 0, 'latin1');
    if (!timingSafeEqual(scratch.subarray(0, header.length), last.bytes)) return undefined;
    // Bytes equal: `!==` now reveals nothing, and rules out strings latin1 cannot tell apart (not from the wire).
    if (header !== last.header) return undefined;
    return this.#isCurrent(last.auth) ? last.auth : undefined;
  }

  remember(connection: object, header: string, auth: AuthInfo): void {
    this.#last.set(connection, { header, bytes: Buffer.from(header, 'latin1'), auth });
  }
}

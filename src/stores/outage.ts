import type { Logger } from '../core/log.js';
import { StoreError } from './errors.js';

/**
 * How the layers that answer requests (the HTTP layer, the MCP transport, the authorization server's
 * endpoints) treat a store that cannot serve: a `StoreError('unavailable')` fails the request closed —
 * 503 `temporarily_unavailable` with `Retry-After`, nothing granted, nothing stored — and is reported
 * here without flooding the log. The store adapters reconnect by themselves; nothing here retries.
 */

/** `Retry-After` (seconds) of a 503 for a store that cannot serve: the adapters retry at least this often. */
export const STORE_RETRY_AFTER_SECONDS = 1;

/** At most one warning this often while the store keeps failing; the requests in between are logged at debug. */
const WARN_EVERY_MS = 60_000;

/** Whether `error` is the store saying it cannot serve now (down, busy, unreachable): a 503, not a 500. */
export function isStoreUnavailable(error: unknown): error is StoreError {
  return error instanceof StoreError && error.code === 'unavailable';
}

interface Throttle {
  warnedAt: number;
  /** Failures since the last warning. */
  since: number;
}

/** Per logger, so that the layers sharing one process logger share one rhythm of warnings. */
const throttles = new WeakMap<Logger, Throttle>();

/**
 * Reports a request that failed because the store is unavailable: the first one of an outage as a warning
 * with the store's reason (which names host:port, never credentials) and no stack trace — nothing is broken
 * in this process — then at most one warning a minute, counting the failures in between, which go to
 * debug. Each request still has its own access-log line (decision `store_unavailable`).
 *
 * @example
 * if (isStoreUnavailable(error)) { reportStoreUnavailable(logger, error); return sendJson(res, 503, …); }
 */
export function reportStoreUnavailable(logger: Logger, error: StoreError, now: number = Date.now()): void {
  let throttle = throttles.get(logger);
  if (throttle === undefined) {
    throttle = { warnedAt: -Infinity, since: 0 };
    throttles.set(logger, throttle);
  }
  throttle.since++;
  if (now - throttle.warnedAt < WARN_EVERY_MS) {
    logger.debug({ reason: error.message }, 'store unavailable');
    return;
  }
  logger.warn({ reason: error.message, failures: throttle.since }, 'the store is unavailable: requests that need it are answered 503 until it is back');
  throttle.warnedAt = now;
  throttle.since = 0;
}

/**
 * Shared option types and construction-time checks for the verifiers. Everything here runs when a
 * verifier is built, so bad configuration fails at start-up rather than on the first request.
 */

/** The clock every verifier reads: milliseconds since the epoch, like `Date.now`. Tests drive it. */
export type Clock = () => number;

/** A `fetch` implementation; defaults to the global one. Tests and proxies may pass their own. */
export type Fetch = typeof fetch;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether `url` is plain http to this machine (allowed for tests and local development only). */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Parses an endpoint or issuer URL: https, or http only on a loopback host (RFC 8414 §2 and RFC 7662 §4
 * require TLS; a token or client secret must not cross the network in the clear).
 *
 * @throws TypeError naming the option, for a value that is not such a URL.
 */
export function parseSecureUrl(value: unknown, option: string): URL {
  let url: URL;
  try {
    url = new URL(value instanceof URL ? value.href : String(value));
  } catch {
    throw new TypeError(`${option} must be an absolute URL, got ${JSON.stringify(String(value))}`);
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    throw new TypeError(`${option} must use https (http is allowed only for 127.0.0.1, localhost and [::1]), got ${url.href}`);
  }
  if (url.username || url.password) throw new TypeError(`${option} must not carry credentials`);
  if (url.hash) throw new TypeError(`${option} must not have a fragment`);
  return url;
}

/** Checks a non-empty string option. */
export function requireString(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${option} must be a non-empty string`);
  return value;
}

/** Checks a duration option in the given unit; `undefined` gives the default. */
export function duration(value: unknown, fallback: number, option: string, max = Number.POSITIVE_INFINITY): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new TypeError(`${option} must be a number from 0 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

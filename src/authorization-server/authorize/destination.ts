/**
 * Where the authorization response goes: matching a requested redirect URI against the registered ones,
 * and naming the destination on the consent page (the redirect URI's host is the fact a user can check:
 * a look-alike client name cannot fake it).
 */

/** RFC 8252 §7.3 (and §8.3's `localhost`, which real clients use): the hosts of an `http` loopback redirect URI. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Whether a redirect URI is an `http` loopback one (an app on this computer). */
export function isLoopbackRedirect(uri: string): boolean {
  if (!URL.canParse(uri)) return false;
  const url = new URL(uri);
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * The redirect URI to use for a request, or undefined when `requested` is not registered.
 *
 * Exact string comparison (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1: no normalisation, no prefix or pattern), with
 * one exception: for a registered `http` loopback URI the port is free (RFC 8252 §7.3: native apps listen on
 * an ephemeral port), so the two must be equal once the port is removed from both; scheme, host literal
 * (`127.0.0.1` ≠ `localhost`), path and query stay exact.
 *
 * @example
 * matchRedirectUri(['http://127.0.0.1/callback'], 'http://127.0.0.1:53144/callback'); // 'http://127.0.0.1:53144/callback'
 * matchRedirectUri(['https://app.example/cb'], 'https://app.example/cb/'); // undefined
 */
export function matchRedirectUri(registered: readonly string[], requested: string): string | undefined {
  if (registered.includes(requested)) return requested;
  if (!requested.startsWith('http://') || !URL.canParse(requested) || !isLoopbackRedirect(requested)) return undefined;
  const bare = withoutPort(requested);
  return registered.some((uri) => isLoopbackRedirect(uri) && withoutPort(uri) === bare) ? requested : undefined;
}

/** `http://host:port/rest` → `http://host/rest`, on the raw string (`userinfo@` or anything odd leaves a mismatch). */
function withoutPort(uri: string): string {
  const rest = uri.slice('http://'.length);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  return `http://${authority.replace(/:\d+$/, '')}${end === -1 ? '' : rest.slice(end)}`;
}

/**
 * The destination to show: `host[:port]` for http(s) (`localhost:33418`, `claude.ai`), or, for a
 * private-use scheme (RFC 8252 §7.1), the scheme and "an app on this device".
 *
 * @example
 * redirectDestination('https://claude.ai/api/mcp/auth_callback'); // 'claude.ai'
 * redirectDestination('com.example.app:/oauth'); // 'com.example.app: (an app on this device)'
 */
export function redirectDestination(uri: string): string {
  const url = new URL(uri);
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.host;
  return `${url.protocol} (an app on this device)`;
}

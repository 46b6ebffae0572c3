/**
 * The console's two cookies (RFC 6265bis). Under an https public URL they carry the `__Host-` prefix with
 * `Secure` (the browser then guarantees `Path=/` and no `Domain`, so no sibling host can plant or shadow
 * them); always `HttpOnly` (no script reads them, and the pages have none) and `SameSite=Lax` (not sent
 * on cross-site POSTs: a second line behind the CSRF token). Their names differ from the authorization
 * server's login cookie, whose life is its own.
 */

/** Which cookie. */
export type ConsoleCookie = 'session' | 'login';

/** A cookie's name on a server whose public URL is https (`secure`) or not. */
export function cookieName(cookie: ConsoleCookie, secure: boolean): string {
  const name = cookie === 'session' ? 'portcullis-console' : 'portcullis-console-login';
  return secure ? `__Host-${name}` : name;
}

/** The `Set-Cookie` value that keeps `value` for `maxAge` seconds (0 deletes the cookie). */
export function setCookie(cookie: ConsoleCookie, secure: boolean, value: string, maxAge: number): string {
  return `${cookieName(cookie, secure)}=${value}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAge))}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The `Set-Cookie` value that deletes a cookie. */
export function clearCookie(cookie: ConsoleCookie, secure: boolean): string {
  return setCookie(cookie, secure, '', 0);
}


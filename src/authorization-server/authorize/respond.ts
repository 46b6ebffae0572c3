import type { ServerResponse } from 'node:http';
import type { Html } from '../../web/html.js';
import { pageHeaders } from '../../web/layout.js';

/**
 * How the authorization endpoint answers: an HTML page, or a redirect to the client. Every answer carries
 * the page security headers (`no-store`, no framing, no referrer, `nosniff`, a CSP allowing nothing but our
 * stylesheet and the page's form targets).
 */

export interface PageResponse {
  status: number;
  page: Html;
  /**
   * Origins (or a private-use scheme, `com.example.app:`) the page's form may end up at besides `'self'`:
   * the client's redirect origin. Undefined for a page without a form.
   */
  formAction?: readonly string[];
  /** `Set-Cookie` values. */
  cookies?: readonly string[];
  headers?: Readonly<Record<string, string>>;
}

/** Sends an HTML page with the security headers. */
export function sendPage(res: ServerResponse, response: PageResponse): void {
  const body = response.page.value;
  res.writeHead(response.status, {
    ...pageHeaders(response.formAction === undefined ? {} : { formAction: response.formAction }),
    ...response.headers,
    ...(response.cookies?.length ? { 'set-cookie': [...response.cookies] } : {}),
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Redirects the browser: 302 in answer to a GET, 303 in answer to a form POST (OAuth 2.1 §7.5.2 / RFC 9700
 * §4.12: never 307, which would re-send the credentials to the client).
 */
export function sendRedirect(res: ServerResponse, location: string, method: string, cookies: readonly string[] = []): void {
  res.writeHead(method === 'POST' ? 303 : 302, {
    ...pageHeaders(),
    ...(cookies.length ? { 'set-cookie': [...cookies] } : {}),
    location,
    'content-length': 0,
  });
  res.end();
}

/**
 * The authorization response URL (RFC 6749 §4.1.2): the redirect URI with `params` appended to its query.
 * The registered part of the URI is kept byte for byte (not re-serialised); values are form-encoded, so
 * `state` reaches the client exactly as it was sent.
 */
export function authorizationResponseUrl(redirectUri: string, params: Readonly<Record<string, string | undefined>>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.append(name, value);
  const separator = redirectUri.includes('?') ? (redirectUri.endsWith('?') || redirectUri.endsWith('&') ? '' : '&') : '?';
  return redirectUri + separator + query.toString();
}

/**
 * The CSP `form-action` source for a redirect URI: its origin for http(s), its scheme for a private-use
 * scheme (RFC 8252 §7.1) or an IPv6 host. Built from the parsed URL, so nothing of the request can add a directive.
 */
export function formActionSource(redirectUri: string): string | undefined {
  if (!URL.canParse(redirectUri)) return undefined;
  const url = new URL(redirectUri);
  // CSP host-sources cannot spell an IPv6 literal: fall back to the scheme (form-action is defence in depth
  // here, the pages carry no markup of anyone else's).
  if (url.protocol === 'http:' || url.protocol === 'https:') return url.hostname.startsWith('[') ? url.protocol : url.origin;
  return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : undefined;
}

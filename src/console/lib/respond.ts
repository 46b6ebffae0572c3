/**
 * How the console answers: HTML pages and redirects with the page security headers of `web/layout.ts`
 * (`no-store`, unframeable, `nosniff`, a CSP allowing nothing but the hashed stylesheet and forms posted
 * to this origin), and the `no-store` JSON of `/oauth/status`. The referrer policy is `same-origin`
 * rather than the AS pages' `no-referrer`, so that browsers send the console's forms with their real
 * `Origin` (`lib/post.ts` checks it) while no other site learns a console URL.
 */

/** The console's referrer policy (see the module comment). */
const REFERRER = { 'referrer-policy': 'same-origin' } as const;
import type { ServerResponse } from 'node:http';
import { sendJson } from '../../core/http.js';
import type { Html } from '../../web/html.js';
import { pageHeaders } from '../../web/layout.js';

/** Extra response headers and `Set-Cookie` values. */
export interface AnswerOptions {
  readonly cookies?: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
}

/** Sends a page. Its forms may only post to this origin (`form-action 'self'`). */
export function sendPage(res: ServerResponse, status: number, page: Html, options: AnswerOptions = {}): void {
  const body = page.value;
  res.writeHead(status, {
    ...pageHeaders({ formAction: [] }),
    ...REFERRER,
    ...options.headers,
    ...(options.cookies?.length ? { 'set-cookie': [...options.cookies] } : {}),
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Redirects the browser: 303 after a form POST (never 307, which would post again), 302 after a GET. */
export function sendRedirect(res: ServerResponse, location: string, method: string | undefined, options: AnswerOptions = {}): void {
  res.writeHead(method === 'POST' ? 303 : 302, {
    ...pageHeaders(),
    ...REFERRER,
    ...options.headers,
    ...(options.cookies?.length ? { 'set-cookie': [...options.cookies] } : {}),
    location,
    'content-length': 0,
  });
  res.end();
}

/** JSON that no cache keeps, never framed or sniffed. */
export function sendNoStoreJson(res: ServerResponse, status: number, body: unknown, options: AnswerOptions = {}): void {
  if (options.cookies?.length) res.setHeader('set-cookie', [...options.cookies]);
  sendJson(res, status, body, { 'cache-control': 'no-store', pragma: 'no-cache', 'x-content-type-options': 'nosniff', ...options.headers });
}

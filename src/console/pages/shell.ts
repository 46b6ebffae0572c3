import { html, type Html } from '../../web/html.js';
import { layout } from '../../web/layout.js';

/** The signed-in person a page is rendered for. */
export interface Viewer {
  readonly username: string;
  /** Holds `mcp:admin`: the administrators' pages are linked. */
  readonly admin: boolean;
  /** The session's CSRF token, for the logout form. */
  readonly csrf: string;
}

export interface ConsolePageOptions {
  /** The document title and heading (escaped). */
  title: string;
  body: Html;
  /** The path of `PUBLIC_URL` (`''` at the root), for links and form targets. */
  base: string;
  /** Undefined for an anonymous visitor: a "Log in" link instead of the logout button. */
  viewer?: Viewer | undefined;
}

/**
 * A console page: the shared layout (hashed stylesheet, no script), wide, with the navigation — status,
 * tools, and for administrators clients, grants and sessions — and who is signed in with a logout button
 * (a POST with the session's CSRF token), or a "Log in" link.
 *
 * @example
 * consolePage({ title: 'Tools', body: html`…`, base: '', viewer: { username: 'alice', admin: false, csrf } });
 */
export function consolePage(options: ConsolePageOptions): Html {
  const { base, viewer } = options;
  const links: Html[] = [html`<a href="${base}/">Status</a>`];
  if (viewer) links.push(html`<a href="${base}/tools">Tools</a>`);
  if (viewer?.admin) links.push(html`<a href="${base}/admin/clients">Clients</a>`, html`<a href="${base}/admin/grants">Grants</a>`, html`<a href="${base}/admin/sessions">Sessions</a>`);
  const account = viewer
    ? html`<span class="muted">Signed in as <strong>${viewer.username}</strong></span>
<form method="post" action="${base}/oauth/logout"><input type="hidden" name="csrf_token" value="${viewer.csrf}"><button type="submit">Log out</button></form>`
    : html`<a href="${base}/oauth/login">Log in</a>`;
  const body = html`<nav aria-label="Console">${links}
${account}</nav>
<h1>${options.title}</h1>
${options.body}`;
  return layout({ title: options.title, body, wide: true, referrerPolicy: 'same-origin' });
}

/** A date (epoch seconds) as `2025-11-23 19:32:05 UTC`. */
export function formatTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A refusal or failure: the heading is the page's, the message one sentence for the person at the browser. */
export function errorBody(message: string, options: { base: string; login: boolean }): Html {
  return html`<p class="error" role="alert">${message}</p>
${options.login ? html`<p><a href="${options.base}/oauth/login">Log in</a></p>` : html`<p><a href="${options.base}/">Back to the status page</a></p>`}`;
}

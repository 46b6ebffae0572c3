import { createHash } from 'node:crypto';
import { html, raw, type Html } from './html.js';

/**
 * The page shell of every server-rendered page, and the security headers that go with it.
 *
 * The stylesheet is inline and allowed by its SHA-256 hash in the Content-Security-Policy, so the pages
 * need no extra route and still run under `default-src 'none'`: no script, no image, no font, no
 * connection, nothing but this exact stylesheet and forms posted where the page says.
 */

const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1c1e21; --muted: #5f6368; --bg: #f4f5f7; --card: #fff; --line: #d5d8dc;
  --accent: #1a56db; --accent-fg: #fff; --warn-bg: #fff4e5; --warn-fg: #7a4100; --error-bg: #fdecea; --error-fg: #8a1c12; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8eaed; --muted: #a8adb4; --bg: #16181b; --card: #202327; --line: #3a3f45;
  --accent: #5b8def; --accent-fg: #0b0d10; --warn-bg: #3a2a10; --warn-fg: #ffd28a; --error-bg: #3d1714; --error-fg: #ffb4ab; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1.5rem; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: 100%; max-width: 26rem; background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 2rem; }
.brand { margin: 0 0 1rem; font-size: .85rem; letter-spacing: .08em; text-transform: uppercase; color: var(--muted); }
h1 { margin: 0 0 1rem; font-size: 1.35rem; line-height: 1.3; overflow-wrap: anywhere; }
p { margin: 0 0 1rem; overflow-wrap: anywhere; }
.muted { color: var(--muted); font-size: .9rem; }
.destination { padding: .75rem 1rem; border: 1px solid var(--line); border-radius: 8px; }
.destination p { margin: 0 0 .25rem; }
.destination strong { display: block; font-size: 1.15rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
.notice { padding: .75rem 1rem; border-radius: 8px; background: var(--warn-bg); color: var(--warn-fg); }
.error { padding: .75rem 1rem; border-radius: 8px; background: var(--error-bg); color: var(--error-fg); }
ul.scopes { margin: 0 0 1.25rem; padding-left: 1.25rem; }
ul.scopes code { font-size: .85rem; color: var(--muted); }
label { display: block; margin: 0 0 .25rem; font-weight: 600; }
input { display: block; width: 100%; margin: 0 0 1rem; padding: .6rem .7rem; font: inherit; color: inherit; background: transparent;
  border: 1px solid var(--line); border-radius: 8px; }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; margin-top: 1.25rem; }
button { flex: 1; padding: .65rem 1rem; font: inherit; font-weight: 600; border-radius: 8px; border: 1px solid var(--line);
  background: transparent; color: inherit; cursor: pointer; }
a { color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
main.wide { max-width: 64rem; }
nav { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin: 0 0 1.25rem; padding: 0 0 .75rem; border-bottom: 1px solid var(--line); }
nav form { margin: 0 0 0 auto; }
nav button, td button { flex: none; padding: .3rem .8rem; white-space: nowrap; }
h2 { margin: 0 0 .75rem; font-size: 1.1rem; overflow-wrap: anywhere; }
h3 { margin: 1rem 0 .5rem; font-size: 1rem; }
table { width: 100%; border-collapse: collapse; margin: 0 0 1.25rem; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .45rem .5rem; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
td code { overflow-wrap: anywhere; }
td form { margin: 0; }
section.tool { margin: 0 0 1.25rem; padding: 1rem; border: 1px solid var(--line); border-radius: 8px; }
select, textarea { display: block; width: 100%; margin: 0 0 1rem; padding: .5rem .7rem; font: inherit; color: inherit; background: transparent;
  border: 1px solid var(--line); border-radius: 8px; }
textarea { min-height: 5rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; }
pre { margin: 0 0 1rem; padding: .75rem; white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid var(--line); border-radius: 8px;
  font: .85rem/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; }
`.trim();

/** The CSP source that allows exactly {@link STYLESHEET} (CSP3 hash-source). */
const STYLE_SOURCE = `'sha256-${createHash('sha256').update(STYLESHEET, 'utf8').digest('base64')}'`;

export interface PageOptions {
  /** The document title (escaped). */
  title: string;
  /** The page body, inside `<main>`. */
  body: Html;
  /** A wide page (tables, the web console) instead of the narrow login card. */
  wide?: boolean;
  /**
   * The page's referrer policy (default `no-referrer`). The web console's pages use `same-origin`: a
   * browser then sends their forms' real `Origin` (under `no-referrer` it sends `Origin: null`), which the
   * console checks, and still tells no other site where the person came from.
   */
  referrerPolicy?: 'no-referrer' | 'same-origin';
}

/**
 * A complete HTML document: doctype, language, viewport, title, the hashed stylesheet and `body` in a
 * `<main>` landmark.
 *
 * @example
 * const page = layout({ title: 'Sign in', body: html`<h1>Sign in</h1>` });
 */
export function layout(options: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="${options.referrerPolicy ?? 'no-referrer'}">
<title>${options.title} · Portcullis</title>
<style>${raw(STYLESHEET)}</style>
</head>
<body>
<main${options.wide ? raw(' class="wide"') : ''}>
<p class="brand">Portcullis</p>
${options.body}
</main>
</body>
</html>
`;
}

export interface PageHeaderOptions {
  /**
   * CSP `form-action` sources besides `'self'`: the origin a form's answer may redirect to. Chromium
   * applies `form-action` to every redirect that follows a form submission, so a consent form whose
   * answer is a redirect to the client must list the client's redirect origin. Omit for pages with no
   * form (`form-action 'none'`).
   */
  formAction?: readonly string[];
}

/**
 * The response headers of every page: never cached, never framed, no referrer, no sniffing, and a CSP
 * that allows nothing but the hashed stylesheet and the page's own form targets.
 *
 * @example
 * res.writeHead(200, { ...pageHeaders({ formAction: ['http://127.0.0.1:33418'] }), 'content-type': 'text/html; charset=utf-8' });
 */
export function pageHeaders(options: PageHeaderOptions = {}): Record<string, string> {
  const formAction = options.formAction === undefined ? "'none'" : ["'self'", ...options.formAction].join(' ');
  return {
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-frame-options': 'DENY',
    'content-security-policy': `default-src 'none'; style-src ${STYLE_SOURCE}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}

/**
 * The status page (`GET /`) and the session's status as JSON (`GET /oauth/status`).
 *
 * The page is public: it shows the gateway's resource URL, whether the backend answers, and who is signed
 * in (or a "Log in" link). Where the backend is — an address on the operator's network — is shown to
 * administrators only. The JSON never carries a token: `{ authenticated, user, scopes, expires_at }`.
 */
import { html } from '../web/html.js';
import type { Handler } from './context.js';
import { signedIn } from './current.js';
import { sendNoStoreJson, sendPage } from './lib/respond.js';
import { consolePage, formatTime } from './pages/shell.js';

/** `GET /`. */
export const statusPage: Handler = async (ctx, req, res) => {
  const [current, ready] = await Promise.all([signedIn(ctx, req), ctx.backend.ready().catch(() => false)]);
  const body = html`<table>
<tr><th scope="row">MCP endpoint</th><td><code id="resource">${ctx.resource}</code></td></tr>
<tr><th scope="row">Backend</th><td id="backend-state">${ready ? 'ready' : 'not answering'}</td></tr>
${current?.admin ? html`<tr><th scope="row">Backend location</th><td><code id="backend-location">${ctx.backend.location}</code></td></tr>` : ''}
<tr><th scope="row">Signed in</th><td id="user">${
    current
      ? html`<strong>${current.user.username}</strong>${current.admin ? ' (administrator)' : ''}`
      : html`not signed in — <a href="${ctx.base}/oauth/login">Log in</a>`
  }</td></tr>
${
  current
    ? html`<tr><th scope="row">Scopes</th><td><code id="scopes">${current.session.scopes.join(' ') || '(none)'}</code></td></tr>
<tr><th scope="row">Session ends</th><td>${formatTime(current.session.expiresAt)} at the latest</td></tr>`
    : ''
}
</table>
<p class="muted">MCP clients connect to the endpoint above; they are sent to this server's sign-in page and may only call the tools their scopes allow.</p>`;
  sendPage(res, 200, consolePage({ title: 'Gateway status', body, base: ctx.base, viewer: current?.viewer }));
};

/** `GET /oauth/status`. */
export const sessionStatus: Handler = async (ctx, req, res) => {
  const current = await signedIn(ctx, req);
  if (current === undefined) return sendNoStoreJson(res, 200, { authenticated: false, user: null, scopes: [], expires_at: null });
  sendNoStoreJson(res, 200, {
    authenticated: true,
    user: { sub: current.user.id, username: current.user.username },
    scopes: current.session.scopes,
    expires_at: current.session.expiresAt,
  });
};

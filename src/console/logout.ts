/**
 * `POST /oauth/logout`: ends the console session (its grant revoked, so the refresh token dies with it,
 * and its MCP session ended at the gateway), deletes the cookie, and returns to the status page. The form
 * passes the console's POST checks (`lib/post.ts`: Origin, CSRF token bound to the session) first. A
 * browser without a live session only has its stale cookie deleted: there is nothing to end.
 */
import type { Handler } from './context.js';
import { endSession, signedIn } from './current.js';
import { clearCookie } from './lib/cookies.js';
import { readPost } from './lib/post.js';
import { sendRedirect } from './lib/respond.js';

export const logout: Handler = async (ctx, req, res) => {
  const cleared = clearCookie('session', ctx.as.secureCookies);
  const current = await signedIn(ctx, req);
  if (current === undefined) {
    req.resume();
    return sendRedirect(res, `${ctx.base}/`, 'POST', { cookies: [cleared] });
  }
  await readPost(ctx, req, current.session);
  await endSession(ctx, current.session, 'logout', { revokeGrant: true });
  sendRedirect(res, `${ctx.base}/`, 'POST', { cookies: [cleared] });
};

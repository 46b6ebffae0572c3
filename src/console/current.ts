/**
 * Who is at the browser: the console session of the request's cookie, checked at every request against
 * the store — the user must still exist and the session's grant must still be live (an administrator who
 * revokes it, or removes the user, ends the session at its next request). Administrators are users who
 * hold `mcp:admin` both in their record now and in the session's token.
 */
import type { IncomingMessage } from 'node:http';
import { ADMIN_SCOPE } from '../authorization-server/users.js';
import type { UserRecord } from '../stores/auth-types.js';
import { closeMcp } from './calls.js';
import { ConsoleError, type ConsoleContext } from './context.js';
import type { Viewer } from './pages/shell.js';
import type { ConsoleSession } from './sessions.js';

/** A signed-in person. */
export interface SignedIn {
  readonly session: ConsoleSession;
  readonly user: UserRecord;
  readonly admin: boolean;
  /** What the page shell shows. */
  readonly viewer: Viewer;
}

/** The request's live session and user; undefined for an anonymous visitor (or a session that just ended). */
export async function signedIn(ctx: ConsoleContext, req: IncomingMessage): Promise<SignedIn | undefined> {
  const session = ctx.sessions.find(req);
  if (session === undefined) return undefined;
  const user = await ctx.as.stores.users.get(session.userId);
  if (user === undefined) {
    await endSession(ctx, session, 'its user was removed');
    return undefined;
  }
  if (session.grantId !== undefined) {
    const grant = await ctx.as.stores.grants.get(session.grantId);
    if (grant === undefined || grant.revoked || grant.expiresAt <= ctx.as.now()) {
      await endSession(ctx, session, 'its grant was revoked or expired');
      return undefined;
    }
  }
  const admin = session.scopes.includes(ADMIN_SCOPE) && user.scopes.includes(ADMIN_SCOPE);
  return { session, user, admin, viewer: { username: user.username, admin, csrf: session.csrf } };
}

/** {@link signedIn}, required: an anonymous visitor gets a 401 page with a "Log in" link. */
export async function requireSignedIn(ctx: ConsoleContext, req: IncomingMessage): Promise<SignedIn> {
  const current = await signedIn(ctx, req);
  if (current === undefined) throw new ConsoleError(401, 'Log in first', 'This page is for signed-in users.', { login: true, detail: 'no console session' });
  return current;
}

/** {@link signedIn}, as an administrator: anyone else gets 403. */
export async function requireAdmin(ctx: ConsoleContext, req: IncomingMessage): Promise<SignedIn> {
  const current = await requireSignedIn(ctx, req);
  if (!current.admin) throw new ConsoleError(403, 'Administrators only', `This page is for users holding the ${ADMIN_SCOPE} scope.`, { detail: `user ${current.user.id} is no administrator` });
  return current;
}

/**
 * Ends a console session: forgotten here, its MCP session ended at the gateway, and (at logout) its grant
 * revoked, so its refresh token stops working too.
 */
export async function endSession(ctx: ConsoleContext, session: ConsoleSession, reason: string, options: { revokeGrant?: boolean } = {}): Promise<void> {
  ctx.sessions.end(session);
  if (options.revokeGrant && session.grantId !== undefined) await ctx.as.stores.grants.revoke(session.grantId);
  await closeMcp(ctx, session);
  ctx.logger.info({ user: session.userId, reason }, 'web console session ended');
}

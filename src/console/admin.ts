/**
 * The administrators' pages (users holding `mcp:admin`; anyone else gets 403): the registered clients, the
 * live grants and the gateway's MCP sessions, each row with a button that ends it — a form POST that
 * passes the console's checks (`lib/post.ts`: Origin, CSRF token bound to the session) before anything
 * changes, then a 303 back to the list with a fixed notice.
 *
 * - Removing a client: `store.clients.remove` (its grants, refresh tokens and consents go with it), and the
 *   gateway's sessions of that client end. The console's own client is not removable here.
 * - Revoking a grant: `store.grants.revoke`, ending the refresh-token family (a console session on it ends
 *   at its next request).
 * - Ending a session: the gateway forgets it and ends the backend's; its client gets 404.
 */
import type { ServerResponse } from 'node:http';
import { hashToken } from '../authorization-server/secrets.js';
import type { ConsoleContext, Handler } from './context.js';
import { ConsoleError } from './context.js';
import { requireAdmin, type SignedIn } from './current.js';
import { readPost } from './lib/post.js';
import { sendPage, sendRedirect } from './lib/respond.js';
import { clientsPage, grantsPage, sessionsPage, type AdminPageBase } from './pages/admin.js';

/** The notices a list page shows after an action, by the `done` query value. */
const NOTICES: Readonly<Record<string, string>> = {
  'client-removed': 'The client was removed.',
  'grant-revoked': 'The grant was revoked.',
  'session-ended': 'The session was ended.',
  gone: 'It was already gone.',
};

/** `GET /admin/clients`. */
export const adminClients: Handler = async (ctx, req, res) => {
  const current = await requireAdmin(ctx, req);
  const clients = await ctx.as.stores.clients.list();
  const rows = clients.map((client) => ({
    clientId: client.clientId,
    name: client.name,
    kind: `${client.tokenEndpointAuthMethod === 'none' ? 'public' : 'confidential'}, ${client.origin === 'admin' ? 'added by an administrator' : 'registered dynamically'}`,
    grantTypes: client.grantTypes,
    redirectUris: client.redirectUris,
    createdAt: client.createdAt,
    own: client.clientId === ctx.client.clientId,
  }));
  sendPage(res, 200, clientsPage({ ...pageBase(ctx, current, req.url), clients: rows }));
};

/** `GET /admin/grants`. */
export const adminGrants: Handler = async (ctx, req, res) => {
  const current = await requireAdmin(ctx, req);
  const [grants, names] = await Promise.all([ctx.as.stores.grants.list(), directory(ctx)]);
  const rows = grants.map((grant) => ({
    id: grant.id,
    user: names.users.get(grant.userId) ?? grant.userId,
    client: names.clients.get(grant.clientId) ?? grant.clientId,
    scopes: grant.scopes,
    createdAt: grant.createdAt,
    expiresAt: grant.expiresAt,
  }));
  sendPage(res, 200, grantsPage({ ...pageBase(ctx, current, req.url), grants: rows }));
};

/** `GET /admin/sessions`. */
export const adminSessions: Handler = async (ctx, req, res) => {
  const current = await requireAdmin(ctx, req);
  const names = await directory(ctx);
  const rows = ctx.gateway.listSessions().map((session) => ({
    handle: handleOf(session.id),
    user: names.users.get(session.subject) ?? session.subject,
    client: names.clients.get(session.clientId) ?? session.clientId,
    createdAt: Math.floor(session.createdAt / 1000),
    lastSeen: Math.floor(session.lastSeen / 1000),
  }));
  sendPage(res, 200, sessionsPage({ ...pageBase(ctx, current, req.url), sessions: rows }));
};

/** `POST /admin/clients/remove` with `client_id`. */
export const removeClient: Handler = async (ctx, req, res) => {
  const { current, value: clientId } = await adminAction(ctx, req, 'client_id');
  if (clientId === ctx.client.clientId) throw new ConsoleError(400, 'Not removable here', 'The console needs its own client; remove it with the clients command while the gateway is stopped.', { detail: 'console client' });
  const removed = await ctx.as.stores.clients.remove(clientId);
  if (removed) for (const session of ctx.gateway.listSessions()) if (session.clientId === clientId) ctx.gateway.endSession(session.id);
  ctx.logger.info({ admin: current.user.id, client: clientId, removed }, 'web console: client removed');
  done(ctx, res, 'clients', removed ? 'client-removed' : 'gone');
};

/** `POST /admin/grants/revoke` with `grant_id`. */
export const revokeGrant: Handler = async (ctx, req, res) => {
  const { current, value: grantId } = await adminAction(ctx, req, 'grant_id');
  const grant = await ctx.as.stores.grants.get(grantId);
  const live = grant !== undefined && !grant.revoked;
  if (live) await ctx.as.stores.grants.revoke(grantId);
  ctx.logger.info({ admin: current.user.id, grant: grantId, revoked: live }, 'web console: grant revoked');
  done(ctx, res, 'grants', live ? 'grant-revoked' : 'gone');
};

/** `POST /admin/sessions/end` with `session` (the handle the page showed). */
export const endGatewaySession: Handler = async (ctx, req, res) => {
  const { current, value: handle } = await adminAction(ctx, req, 'session');
  const session = ctx.gateway.listSessions().find((candidate) => handleOf(candidate.id) === handle);
  const ended = session !== undefined && ctx.gateway.endSession(session.id);
  ctx.logger.info({ admin: current.user.id, subject: session?.subject, client: session?.clientId, ended }, 'web console: MCP session ended');
  done(ctx, res, 'sessions', ended ? 'session-ended' : 'gone');
};

/** An administrator's checked POST and its one identifying field. */
async function adminAction(ctx: ConsoleContext, req: Parameters<Handler>[1], field: string): Promise<{ current: SignedIn; value: string }> {
  const current = await requireAdmin(ctx, req);
  const form = await readPost(ctx, req, current.session);
  const values = form.getAll(field);
  if (values.length !== 1 || values[0] === '') throw new ConsoleError(400, 'Invalid form', 'The form did not say what to end.', { detail: `${field} missing or repeated` });
  return { current, value: values[0]! };
}

function done(ctx: ConsoleContext, res: ServerResponse, list: string, notice: keyof typeof NOTICES): void {
  sendRedirect(res, `${ctx.base}/admin/${list}?done=${notice}`, 'POST');
}

function pageBase(ctx: ConsoleContext, current: SignedIn, url: string | undefined): AdminPageBase {
  const done = new URL(url ?? '/', 'http://localhost').searchParams.get('done');
  return { base: ctx.base, viewer: current.viewer, notice: done !== null && Object.hasOwn(NOTICES, done) ? NOTICES[done] : undefined };
}

/** Usernames by user id and client names by client id, for the tables. */
async function directory(ctx: ConsoleContext): Promise<{ users: Map<string, string>; clients: Map<string, string> }> {
  const [users, clients] = await Promise.all([ctx.as.stores.users.list(), ctx.as.stores.clients.list()]);
  return { users: new Map(users.map((user) => [user.id, user.username])), clients: new Map(clients.map((client) => [client.clientId, client.name])) };
}

/** What the sessions page shows and posts for a session: a digest, so the page never carries the id. */
function handleOf(id: string): string {
  return hashToken(`console-session-handle:${id}`).slice(0, 22);
}

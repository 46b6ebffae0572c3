import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UserRecord } from '../../stores/auth-types.js';
import { consentPage } from '../../web/consent.js';
import { errorPage } from '../../web/error.js';
import { grantableScopes } from '../checks/scope.js';
import type { AuthorizationServerContext } from '../context.js';
import { hashToken, randomToken, safeEqual } from '../secrets.js';
import { isLoopbackRedirect, redirectDestination } from './destination.js';
import { PageError, RedirectError, type AuthorizationRequest } from './request.js';
import { authorizationResponseUrl, formActionSource, sendPage, sendRedirect } from './respond.js';
import { cookiesForClientRedirect, credentialOf, type BrowserSession } from './session.js';
import { sealTransaction } from './transaction.js';

/**
 * What the authorization endpoint and federated login's callback share once a person is known: the
 * consent page (asked per client, remembered per user and client), the code, and how a refusal is shown
 * — a page when the browser must not be sent anywhere, else a redirect with `error`, `state` and `iss`.
 */

/** One request/response exchange of the authorization pages, and the cookies to set on whatever answers it. */
export interface Exchange {
  readonly ctx: AuthorizationServerContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly cookies: string[];
  /**
   * Where this exchange's forms post, relative to its page, so it resolves to the authorization endpoint
   * whatever the issuer's path: `authorize` from `/oauth/authorize` (or the 2025-03-26 `/authorize`),
   * `../authorize` from `/oauth/upstream/callback`.
   */
  readonly action: string;
}

/**
 * Runs one step of an authorization exchange and renders its refusals: a {@link PageError} as an HTML page
 * (nothing redirected), a {@link RedirectError} as RFC 6749 §4.1.2.1 error redirect with `state` and
 * `iss` (RFC 9207). Anything else propagates to the router (500, or 503 for an unavailable store).
 *
 * @example
 * export const authorize: Endpoint = (ctx, req, res) => answerAuthorization({ ctx, req, res, cookies: [], action: 'authorize' }, start);
 */
export async function answerAuthorization(x: Exchange, step: (x: Exchange) => Promise<void>): Promise<void> {
  const { ctx, req, res } = x;
  try {
    await step(x);
  } catch (error) {
    if (error instanceof PageError) {
      ctx.logger.info({ status: error.status, reason: error.detail ?? error.title }, 'authorization refused with a page');
      sendPage(res, { status: error.status, page: errorPage({ title: error.title, message: error.userMessage, ...(error.retry ? { retry: error.retry } : {}) }), cookies: x.cookies });
      return;
    }
    if (error instanceof RedirectError) {
      ctx.logger.info({ error: error.code, reason: error.detail ?? error.description }, 'authorization refused with a redirect');
      const location = authorizationResponseUrl(error.redirectUri, { error: error.code, error_description: error.description, state: error.state, iss: ctx.issuer });
      sendRedirect(res, location, req.method ?? 'GET', cookiesForClientRedirect(ctx, location, x.cookies));
      return;
    }
    throw error;
  }
}

/** A signed-in user with a request: the code at once when already consented, else the consent page. */
export async function proceed(x: Exchange, request: AuthorizationRequest, user: UserRecord, session: BrowserSession): Promise<void> {
  const { ctx } = x;
  // Issue 3: the user's own scopes are the limit (a public client's registered scope is not).
  const grantable = grantableScopes(ctx, user.scopes);
  const scopes = request.scopes.filter((scope) => grantable.includes(scope));
  if (scopes.length === 0) {
    throw new RedirectError('access_denied', 'The user may not grant any of the requested scopes', request.redirectUri, request.state, `user ${user.id} holds none of ${request.scopes.join(' ')}`);
  }
  const { client } = request;
  const remembered = (await ctx.stores.consents.get(user.id, client.clientId)) ?? [];
  if (mayRememberConsent(request) && scopes.every((scope) => remembered.includes(scope))) return issueCode(x, request, user, scopes);

  const transaction = sealTransaction(ctx, { step: 'consent', sid: session.sid, params: request.params, userId: user.id, scopes });
  const page = consentPage({
    clientName: client.name,
    ...(client.origin === 'metadata_document' ? { clientId: client.clientId } : {}),
    nameUnverified: client.origin !== 'admin',
    redirectHost: redirectDestination(request.redirectUri),
    loopbackWarning: client.origin === 'metadata_document' && client.redirectUris.every(isLoopbackRedirect),
    scopes,
    username: user.username,
    action: x.action,
    hidden: { transaction, csrf_token: session.csrf },
  });
  sendPage(x.res, { status: 200, page, formAction: formActions(request), cookies: x.cookies });
}

/** Creates the authorization code and sends the browser back to the client with it. */
export async function issueCode(x: Exchange, request: AuthorizationRequest, user: UserRecord, scopes: readonly string[]): Promise<void> {
  const { ctx } = x;
  const code = randomToken();
  await ctx.stores.codes.put({
    hash: hashToken(code),
    clientId: request.client.clientId,
    userId: user.id,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    scopes: [...scopes],
    resource: request.resource,
    expiresAt: ctx.now() + ctx.codeTtl,
  });
  ctx.logger.info({ user: user.id, client: request.client.clientId, scopes }, 'authorization code issued');
  const location = authorizationResponseUrl(request.redirectUri, { code, state: request.state, iss: ctx.issuer });
  sendRedirect(x.res, location, x.req.method ?? 'GET', cookiesForClientRedirect(ctx, location, x.cookies));
}

/**
 * The session's user, unless the session is anonymous, the user is gone, or their password changed since
 * login. Scopes are read from the record at every step, so a narrowed user grants less at once.
 */
export async function signedInUser(ctx: AuthorizationServerContext, session: BrowserSession | undefined): Promise<UserRecord | undefined> {
  if (session?.userId === undefined || session.credential === undefined) return undefined;
  const user = await ctx.stores.users.get(session.userId);
  if (!user || !safeEqual(credentialOf(user), session.credential)) return undefined;
  return user;
}

/** The CSP `form-action` sources a page of this request needs: where its form's answer may redirect. */
export function formActions(request: AuthorizationRequest): string[] {
  const source = formActionSource(request.redirectUri);
  return source === undefined ? [] : [source];
}

/**
 * Whether a remembered consent may skip the page. Not for a client known by its metadata document whose
 * redirect URI here is not https: its `client_id` is a well-known URL and a loopback port or a private-use
 * scheme can be taken by any program on the computer, so nothing proves the caller is that client
 * (RFC 8252 §8.6: such requests are processed "as if no previous request had been approved"), and the
 * MCP-mandated warning must be seen each time.
 */
function mayRememberConsent(request: AuthorizationRequest): boolean {
  return request.client.origin !== 'metadata_document' || request.redirectUri.startsWith('https://');
}

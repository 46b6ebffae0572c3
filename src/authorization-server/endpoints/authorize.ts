import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../../core/errors.js';
import type { UserRecord } from '../../stores/auth-types.js';
import { consentPage } from '../../web/consent.js';
import { errorPage } from '../../web/error.js';
import { loginPage } from '../../web/login.js';
import { isLoopbackRedirect, redirectDestination } from '../authorize/destination.js';
import { checkAuthorizationRequest, PageError, RedirectError, type AuthorizationRequest } from '../authorize/request.js';
import { authorizationResponseUrl, formActionSource, sendPage, sendRedirect } from '../authorize/respond.js';
import { cookiesForClientRedirect, credentialOf, csrfMatches, newSession, readSession, sessionCookie, SESSION_TTL_SECONDS, type BrowserSession } from '../authorize/session.js';
import { loginTransaction, openTransaction, restartQuery, sealTransaction, type Transaction } from '../authorize/transaction.js';
import { grantableScopes } from '../checks/scope.js';
import type { AuthorizationServerContext, Endpoint } from '../context.js';
import { readForm } from '../lib/form.js';
import { hashToken, randomToken, safeEqual } from '../secrets.js';
import { authenticateUser } from '../users.js';

/** Largest form the login and consent pages post (the sealed request carries `state`, which clients size freely). */
const FORM_LIMIT_BYTES = 64 * 1024;
/** Form target relative to the page, so it resolves to `/oauth/authorize`, `/authorize` or `/base/oauth/authorize` alike. */
const ACTION = 'authorize';

/** One request/response exchange and the cookies to set on whatever answers it. */
interface Exchange {
  readonly ctx: AuthorizationServerContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly cookies: string[];
}

/**
 * The authorization endpoint (`GET|POST /oauth/authorize`, and `/authorize` for 2025-03-26 clients):
 * RFC 6749 §4.1 with OAuth 2.1, RFC 7636 (S256 only), RFC 8707, RFC 9207 and RFC 9700.
 *
 * - `GET` carries the authorization request (checked by `authorize/request.ts`: an unknown client or an
 *   unregistered redirect URI gets an error page, everything else an error redirect with `state` and
 *   `iss`). Without a signed-in browser session it shows the login page; with one, the consent page, or
 *   straight the code when the user already approved these scopes for this client.
 * - `POST` is a login or consent form. The form carries the request sealed (`authorize/transaction.ts`),
 *   bound to the browser session and step, plus the session's CSRF token (constant-time check; a wrong or
 *   missing token is a 403 page and nothing is issued). The request is checked again (the client may have
 *   gone); approving grants exactly the scopes the consent page listed, narrowed to what the user may
 *   still grant.
 * - The code: 256 random bits, stored only as its SHA-256 with the client, user, exact redirect URI, PKCE
 *   challenge, scopes and resource, for `ctx.codeTtl` seconds; sent with `state` and `iss`.
 *
 * Every answer is `no-store`, unframeable (`X-Frame-Options: DENY`, `frame-ancestors 'none'`), without
 * referrer, and under a CSP whose `form-action` lists the client's redirect origin, because Chromium
 * checks `form-action` against the redirect that answers a form.
 *
 * @example
 * // router.ts
 * map.set('/oauth/authorize', { endpoint: authorize, cors: false });
 */
export const authorize: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'GET' && req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'Use GET or POST', { allow: 'GET, POST' });
  const x: Exchange = { ctx, req, res, cookies: [] };
  try {
    if (req.method === 'GET') await start(x);
    else await submit(x);
  } catch (error) {
    if (error instanceof PageError) {
      ctx.logger.info({ status: error.status, reason: error.detail ?? error.title }, 'authorization refused with a page');
      sendPage(res, { status: error.status, page: errorPage({ title: error.title, message: error.userMessage, ...(error.retry ? { retry: error.retry } : {}) }), cookies: x.cookies });
      return;
    }
    if (error instanceof RedirectError) {
      ctx.logger.info({ error: error.code, reason: error.detail ?? error.description }, 'authorization refused with a redirect');
      const location = authorizationResponseUrl(error.redirectUri, { error: error.code, error_description: error.description, state: error.state, iss: ctx.issuer });
      sendRedirect(res, location, req.method, cookiesForClientRedirect(ctx, location, x.cookies));
      return;
    }
    throw error;
  }
};

/** GET: a new authorization request. */
async function start(x: Exchange): Promise<void> {
  const request = await checkAuthorizationRequest(x.ctx, new URL(x.req.url ?? '/', 'http://localhost').searchParams);
  const session = readSession(x.ctx, x.req);
  const user = await signedInUser(x.ctx, session);
  if (!user || !session) return showLogin(x, request, anonymousSession(x.ctx, session));
  return proceed(x, request, user, session);
}

/** POST: a login or consent form. */
async function submit(x: Exchange): Promise<void> {
  const { ctx } = x;
  const form = await readForm(x.req, FORM_LIMIT_BYTES);
  const field = (name: string): string | undefined => {
    const values = form.getAll(name);
    if (values.length > 1) throw new PageError(400, 'Invalid form', 'The form was sent with repeated fields.', `${name} repeated`);
    return values[0];
  };
  const transactionValue = field('transaction');
  const transaction = openTransaction(ctx, transactionValue);
  if (!transaction || transactionValue === undefined) {
    throw new PageError(400, 'This form has expired', 'The sign-in form has expired or was changed.', transactionValue === undefined ? 'no transaction' : 'transaction does not open');
  }
  const session = readSession(ctx, x.req);
  if (!session || !csrfMatches(session, field('csrf_token')) || session.sid !== transaction.sid) {
    throw new PageError(
      403,
      'This form could not be verified',
      'The form was not sent from this sign-in page in this browser, or it was open too long. Nothing was authorized.',
      !session ? 'CSRF: no session' : session.sid !== transaction.sid ? 'CSRF: transaction of another session' : 'CSRF: token missing or wrong',
      `${ACTION}?${restartQuery(transaction.params)}`,
    );
  }
  const request = await checkAuthorizationRequest(ctx, new URLSearchParams(transaction.params));
  const decision = field('decision');
  if (transaction.step === 'login') return loginStep(x, request, session, transactionValue, decision, field('username'), field('password'));
  return consentStep(x, request, session, transaction, decision);
}

async function loginStep(
  x: Exchange,
  request: AuthorizationRequest,
  session: BrowserSession,
  transactionValue: string,
  decision: string | undefined,
  username: string | undefined,
  password: string | undefined,
): Promise<void> {
  const { ctx } = x;
  if (decision === 'deny') throw new RedirectError('access_denied', 'The user cancelled the sign-in', request.redirectUri, request.state);
  if (decision !== undefined) throw new PageError(400, 'Invalid form', 'The sign-in form was sent with an unexpected button.', `login decision ${JSON.stringify(decision.slice(0, 20))}`);
  if (!username || !password) return showLogin(x, request, session, { error: 'Enter your username and password.', username, transactionValue });

  const result = await authenticateUser(ctx.stores, username, password, { address: x.req.socket.remoteAddress ?? 'unknown', now: ctx.now(), logger: ctx.logger });
  if (!result.ok) {
    if (result.reason === 'throttled') {
      const minutes = Math.max(1, Math.ceil(result.retryAfter / 60));
      const error = `Too many sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      return showLogin(x, request, session, { status: 429, error, username, transactionValue, headers: { 'retry-after': String(result.retryAfter) } });
    }
    // One message for an unknown user and a wrong password (users.ts spends the same time on both).
    return showLogin(x, request, session, { error: 'Invalid username or password.', username, transactionValue });
  }
  // A new session for the signed-in user: new id, new CSRF token (no session fixation).
  const signedIn = newSession(ctx, result.user);
  x.cookies.push(sessionCookie(ctx, signedIn));
  ctx.logger.info({ user: result.user.id, client: request.client.clientId }, 'signed in at the authorization endpoint');
  return proceed(x, request, result.user, signedIn);
}

async function consentStep(x: Exchange, request: AuthorizationRequest, session: BrowserSession, transaction: Transaction & { step: 'consent' }, decision: string | undefined): Promise<void> {
  const { ctx } = x;
  const user = await signedInUser(ctx, session);
  if (!user || user.id !== transaction.userId) {
    throw new PageError(403, 'Signed out', 'You are no longer signed in as the person who saw this page. Nothing was authorized.', 'consent: session user differs', `${ACTION}?${restartQuery(transaction.params)}`);
  }
  if (decision === 'deny') {
    ctx.logger.info({ user: user.id, client: request.client.clientId }, 'consent denied');
    throw new RedirectError('access_denied', 'The user denied the request', request.redirectUri, request.state);
  }
  if (decision !== 'approve') throw new PageError(400, 'Invalid form', 'Choose Allow or Deny.', `consent decision ${JSON.stringify((decision ?? '(none)').slice(0, 20))}`);

  // Exactly what the page listed, and only what the user may still grant and the request still asks for.
  const grantable = grantableScopes(ctx, user.scopes);
  const scopes = transaction.scopes.filter((scope) => grantable.includes(scope) && request.scopes.includes(scope));
  if (scopes.length === 0) throw new RedirectError('access_denied', 'The user may not grant any of the requested scopes', request.redirectUri, request.state);
  const remembered = (await ctx.stores.consents.get(user.id, request.client.clientId)) ?? [];
  await ctx.stores.consents.put(user.id, request.client.clientId, [...new Set([...remembered, ...scopes])]);
  return issueCode(x, request, user, scopes);
}

/** A signed-in user with a request: the code at once when already consented, else the consent page. */
async function proceed(x: Exchange, request: AuthorizationRequest, user: UserRecord, session: BrowserSession): Promise<void> {
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
    action: ACTION,
    hidden: { transaction, csrf_token: session.csrf },
  });
  sendPage(x.res, { status: 200, page, formAction: formActions(request), cookies: x.cookies });
}

/** Creates the authorization code and sends the browser back to the client with it. */
async function issueCode(x: Exchange, request: AuthorizationRequest, user: UserRecord, scopes: readonly string[]): Promise<void> {
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

interface LoginOptions {
  status?: number;
  error?: string;
  username?: string | undefined;
  /** The sealed transaction to post again (after a failed attempt); a new one otherwise. */
  transactionValue?: string;
  headers?: Record<string, string>;
}

function showLogin(x: Exchange, request: AuthorizationRequest, session: BrowserSession, options: LoginOptions = {}): void {
  const { ctx } = x;
  x.cookies.push(sessionCookie(ctx, session));
  const transaction = options.transactionValue ?? sealTransaction(ctx, loginTransaction(request, session));
  const page = loginPage({
    clientName: request.client.name,
    action: ACTION,
    hidden: { transaction, csrf_token: session.csrf },
    ...(options.username ? { username: options.username } : {}),
    ...(options.error ? { error: options.error } : {}),
  });
  sendPage(x.res, { status: options.status ?? 200, page, formAction: formActions(request), cookies: x.cookies, ...(options.headers ? { headers: options.headers } : {}) });
}

/**
 * The session for a login page: the browser's anonymous one, kept (so a second tab's login form stays
 * valid) with its lifetime renewed, or a new one. A session that was signed in is never reused anonymously.
 */
function anonymousSession(ctx: AuthorizationServerContext, session: BrowserSession | undefined): BrowserSession {
  if (session && session.userId === undefined) return { sid: session.sid, csrf: session.csrf, expiresAt: ctx.now() + SESSION_TTL_SECONDS };
  return newSession(ctx);
}

/**
 * The session's user, unless the session is anonymous, the user is gone, or their password changed since
 * login. Scopes are read from the record at every step, so a narrowed user grants less at once.
 */
async function signedInUser(ctx: AuthorizationServerContext, session: BrowserSession | undefined): Promise<UserRecord | undefined> {
  if (session?.userId === undefined || session.credential === undefined) return undefined;
  const user = await ctx.stores.users.get(session.userId);
  if (!user || !safeEqual(credentialOf(user), session.credential)) return undefined;
  return user;
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

/** The CSP `form-action` sources a page of this request needs: where its form's answer may redirect. */
function formActions(request: AuthorizationRequest): string[] {
  const source = formActionSource(request.redirectUri);
  return source === undefined ? [] : [source];
}

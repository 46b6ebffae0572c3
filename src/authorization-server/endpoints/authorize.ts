import { HttpError } from '../../core/errors.js';
import { loginPage } from '../../web/login.js';
import { answerAuthorization, formActions, issueCode, proceed, signedInUser, type Exchange } from '../authorize/flow.js';
import { checkAuthorizationRequest, PageError, RedirectError, type AuthorizationRequest } from '../authorize/request.js';
import { sendPage } from '../authorize/respond.js';
import { csrfMatches, newSession, readSession, sessionCookie, SESSION_TTL_SECONDS, type BrowserSession } from '../authorize/session.js';
import { loginTransaction, openTransaction, restartQuery, sealTransaction, type Transaction } from '../authorize/transaction.js';
import { startUpstreamLogin } from '../authorize/upstream-start.js';
import { grantableScopes } from '../checks/scope.js';
import type { AuthorizationServerContext, Endpoint } from '../context.js';
import { readForm } from '../lib/form.js';
import { authenticateUser } from '../users.js';

/** Largest form the login and consent pages post (the sealed request carries `state`, which clients size freely). */
const FORM_LIMIT_BYTES = 64 * 1024;
/** Form target relative to the page, so it resolves to `/oauth/authorize`, `/authorize` or `/base/oauth/authorize` alike. */
const ACTION = 'authorize';

/**
 * The authorization endpoint (`GET|POST /oauth/authorize`, and `/authorize` for 2025-03-26 clients):
 * RFC 6749 §4.1 with OAuth 2.1, RFC 7636 (S256 only), RFC 8707, RFC 9207 and RFC 9700.
 *
 * - `GET` carries the authorization request (checked by `authorize/request.ts`: an unknown client or an
 *   unregistered redirect URI gets an error page, everything else an error redirect with `state` and
 *   `iss`). Without a signed-in browser session it shows the login page; with one, the consent page, or
 *   straight the code when the user already approved these scopes for this client. With federated login
 *   configured it sends the browser to the upstream instead (`authorize/upstream-start.ts`), whose
 *   callback (`endpoints/upstream-callback.ts`) goes on to the same consent page; a password form is then
 *   refused.
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
  await answerAuthorization({ ctx, req, res, cookies: [], action: ACTION }, req.method === 'GET' ? start : submit);
};

/** GET: a new authorization request. */
async function start(x: Exchange): Promise<void> {
  const request = await checkAuthorizationRequest(x.ctx, new URL(x.req.url ?? '/', 'http://localhost').searchParams);
  // Federated login: every authorization goes to the upstream, so that each (user, client) has its own
  // fresh upstream grant behind the tokens we issue; the upstream's own session spares the user a new login.
  if (x.ctx.federation) return startUpstreamLogin(x, request, x.ctx.federation);
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
  if (transaction.step === 'login' && ctx.federation) throw new PageError(400, 'Sign in elsewhere', 'This server signs people in at their identity provider, not with a password here.', 'password login posted with federated login on');
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

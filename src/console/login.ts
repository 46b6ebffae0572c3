/**
 * Logging in to the console: the authorization code flow (OAuth 2.1 §4.1, PKCE S256, `state`, RFC 9207
 * `iss`) with the embedded authorization server, the console being its own public client (`client.ts`).
 *
 * - `GET /oauth/login` sends the browser to the AS's authorization endpoint, asking for every scope of the
 *   resource (the AS narrows them to the user's own). The `state` and the PKCE verifier travel in a sealed
 *   cookie (AES-256-GCM under a key derived from the server secret, 10 minutes): nothing is kept server-side
 *   for a visitor who has not logged in.
 * - `GET /oauth/callback` checks the cookie's `state` against the response's (so a code sent to this browser
 *   by someone else is refused: login CSRF), the `iss`, redeems the code with the verifier, and opens a
 *   server-side session (`sessions.ts`) whose id is the only thing the session cookie holds.
 */
import type { IncomingMessage } from 'node:http';
import { s256 } from '../authorization-server/checks/pkce.js';
import { AS_PATHS } from '../authorization-server/metadata.js';
import { randomToken, safeEqual } from '../authorization-server/secrets.js';
import { OAuthError } from '../core/errors.js';
import { exchangeCode } from './client.js';
import { ConsoleError, type ConsoleContext, type Handler } from './context.js';
import { endSession, signedIn } from './current.js';
import { cookieValues } from '../core/http.js';
import { clearCookie, cookieName, setCookie } from './lib/cookies.js';
import { sendRedirect } from './lib/respond.js';

/** How long a login may take, from `/oauth/login` to `/oauth/callback`. */
const LOGIN_TTL_SECONDS = 10 * 60;
/** What the sealed login cookie is (bound into the sealed value, so no other sealed value passes for it). */
const LOGIN_KIND = 'console-login';

/** `GET /oauth/login`. */
export const login: Handler = async (ctx, req, res) => {
  if ((await signedIn(ctx, req)) !== undefined) return sendRedirect(res, `${ctx.base}/`, req.method);
  const state = randomToken();
  const verifier = randomToken(32);
  const url = new URL(`${ctx.as.issuer}${AS_PATHS.authorize}`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: ctx.client.clientId,
    redirect_uri: ctx.redirectUri,
    scope: ctx.as.scopes.join(' '),
    state,
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
    resource: ctx.resource,
  }).toString();
  const sealed = ctx.sealer.seal('transaction', { kind: LOGIN_KIND, state, verifier }, ctx.as.now() + LOGIN_TTL_SECONDS);
  sendRedirect(res, url.href, req.method, { cookies: [setCookie('login', ctx.as.secureCookies, sealed, LOGIN_TTL_SECONDS)] });
};

/** `GET /oauth/callback?code&state&iss` (or `?error&state&iss`). */
export const callback: Handler = async (ctx, req, res) => {
  const cleared = clearCookie('login', ctx.as.secureCookies);
  const fail = (status: number, title: string, message: string, detail: string) => new ConsoleError(status, title, message, { login: true, detail, cookies: [cleared] });
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  const one = (name: string): string | undefined => {
    const values = query.getAll(name);
    return values.length === 1 && values[0] !== '' ? values[0] : undefined;
  };

  const pending = openLogin(ctx, req);
  if (pending === undefined) throw fail(400, 'This sign-in has expired', 'The sign-in took too long, or was started in another browser. Start again.', 'no login cookie that opens');
  const state = one('state');
  if (state === undefined || !safeEqual(state, pending.state)) throw fail(400, 'This sign-in cannot be completed', 'The answer does not belong to the sign-in this browser started. Start again.', 'state mismatch');
  // RFC 9207: the answer must come from our authorization server.
  if (one('iss') !== ctx.as.issuer) throw fail(400, 'This sign-in cannot be completed', 'The answer did not come from this server. Start again.', 'iss missing or wrong');
  const error = one('error');
  if (error !== undefined) {
    const denied = error === 'access_denied';
    throw fail(denied ? 403 : 400, 'Not signed in', denied ? 'The sign-in was cancelled, or your account holds none of the scopes this gateway knows.' : 'The sign-in was refused.', `authorization error ${error.slice(0, 40)}`);
  }
  const code = one('code');
  if (code === undefined) throw fail(400, 'This sign-in cannot be completed', 'The answer carried no authorization code. Start again.', 'no code');

  let tokens;
  try {
    tokens = await exchangeCode(ctx, code, pending.verifier);
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    throw fail(400, 'This sign-in cannot be completed', 'The authorization code was refused. Start again.', `${err.code}: ${err.detail ?? err.description}`);
  }
  const user = await ctx.as.stores.users.get(tokens.subject);
  if (user === undefined) throw fail(400, 'This sign-in cannot be completed', 'Your account no longer exists.', 'no user for the token subject');

  // A new session at every login (no session fixation); an older one in this browser ends.
  const previous = await signedIn(ctx, req);
  if (previous !== undefined) await endSession(ctx, previous.session, 'replaced by a new login', { revokeGrant: true });
  const { cookie } = ctx.sessions.create({
    userId: user.id,
    grantId: tokens.grant?.id,
    scopes: tokens.scopes,
    accessToken: tokens.accessToken,
    accessExpiresAt: tokens.accessExpiresAt,
    refreshToken: tokens.refreshToken,
    // Without a refresh-token family the session cannot outlive its access token.
    notAfter: tokens.grant?.expiresAt ?? tokens.accessExpiresAt,
  });
  ctx.logger.info({ user: user.id, scopes: tokens.scopes }, 'web console login');
  sendRedirect(res, `${ctx.base}/`, req.method, { cookies: [cookie, cleared] });
};

/** The `state` and verifier the browser's sealed login cookie carries; undefined when none opens. */
function openLogin(ctx: ConsoleContext, req: IncomingMessage): { state: string; verifier: string } | undefined {
  for (const value of cookieValues(req.headers.cookie, cookieName('login', ctx.as.secureCookies))) {
    const data = ctx.sealer.open('transaction', value, ctx.as.now());
    if (data?.['kind'] === LOGIN_KIND && typeof data['state'] === 'string' && typeof data['verifier'] === 'string') return { state: data['state'], verifier: data['verifier'] };
  }
  return undefined;
}

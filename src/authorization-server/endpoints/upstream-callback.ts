import { HttpError } from '../../core/errors.js';
import { answerAuthorization, proceed, type Exchange } from '../authorize/flow.js';
import { checkAuthorizationRequest, PageError, RedirectError } from '../authorize/request.js';
import { newSession, sessionCookie } from '../authorize/session.js';
import { restartQuery } from '../authorize/transaction.js';
import type { Endpoint } from '../context.js';
import { upstreamUser } from '../upstream/identity.js';
import { UpstreamFailure } from '../upstream/idp.js';
import { clearAllPendingCookies, clearPendingCookie, readPending } from '../upstream/pending.js';
import { upstreamAccessExpiry } from '../upstream/refresh.js';

/** Forms of the consent page rendered here post to the authorization endpoint, one level up. */
const ACTION = '../authorize';

/**
 * `GET /oauth/upstream/callback`: federated login, second half. The upstream sends the browser back here
 * with its authorization response; the MCP client's request that waited (`upstream/pending.ts`) goes on.
 *
 * 1. The pending login is the one whose `state` the response carries, in this browser's cookie — none
 *    (expired, never started here, a forged or replayed response) is a 400 page that also deletes every
 *    pending login of this browser. Otherwise that one cookie is deleted, whatever happens next: a pending
 *    authorization is used once.
 * 2. The MCP client's request is checked again (the client may have gone): its errors as at `/authorize`.
 * 3. The response is validated and the code redeemed (`upstream/idp.ts`: `state`, RFC 9207 `iss`, PKCE,
 *    `nonce`, the ID token). `error=access_denied` from the upstream (after `state` and `iss` check out) goes
 *    back to the client as `access_denied` with its `state` and our `iss` (RFC 6749 §4.1.2.1). Every other
 *    failure is an HTML page, never a redirect: an upstream that cannot be reached or answers nonsense 502,
 *    one that refuses our client 502, a response that fails a check (state, iss, nonce, PKCE) 400.
 * 4. The local user of (upstream issuer, `sub`) is found or created (`upstream/identity.ts`); a local user
 *    holding that username is a 409 page.
 * 5. The upstream refresh token is kept, encrypted (`upstream/vault.ts`), as the upstream grant of (user,
 *    client), replacing the previous one; the browser gets a new signed-in session (new id and CSRF token).
 * 6. On to the consent page of this MCP client — asked per client, remembered per user and client, so the
 *    upstream login alone never authorizes a client the user did not approve here — then our code.
 *
 * Tokens, codes and secrets of the upstream are never logged, and never stored in clear.
 */
export const upstreamCallback: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'GET') throw new HttpError(405, 'method_not_allowed', 'Use GET', { allow: 'GET' });
  await answerAuthorization({ ctx, req, res, cookies: [], action: ACTION }, finish);
};

async function finish(x: Exchange): Promise<void> {
  const { ctx } = x;
  const federation = ctx.federation!;
  const callback = new URL(x.req.url ?? '/', 'http://localhost').searchParams;
  const state = callback.get('state');
  const pending = state ? readPending(ctx, x.req, state) : undefined;
  if (!state || !pending) {
    x.cookies.push(...clearAllPendingCookies(ctx, x.req));
    throw new PageError(400, 'This sign-in has expired', 'The sign-in was not started in this browser, or took too long. Nothing was authorized.', state ? 'no pending login for this state' : 'callback without state');
  }
  x.cookies.push(clearPendingCookie(ctx, state));
  const request = await checkAuthorizationRequest(ctx, new URLSearchParams(pending.params));
  const retry = `${ACTION}?${restartQuery(pending.params)}`;

  let login;
  try {
    login = await federation.idp.complete(callback, pending);
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    if (error.kind === 'refused' && error.error === 'access_denied') {
      throw new RedirectError('access_denied', 'The user denied the request at the identity provider', request.redirectUri, request.state, error.message);
    }
    if (error.kind === 'invalid' || (error.kind === 'refused' && error.error === 'invalid_grant')) {
      throw new PageError(400, 'Sign-in could not be verified', 'The answer of the identity provider could not be verified, so nothing was authorized.', error.message, retry);
    }
    const unreachable = error.kind === 'unavailable';
    throw new PageError(
      502,
      unreachable ? 'Identity provider unavailable' : 'Sign-in refused',
      unreachable ? 'The identity provider could not be reached. Nothing was authorized; try again later.' : 'The identity provider refused this sign-in. Nothing was authorized.',
      error.message,
      retry,
    );
  }

  const identity = await upstreamUser(ctx.stores, { issuer: federation.idp.issuer, subject: login.subject, scopes: federation.userScopes });
  if (!identity.ok) {
    throw new PageError(409, 'Account conflict', 'Your account at the identity provider matches a local account here, so you cannot sign in with it. Ask the administrator.', `username ${identity.username} is held by a local user`);
  }
  const { user } = identity;
  const now = ctx.now();
  const owner = { userId: user.id, clientId: request.client.clientId };
  await ctx.stores.upstreamGrants.put({
    ...owner,
    issuer: federation.idp.issuer,
    subject: login.subject,
    sealedTokens: federation.vault.seal(owner, login.refreshToken === undefined ? {} : { refreshToken: login.refreshToken }),
    accessExpiresAt: upstreamAccessExpiry(ctx, now, login.expiresIn),
    createdAt: now,
    expiresAt: now + ctx.refreshTokenTtl,
  });
  ctx.logger.info({ user: user.id, created: identity.created, client: request.client.clientId, upstream: federation.idp.issuer, refreshToken: login.refreshToken !== undefined }, 'signed in at the upstream');

  // A new session for the signed-in user: new id, new CSRF token (no session fixation).
  const session = newSession(ctx, user);
  x.cookies.push(sessionCookie(ctx, session));
  return proceed(x, request, user, session);
}

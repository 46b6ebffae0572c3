import type { Federation } from '../upstream/federation.js';
import { pendingCookie, type PendingLogin } from '../upstream/pending.js';
import type { Exchange } from './flow.js';
import { PageError, type AuthorizationRequest } from './request.js';
import { sendRedirect } from './respond.js';

/**
 * Browsers keep about 4 KiB per cookie. The pending login carries the client's request, whose `state` the
 * client sizes freely; past this, the sign-in could not come back, so it is refused up front.
 */
const MAX_COOKIE_BYTES = 3800;

/**
 * Federated login, first half: a checked authorization request of an MCP client waits, sealed in a cookie
 * (`upstream/pending.ts`), while the browser goes to the upstream with a request of our own — code flow,
 * our pre-registered client id, our callback as redirect URI, PKCE S256, a fresh `state` and `nonce`.
 * Nothing of the MCP client's request reaches the upstream (its `state` and PKCE challenge are its own
 * business with us). `endpoints/upstream-callback.ts` is the second half.
 *
 * @example
 * if (ctx.federation) return startUpstreamLogin(x, request, ctx.federation);
 */
export async function startUpstreamLogin(x: Exchange, request: AuthorizationRequest, federation: Federation): Promise<void> {
  const { url, pending } = await federation.idp.begin();
  const waiting: PendingLogin = { ...pending, params: request.params };
  const cookie = pendingCookie(x.ctx, waiting);
  if (cookie.length > MAX_COOKIE_BYTES) {
    throw new PageError(400, 'Sign-in request too large', 'The application sent a sign-in request too large to carry through the identity provider.', `pending login cookie of ${cookie.length} bytes`);
  }
  x.cookies.push(cookie);
  x.ctx.logger.info({ client: request.client.clientId, upstream: federation.idp.issuer }, 'sent to the upstream to sign in');
  sendRedirect(x.res, url.href, x.req.method ?? 'GET', x.cookies);
}

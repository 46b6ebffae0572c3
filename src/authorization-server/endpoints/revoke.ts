import type { AuthInfo } from '../../core/auth.js';
import { HttpError, OAuthError } from '../../core/errors.js';
import { authenticateClient } from '../checks/client-auth.js';
import type { AuthorizationServerContext, Endpoint } from '../context.js';
import { readForm, required, single } from '../lib/form.js';
import { embeddedVerifier, looksLikeJwt } from '../lib/verifier.js';
import { NO_STORE } from '../respond.js';
import { hashToken } from '../secrets.js';

/**
 * `POST /oauth/revoke` (RFC 7009).
 *
 * - The client authenticates as at the token endpoint (§2.1); a public client identifies itself with
 *   `client_id`, which is all it can do (§5).
 * - A refresh token revokes its grant: the whole family, current and rotated tokens alike (§2.1: "SHOULD
 *   also invalidate all access tokens based on the same authorization grant" — the access tokens already
 *   issued are JWTs, which nothing can recall; they end at their `exp`, at most `accessTokenTtl` later).
 * - An access token of ours cannot be revoked (stateless JWT, and it does not name its grant), so it gets
 *   the error §2.2.1 defines for exactly that case: `unsupported_token_type` (400). The client can revoke
 *   the refresh token instead.
 * - A token that is unknown, expired, malformed, or another client's is answered 200 and changes nothing
 *   (§2.2: invalid tokens do not cause an error). Treating another client's token as unknown tells its
 *   holder nothing and lets no client end another's session.
 * - `token_type_hint` only orders the look-ups; an unknown hint is ignored (§2.1).
 */
export const revoke: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'Use POST', { allow: 'POST' });
  const form = await readForm(req);
  const token = required(form, 'token');
  const hint = single(form, 'token_type_hint');
  const { client } = await authenticateClient(ctx, req, form);

  const lookups = hint === 'access_token' ? [accessToken, refreshToken] : [refreshToken, accessToken];
  for (const lookup of lookups) {
    if (await lookup(ctx, token, client.clientId)) break;
  }
  res.writeHead(200, { ...NO_STORE, 'content-length': 0 });
  res.end();
};

/** Revokes the grant of a refresh token of this client; true when the token was a refresh token of ours. */
async function refreshToken(ctx: AuthorizationServerContext, token: string, clientId: string): Promise<boolean> {
  const grant = await ctx.stores.grants.findByRefreshHash(hashToken(token));
  if (!grant) return false;
  if (grant.clientId === clientId) {
    await ctx.stores.grants.revoke(grant.id);
    ctx.logger.info({ client: clientId, grant: grant.id }, 'grant revoked by its client');
  }
  return true;
}

/** An access token of ours: refuse with unsupported_token_type when it is this client's; true when it was ours. */
async function accessToken(ctx: AuthorizationServerContext, token: string, clientId: string): Promise<boolean> {
  if (!looksLikeJwt(token)) return false;
  let auth: AuthInfo;
  try {
    auth = await embeddedVerifier(ctx).verify(token);
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_token') return false;
    throw err;
  }
  if (auth.clientId === clientId) {
    throw new OAuthError('unsupported_token_type', 400, 'Access tokens cannot be revoked; they expire on their own. Revoke the refresh token instead');
  }
  return true;
}

import type { AuthInfo } from '../../core/auth.js';
import { HttpError, OAuthError } from '../../core/errors.js';
import { authenticateClient } from '../checks/client-auth.js';
import { formatScope } from '../checks/scope.js';
import type { AuthorizationServerContext, Endpoint } from '../context.js';
import { readForm, required, single } from '../lib/form.js';
import { embeddedVerifier, looksLikeJwt } from '../lib/verifier.js';
import { sendNoStore } from '../respond.js';
import { hashToken } from '../secrets.js';

const INACTIVE = Object.freeze({ active: false });

/**
 * `POST /oauth/introspect` (RFC 7662).
 *
 * - Only authenticated confidential clients (§2.1 requires authorization of the caller, §4 warns against
 *   a token-scanning oracle): a public client or a failed authentication is `invalid_client` (401).
 * - Our access tokens are checked as the resource server checks them (`createEmbeddedVerifier`: signature,
 *   `typ`, `iss`, `aud`, `exp`) and answered with their claims (§2.2: `active`, `scope`, `client_id`,
 *   `username`, `token_type`, `exp`, `iat`, `sub`, `aud`, `iss`, `jti`), to clients an admin created
 *   (`portcullis clients add`: resource servers); a dynamically registered client learns `active: false`,
 *   since anyone can register one and the answer names the user.
 * - A refresh token is active while it is the current token of a live grant, and only for the client it
 *   was issued to (anyone else learns `active: false`).
 * - Everything else — unknown, expired, revoked, rotated, malformed — is `{"active": false}` and nothing
 *   more (§2.2: no hint why).
 */
export const introspect: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'Use POST', { allow: 'POST' });
  const form = await readForm(req);
  const token = required(form, 'token');
  const hint = single(form, 'token_type_hint');
  const { client } = await authenticateClient(ctx, req, form, { confidentialOnly: true });

  // Access tokens only for clients an admin made (resource servers): anyone may register a confidential
  // client, and introspection would tell them about other people's tokens (the user's username).
  const mayReadAccessTokens = client.origin === 'admin';
  const ordered = hint === 'refresh_token' ? [refreshToken, accessToken] : [accessToken, refreshToken];
  const lookups = mayReadAccessTokens ? ordered : [refreshToken];
  for (const lookup of lookups) {
    const answer = await lookup(ctx, token, client.clientId);
    if (answer) return sendNoStore(res, 200, answer);
  }
  sendNoStore(res, 200, INACTIVE);
};

async function accessToken(ctx: AuthorizationServerContext, token: string): Promise<Record<string, unknown> | undefined> {
  if (!looksLikeJwt(token)) return undefined;
  let auth: AuthInfo;
  try {
    auth = await embeddedVerifier(ctx).verify(token);
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_token') return undefined;
    throw err;
  }
  const user = auth.subject === auth.clientId ? undefined : await ctx.stores.users.get(auth.subject);
  const { iat, jti } = auth.claims;
  return {
    active: true,
    ...(auth.scopes.length > 0 ? { scope: formatScope(auth.scopes) } : {}),
    client_id: auth.clientId,
    ...(user ? { username: user.username } : {}),
    token_type: 'Bearer',
    exp: auth.expiresAt,
    ...(typeof iat === 'number' ? { iat } : {}),
    sub: auth.subject,
    aud: auth.audience.length === 1 ? auth.audience[0] : auth.audience,
    iss: auth.issuer,
    ...(typeof jti === 'string' ? { jti } : {}),
  };
}

async function refreshToken(ctx: AuthorizationServerContext, token: string, clientId: string): Promise<Record<string, unknown> | undefined> {
  const hash = hashToken(token);
  const now = ctx.now();
  if (!(await ctx.stores.grants.isCurrent(hash, now))) return undefined;
  const grant = await ctx.stores.grants.findByRefreshHash(hash);
  if (!grant || grant.revoked || grant.expiresAt <= now || grant.clientId !== clientId) return undefined;
  const user = await ctx.stores.users.get(grant.userId);
  return {
    active: true,
    ...(grant.scopes.length > 0 ? { scope: formatScope(grant.scopes) } : {}),
    client_id: grant.clientId,
    ...(user ? { username: user.username } : {}),
    exp: grant.expiresAt,
    iat: grant.createdAt,
    sub: grant.userId,
    aud: grant.resource,
    iss: ctx.issuer,
  };
}

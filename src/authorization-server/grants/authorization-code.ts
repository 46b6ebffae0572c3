import { randomUUID } from 'node:crypto';
import { OAuthError } from '../../core/errors.js';
import { isVerifier, verifyPkce } from '../checks/pkce.js';
import { checkResource } from '../checks/resource.js';
import { required, single } from '../lib/form.js';
import { hashToken, randomToken } from '../secrets.js';
import { issueAccessToken } from '../tokens.js';
import { tokenResponse, type GrantHandler } from './grant.js';

/**
 * `grant_type=authorization_code` (RFC 6749 §4.1.3, OAuth 2.1 §4.1.3, RFC 7636 §4.5–4.6, RFC 8707 §2.2).
 *
 * Parameters are checked for shape first (nothing spent on a malformed request). Then the code is consumed
 * atomically, exactly once whatever the concurrency, and only then compared with the request: a code is
 * bound to its client, its `redirect_uri` (exact string), its PKCE challenge (S256, required) and its
 * resource. Any mismatch is `invalid_grant` and the code is gone: a stolen code cannot be tried twice.
 *
 * A code presented again (RFC 6749 §4.1.2: "MUST deny the request and SHOULD revoke … all tokens
 * previously issued based on that authorization code"; RFC 9700 §4.5) is refused and the grant its first
 * use created is revoked, ending that refresh-token family. Access tokens already issued are JWTs and
 * live until they expire (`accessTokenTtl`). The replay can only be linked once the first use has
 * created its grant: a replay inside those few milliseconds is refused without revoking.
 *
 * A refresh token, and with it a grant, is issued only to clients registered with the `refresh_token`
 * grant type (RFC 7591 §2: `grant_types` is what the client will use).
 */
export const authorizationCodeGrant: GrantHandler = async ({ ctx, form, client }) => {
  const code = required(form, 'code');
  const redirectUri = required(form, 'redirect_uri');
  const verifier = single(form, 'code_verifier');
  if (verifier === undefined) throw new OAuthError('invalid_request', 400, 'The code_verifier parameter is required');
  if (!isVerifier(verifier)) throw new OAuthError('invalid_request', 400, 'The code_verifier parameter is malformed (RFC 7636 §4.1)');
  const resource = checkResource(ctx, form.getAll('resource'));

  const hash = hashToken(code);
  const now = ctx.now();
  const consumed = await ctx.stores.codes.consume(hash, now);
  if (!consumed) throw new OAuthError('invalid_grant', 400, 'The authorization code is invalid or expired');
  if (!consumed.firstUse) {
    if (consumed.grantId !== undefined) await ctx.stores.grants.revoke(consumed.grantId);
    ctx.logger.warn({ client: client.clientId, grant: consumed.grantId }, 'authorization code replayed: its grant is revoked');
    throw new OAuthError('invalid_grant', 400, 'The authorization code was already used', { detail: `replay; revoked grant ${consumed.grantId ?? '(none yet)'}` });
  }

  const record = consumed.code;
  if (record.clientId !== client.clientId) throw new OAuthError('invalid_grant', 400, 'The authorization code was issued to another client');
  if (record.redirectUri !== redirectUri) throw new OAuthError('invalid_grant', 400, 'The redirect_uri does not match the authorization request');
  verifyPkce(verifier, record.codeChallenge);
  if (record.resource !== resource) throw new OAuthError('invalid_target', 400, 'The resource does not match the authorization request');
  const user = await ctx.stores.users.get(record.userId);
  if (!user) throw new OAuthError('invalid_grant', 400, 'The user of this authorization code no longer exists');

  let refreshToken: string | undefined;
  if (client.grantTypes.includes('refresh_token')) {
    refreshToken = randomToken();
    const grant = await ctx.stores.grants.create(
      { id: randomUUID(), clientId: client.clientId, userId: record.userId, scopes: record.scopes, resource: record.resource, createdAt: now, expiresAt: now + ctx.refreshTokenTtl },
      hashToken(refreshToken),
    );
    await ctx.stores.codes.linkGrant(hash, grant.id);
  }
  const access = await issueAccessToken(ctx, { subject: record.userId, clientId: client.clientId, scopes: record.scopes, resource: record.resource });
  return tokenResponse(access, record.scopes, refreshToken);
};

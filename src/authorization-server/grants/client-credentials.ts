import { OAuthError } from '../../core/errors.js';
import { checkResource } from '../checks/resource.js';
import { narrowScopes, parseScope } from '../checks/scope.js';
import { single } from '../lib/form.js';
import { issueAccessToken } from '../tokens.js';
import { tokenResponse, type GrantHandler } from './grant.js';

/**
 * `grant_type=client_credentials` (RFC 6749 §4.4): a machine client acting for itself.
 *
 * - Confidential clients only (§4.4: "MUST only be used by confidential clients"): a public client is
 *   `unauthorized_client` even before its grant types are looked at.
 * - The client was made by an admin with this grant type (`portcullis clients add`); anonymous registration
 *   never creates one.
 * - `scope` may only narrow the client's registered scope (which is itself capped to the scopes this server
 *   defines); absent, the token gets all of it.
 * - No refresh token (§4.4.3: "SHOULD NOT be included"); `sub` is the client id (RFC 9068 §2.2).
 */
export const clientCredentialsGrant: GrantHandler = async ({ ctx, form, client, method }) => {
  if (method === 'none') throw new OAuthError('unauthorized_client', 400, 'Only confidential clients may use client_credentials');
  const requested = parseScope(single(form, 'scope'));
  const resource = checkResource(ctx, form.getAll('resource'));
  const registered = (client.scope ?? '').split(' ').filter((scope) => scope !== '' && ctx.scopes.includes(scope));
  const scopes = narrowScopes(requested, registered);
  const access = await issueAccessToken(ctx, { subject: client.clientId, clientId: client.clientId, scopes, resource });
  return tokenResponse(access, scopes);
};

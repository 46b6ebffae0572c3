import { HttpError, OAuthError } from '../../core/errors.js';
import { authenticateClient } from '../checks/client-auth.js';
import type { Endpoint } from '../context.js';
import { authorizationCodeGrant } from '../grants/authorization-code.js';
import { clientCredentialsGrant } from '../grants/client-credentials.js';
import type { GrantHandler } from '../grants/grant.js';
import { refreshTokenGrant } from '../grants/refresh-token.js';
import { readForm, single } from '../lib/form.js';
import { sendNoStore } from '../respond.js';

/** The grant types of the token endpoint (also `grant_types_supported` in the metadata). */
export const GRANTS: Readonly<Record<string, GrantHandler>> = Object.freeze({
  authorization_code: authorizationCodeGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
});

/**
 * `POST /oauth/token` (RFC 6749 §3.2, §5). In order:
 *
 * 1. POST with an `application/x-www-form-urlencoded` body of at most 16 KiB (405, 415, 413);
 * 2. `grant_type` one of {@link GRANTS} (`unsupported_grant_type`), checked before any hashing;
 * 3. client authentication (`invalid_client`, 401, see `checks/client-auth.ts`);
 * 4. the client is registered for that grant type (`unauthorized_client`, §5.2);
 * 5. the grant's own checks, then issuance.
 *
 * Every response, success or error, carries `Cache-Control: no-store` and `Pragma: no-cache` (§5.1);
 * errors are rendered by the router from the `OAuthError` thrown here.
 */
export const token: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'Use POST', { allow: 'POST' });
  const form = await readForm(req);
  const grantType = single(form, 'grant_type');
  if (grantType === undefined) throw new OAuthError('invalid_request', 400, 'The grant_type parameter is required');
  const handler = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined;
  if (!handler) throw new OAuthError('unsupported_grant_type', 400, 'This grant type is not supported');

  const { client, method } = await authenticateClient(ctx, req, form);
  if (!client.grantTypes.includes(grantType)) throw new OAuthError('unauthorized_client', 400, 'This client is not registered for this grant type');

  const body = await handler({ ctx, form, client, method });
  sendNoStore(res, 200, body);
};

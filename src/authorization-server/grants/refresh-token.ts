import { OAuthError } from '../../core/errors.js';
import { checkResource } from '../checks/resource.js';
import { narrowScopes, parseScope } from '../checks/scope.js';
import { required, single } from '../lib/form.js';
import { hashToken, safeEqual } from '../secrets.js';
import { issueAccessToken } from '../tokens.js';
import { refreshUpstreamGrant } from '../upstream/refresh.js';
import { tokenResponse, type GrantHandler } from './grant.js';

/**
 * `grant_type=refresh_token` (RFC 6749 §6, OAuth 2.1 §4.3, RFC 9700 §4.14.2: rotation for public clients).
 *
 * Every use rotates: the successor is `ctx.successorOf(presented)` (an HMAC, so it can be recomputed but
 * never guessed) and the store swaps the family's current token atomically (`GrantStore.rotate`):
 *
 * - `rotated`: the presented token was current → answer with its successor;
 * - `grace`: the token rotated last, presented again by its own client within `--refresh-grace-seconds`
 *   → answer with the same successor (recomputed, and checked against the hash the store kept). Clients
 *   that refresh concurrently (the official SDK among them) all get one answer and one family;
 * - `reuse`: an older token, or the last one after the grace period → the store has revoked the family
 *   (RFC 9700 §4.14.2: a replayed refresh token means one of the two parties is an attacker), so the
 *   successor stops working too;
 * - unknown, expired, revoked, or another client's token → `invalid_grant`.
 *
 * With federated login, the upstream grant behind the family is refreshed before rotating when its
 * access token has expired (`upstream/refresh.ts`); an upstream refusal revokes the family (`invalid_grant`),
 * an unreachable upstream is a 503 that leaves the presented token usable.
 *
 * `scope` and `resource` may only narrow (§6: "MUST NOT include any scope not originally granted"; RFC 8707
 * §2.2). They are checked before rotating, so a refused request leaves the presented token usable. The
 * narrowed scope applies to the new access token only; the family keeps the scope it was granted (§6).
 */
export const refreshTokenGrant: GrantHandler = async ({ ctx, form, client }) => {
  const presented = required(form, 'refresh_token');
  const requestedScopes = parseScope(single(form, 'scope'));
  const resource = checkResource(ctx, form.getAll('resource'));
  const presentedHash = hashToken(presented);
  const now = ctx.now();

  const family = await ctx.stores.grants.findByRefreshHash(presentedHash);
  if (!family || family.clientId !== client.clientId || family.revoked || family.expiresAt <= now) {
    throw new OAuthError('invalid_grant', 400, 'The refresh token is invalid, expired or revoked');
  }
  const scopes = narrowScopes(requestedScopes, family.scopes);
  if (resource !== family.resource) throw new OAuthError('invalid_target', 400, 'The resource was not part of this grant');
  // Federated login: the upstream grant behind this one is refreshed first when its access token expired,
  // and ends this one (invalid_grant) when the upstream refuses.
  await refreshUpstreamGrant(ctx, family);

  const successor = ctx.successorOf(presented);
  const successorHash = hashToken(successor);
  const result = await ctx.stores.grants.rotate(presentedHash, successorHash, { clientId: client.clientId, now, graceSeconds: ctx.refreshGraceSeconds });
  if (!result) throw new OAuthError('invalid_grant', 400, 'The refresh token is invalid, expired or revoked');
  if (result.kind === 'reuse') {
    ctx.logger.warn({ client: client.clientId, grant: result.grant.id }, 'refresh token reused after rotation: the family is revoked');
    throw new OAuthError('invalid_grant', 400, 'The refresh token was already used', { detail: `reuse; revoked grant ${result.grant.id}` });
  }
  if (result.kind === 'grace' && !safeEqual(result.successorHash, successorHash)) {
    // Only possible if the successor key changed since the rotation (another PORTCULLIS_SECRET).
    throw new OAuthError('invalid_grant', 400, 'The refresh token was already used', { detail: 'grace replay, but the successor cannot be reproduced' });
  }

  const access = await issueAccessToken(ctx, { subject: result.grant.userId, clientId: client.clientId, scopes, resource: result.grant.resource });
  return tokenResponse(access, scopes, successor);
};

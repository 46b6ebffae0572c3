import { setTimeout as sleep } from 'node:timers/promises';
import { OAuthError } from '../../core/errors.js';
import type { GrantRecord, UpstreamGrantRecord } from '../../stores/auth-types.js';
import type { AuthorizationServerContext } from '../context.js';
import type { Federation } from './federation.js';
import { UpstreamFailure } from './idp.js';
import { isUpstreamUser } from './identity.js';

/** How long one process may hold the refresh of an upstream grant before another may take it over. */
export const LEASE_SECONDS = 30;
/** A request waiting for another's upstream refresh looks again this often, at most {@link WAIT_ROUNDS} times. */
const WAIT_MS = 100;
const WAIT_ROUNDS = 150;

/**
 * "Refreshed when needed": called by the refresh-token grant for a live family, before it rotates our token.
 *
 * - No federation configured, or the grant's user is a local (password) user: nothing to do.
 * - The upstream grant behind (user, client) is missing, of another issuer, or cannot be opened (the server
 *   secret changed): the upstream sign-in is gone, so the grant ends (below).
 * - Its upstream access token has not expired: nothing to do (no upstream traffic on most refreshes).
 * - It has expired: exactly one request (a lease taken by compare-and-swap in the store, across every
 *   instance) redeems the upstream refresh token, keeps the rotated one when the upstream rotates, and
 *   records the new expiry; concurrent requests for the same pair wait for it (bounded) and go on with
 *   its result. Without an upstream refresh token, the upstream session ended with that access token.
 * - The upstream refuses with `invalid_grant` (the user was disabled, the grant revoked upstream), or
 *   there is no upstream refresh token: every live grant of (user, client) is revoked, the upstream grant
 *   emptied, and our refresh fails with `invalid_grant` — so an upstream revocation reaches MCP clients
 *   within one access-token lifetime.
 * - The upstream cannot be reached or answers otherwise: 503 `temporarily_unavailable`, our token is not
 *   rotated (the client may retry), nothing is revoked.
 *
 * @throws OAuthError `invalid_grant` (400) or `temporarily_unavailable` (503)
 */
export async function refreshUpstreamGrant(ctx: AuthorizationServerContext, grant: GrantRecord): Promise<void> {
  const federation = ctx.federation;
  if (!federation) return;
  for (let round = 0; round <= WAIT_ROUNDS; round++) {
    const now = ctx.now();
    const record = await ctx.stores.upstreamGrants.get(grant.userId, grant.clientId, now);
    if (!record) {
      const user = await ctx.stores.users.get(grant.userId);
      if (user && !isUpstreamUser(user)) return;
      return end(ctx, grant, undefined, 'no upstream grant behind this grant');
    }
    if (record.issuer !== federation.idp.issuer) return end(ctx, grant, record, `the upstream grant is of ${record.issuer}`);
    if (record.accessExpiresAt > now) return;
    if (record.refreshingUntil !== undefined && record.refreshingUntil > now) {
      await sleep(WAIT_MS);
      continue;
    }
    const claimed = await ctx.stores.upstreamGrants.update(record.userId, record.clientId, record.version, { refreshingUntil: now + LEASE_SECONDS }, now);
    if (claimed) return refreshClaimed(ctx, federation, grant, claimed);
  }
  throw new OAuthError('temporarily_unavailable', 503, 'The identity provider is slow to answer; try again', { detail: `upstream refresh of ${grant.userId}/${grant.clientId} still under way` });
}

async function refreshClaimed(ctx: AuthorizationServerContext, federation: Federation, grant: GrantRecord, claimed: UpstreamGrantRecord): Promise<void> {
  const owner = { userId: claimed.userId, clientId: claimed.clientId };
  const tokens = federation.vault.open(owner, claimed.sealedTokens);
  if (!tokens) return end(ctx, grant, claimed, 'the upstream tokens do not open (PORTCULLIS_SECRET changed?)');
  if (tokens.refreshToken === undefined) return end(ctx, grant, claimed, 'the upstream access token expired and there is no upstream refresh token');
  let refreshed;
  try {
    refreshed = await federation.idp.refresh(tokens.refreshToken);
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    if (error.kind === 'refused' && error.error === 'invalid_grant') return end(ctx, grant, claimed, `the upstream refused its refresh token: ${error.message}`);
    // Anything else is not the user's doing (network, our client's configuration): let another attempt try.
    await ctx.stores.upstreamGrants.update(claimed.userId, claimed.clientId, claimed.version, { refreshingUntil: null }, ctx.now());
    ctx.logger.warn({ user: claimed.userId, client: claimed.clientId, kind: error.kind, reason: error.message }, 'upstream refresh failed');
    throw new OAuthError('temporarily_unavailable', 503, 'The identity provider cannot be reached; try again later', { detail: error.message });
  }
  const now = ctx.now();
  const sealedTokens = federation.vault.seal(owner, { refreshToken: refreshed.refreshToken ?? tokens.refreshToken });
  const stored = await ctx.stores.upstreamGrants.update(claimed.userId, claimed.clientId, claimed.version, { sealedTokens, accessExpiresAt: upstreamAccessExpiry(ctx, now, refreshed.expiresIn), refreshingUntil: null }, now);
  // Not stored: a new login replaced the record meanwhile (its tokens are newer still), or it expired.
  ctx.logger.info({ user: claimed.userId, client: claimed.clientId, rotated: refreshed.refreshToken !== undefined, stored: stored !== undefined }, 'upstream grant refreshed');
}

/**
 * When an upstream access token expires: `expires_in` from now, or, when the upstream does not say, our own
 * access-token lifetime (so the upstream is asked again at least that often). Bounded by our family's life.
 */
export function upstreamAccessExpiry(ctx: Pick<AuthorizationServerContext, 'accessTokenTtl' | 'refreshTokenTtl'>, now: number, expiresIn: number | undefined): number {
  const seconds = expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn >= 0 ? Math.floor(expiresIn) : ctx.accessTokenTtl;
  return now + Math.min(seconds, ctx.refreshTokenTtl);
}

/** The upstream sign-in is over: revoke every grant of (user, client), empty the upstream grant, refuse. */
async function end(ctx: AuthorizationServerContext, grant: GrantRecord, record: UpstreamGrantRecord | undefined, reason: string): Promise<never> {
  const now = ctx.now();
  const families = await ctx.stores.grants.list({ userId: grant.userId, clientId: grant.clientId, now });
  await Promise.all([grant, ...families].map((family) => ctx.stores.grants.revoke(family.id)));
  if (record && ctx.federation) {
    // Emptied rather than removed, and only if unchanged: a login that replaced it meanwhile stays.
    const owner = { userId: record.userId, clientId: record.clientId };
    await ctx.stores.upstreamGrants.update(record.userId, record.clientId, record.version, { sealedTokens: ctx.federation.vault.seal(owner, {}), accessExpiresAt: now, refreshingUntil: null }, now);
  }
  ctx.logger.info({ user: grant.userId, client: grant.clientId, grants: families.length, reason }, 'upstream sign-in ended: grants revoked');
  throw new OAuthError('invalid_grant', 400, 'The refresh token is invalid, expired or revoked', { detail: reason });
}

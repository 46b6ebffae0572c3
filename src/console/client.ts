/**
 * The console as an OAuth client of the embedded authorization server: a first-party public client
 * (`token_endpoint_auth_method: none`, PKCE S256) registered in the store at start-up, whose one redirect
 * URI is `PUBLIC_URL/oauth/callback`. It logs people in through the AS's own login and consent pages (or,
 * with federated login, the upstream IdP the AS sends them to), exactly as any MCP client would.
 *
 * The code exchange and the refreshes call the token endpoint's grant handlers in-process, with the
 * console's client record as the authenticated client (a public client authenticates with nothing but its
 * id, so nothing is skipped): the same checks (code bound to client, redirect URI, PKCE verifier and
 * resource; refresh rotation and reuse detection) without a request to ourselves over the network.
 */
import type { AuthorizationServerContext } from '../authorization-server/context.js';
import { authorizationCodeGrant } from '../authorization-server/grants/authorization-code.js';
import type { TokenResponse } from '../authorization-server/grants/grant.js';
import { refreshTokenGrant } from '../authorization-server/grants/refresh-token.js';
import { hashToken } from '../authorization-server/secrets.js';
import { OAuthError } from '../core/errors.js';
import type { ClientRecord } from '../stores/auth-types.js';
import { StoreError } from '../stores/errors.js';
import { ConsoleError, type ConsoleContext } from './context.js';
import type { ConsoleSession } from './sessions.js';

/** The console's `client_id` (registered clients get UUIDs, so it cannot collide with one). */
export const CONSOLE_CLIENT_ID = 'portcullis-console';
/** What the consent page and the clients page call it. */
export const CONSOLE_CLIENT_NAME = 'Portcullis web console';
const GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;
/** An access token with less than this left (seconds) is refreshed before use. */
const REFRESH_MARGIN_SECONDS = 60;

/**
 * Registers the console's client, or keeps the one a previous start (or another instance) registered
 * when it has the same redirect URI and grant types. A stale one (the public URL changed) is replaced:
 * its grants and remembered consents go with it.
 *
 * @example
 * const client = await registerConsoleClient(as, 'https://gateway.example/oauth/callback');
 */
export async function registerConsoleClient(as: AuthorizationServerContext, redirectUri: string): Promise<ClientRecord> {
  const clients = as.stores.clients;
  const existing = await clients.get(CONSOLE_CLIENT_ID);
  if (existing && isCurrent(existing, redirectUri)) return existing;
  if (existing) {
    as.logger.warn({ client: CONSOLE_CLIENT_ID, redirectUris: existing.redirectUris, now: redirectUri }, 'the web console client is registered for another URL: registering it again (its grants end)');
    await clients.remove(CONSOLE_CLIENT_ID);
  }
  const record: ClientRecord = {
    clientId: CONSOLE_CLIENT_ID,
    name: CONSOLE_CLIENT_NAME,
    redirectUris: [redirectUri],
    grantTypes: [...GRANT_TYPES],
    responseTypes: ['code'],
    tokenEndpointAuthMethod: 'none',
    scope: as.scopes.join(' '),
    origin: 'admin',
    metadata: { client_name: CONSOLE_CLIENT_NAME, redirect_uris: [redirectUri], grant_types: [...GRANT_TYPES], response_types: ['code'], token_endpoint_auth_method: 'none' },
    createdAt: as.now(),
  };
  try {
    return await clients.create(record);
  } catch (error) {
    // Another instance registered it in between.
    if (error instanceof StoreError && error.code === 'conflict') return (await clients.get(CONSOLE_CLIENT_ID)) ?? record;
    throw error;
  }
}

function isCurrent(client: ClientRecord, redirectUri: string): boolean {
  return (
    client.redirectUris.length === 1 &&
    client.redirectUris[0] === redirectUri &&
    client.tokenEndpointAuthMethod === 'none' &&
    GRANT_TYPES.every((grant) => client.grantTypes.includes(grant))
  );
}

/** What a token response gives a console session. Times are epoch seconds. */
export interface ConsoleTokens {
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly accessToken: string;
  readonly accessExpiresAt: number;
  readonly refreshToken: string | undefined;
  /** The refresh-token family, when one was issued. */
  readonly grant: { readonly id: string; readonly expiresAt: number } | undefined;
}

/**
 * Redeems an authorization code (RFC 6749 §4.1.3 with PKCE) for the console. Rejects with an
 * `OAuthError` (`invalid_grant`, …) as the token endpoint would answer.
 */
export async function exchangeCode(ctx: ConsoleContext, code: string, verifier: string): Promise<ConsoleTokens> {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: ctx.redirectUri, code_verifier: verifier, client_id: ctx.client.clientId, resource: ctx.resource });
  const response = await authorizationCodeGrant({ ctx: ctx.as, form, client: ctx.client, method: 'none' });
  return tokensOf(ctx, response);
}

/**
 * The session's access token, refreshed first when it has less than a minute left (one refresh at a
 * time per session). A refresh the AS refuses (the grant was revoked, the user removed) ends the session:
 * the person logs in again.
 */
export async function accessToken(ctx: ConsoleContext, session: ConsoleSession, force = false): Promise<string> {
  if (!force && session.accessExpiresAt - ctx.as.now() > REFRESH_MARGIN_SECONDS) return session.accessToken;
  session.refreshing ??= refresh(ctx, session).finally(() => (session.refreshing = undefined));
  await session.refreshing;
  return session.accessToken;
}

async function refresh(ctx: ConsoleContext, session: ConsoleSession): Promise<void> {
  const presented = session.refreshToken;
  try {
    if (presented === undefined) throw new OAuthError('invalid_grant', 400, 'no refresh token');
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: presented, client_id: ctx.client.clientId, resource: ctx.resource });
    const tokens = await tokensOf(ctx, await refreshTokenGrant({ ctx: ctx.as, form, client: ctx.client, method: 'none' }));
    if (tokens.subject !== session.userId) throw new OAuthError('invalid_grant', 400, 'the refreshed token names another subject');
    session.accessToken = tokens.accessToken;
    session.accessExpiresAt = tokens.accessExpiresAt;
    session.scopes = tokens.scopes;
    session.refreshToken = tokens.refreshToken;
  } catch (error) {
    if (!(error instanceof OAuthError)) throw error;
    ctx.sessions.end(session);
    ctx.logger.info({ user: session.userId, reason: error.detail ?? error.description }, 'web console session ended: its refresh was refused');
    throw new ConsoleError(401, 'Your session has ended', 'Your sign-in is no longer valid (it was revoked or has expired). Log in again.', { login: true, detail: error.code });
  }
}

/** Checks a token response field by field and learns the token's subject, scopes and expiry by verifying it. */
async function tokensOf(ctx: ConsoleContext, response: TokenResponse): Promise<ConsoleTokens> {
  if (typeof response.access_token !== 'string' || response.token_type !== 'Bearer') throw new OAuthError('server_error', 500, 'unexpected token response');
  const auth = await ctx.verifier.verify(response.access_token);
  if (auth.clientId !== ctx.client.clientId) throw new OAuthError('server_error', 500, 'the access token was issued to another client');
  const refreshToken = typeof response.refresh_token === 'string' ? response.refresh_token : undefined;
  const family = refreshToken === undefined ? undefined : await ctx.as.stores.grants.findByRefreshHash(hashToken(refreshToken));
  return {
    subject: auth.subject,
    scopes: auth.scopes,
    accessToken: response.access_token,
    accessExpiresAt: auth.expiresAt,
    refreshToken,
    grant: family === undefined ? undefined : { id: family.id, expiresAt: family.expiresAt },
  };
}

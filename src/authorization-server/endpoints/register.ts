import { randomUUID } from 'node:crypto';
import { HttpError, OAuthError } from '../../core/errors.js';
import { mediaType, readBody } from '../../core/http.js';
import type { ClientRecord } from '../../stores/auth-types.js';
import { validateClientMetadata } from '../checks/client-metadata.js';
import type { Endpoint } from '../context.js';
import { sendNoStore } from '../respond.js';
import { hashClientSecret, randomToken } from '../secrets.js';

/** Largest registration request read (10 redirect URIs of 2000 characters and the rest fit). */
export const REGISTRATION_LIMIT_BYTES = 32 * 1024;
const WINDOW_SECONDS = 60;

/**
 * `POST /oauth/register`: RFC 7591 dynamic client registration, open to anyone, so:
 *
 * - rate-limited per client address (`ctx.registrationPerMinute` in a fixed one-minute window of
 *   `store.rateLimits`, counted before anything else; over the limit → 429 with `Retry-After`);
 * - a JSON object body (415 otherwise, 413 past {@link REGISTRATION_LIMIT_BYTES});
 * - validated by `checks/client-metadata.ts` (`invalid_redirect_uri`, `invalid_client_metadata`, 400, §3.2.2);
 * - only clients that act for a user: `authorization_code` (+ `refresh_token`); `client_credentials` is for
 *   admins (`portcullis clients add`);
 * - `token_endpoint_auth_method` `none` by default (RFC 7591 §2 defaults to `client_secret_basic`, but an
 *   anonymous registrant is a native or browser app that cannot keep a secret unless it asks for one);
 *   with `client_secret_basic`/`client_secret_post` a 256-bit secret is generated, returned once
 *   (`client_secret_expires_at: 0`, never expires) and stored only as its scrypt hash.
 *
 * The answer is 201 with the registered metadata (§3.2.1), `no-store`.
 *
 * The address is the TCP peer: behind a reverse proxy all clients share one budget (no forwarded header is
 * trusted, as none can be without configuration).
 */
export const register: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'Use POST', { allow: 'POST' });
  const now = ctx.now();
  const address = (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:/, '');
  const count = await ctx.stores.rateLimits.hit(`register:${address}`, WINDOW_SECONDS, now);
  if (count > ctx.registrationPerMinute) {
    const retryAfter = WINDOW_SECONDS - (now % WINDOW_SECONDS);
    ctx.logger.warn({ address }, 'dynamic registration rate limit reached');
    throw new HttpError(429, 'too_many_requests', 'Too many registrations from this address; try again later', { 'retry-after': String(retryAfter) });
  }
  if (mediaType(req.headers['content-type']) !== 'application/json') throw new HttpError(415, 'unsupported_media_type', 'Send the client metadata as application/json');
  const raw = await readBody(req, REGISTRATION_LIMIT_BYTES);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new OAuthError('invalid_client_metadata', 400, 'The body is not valid JSON');
  }
  const accepted = validateClientMetadata(body, ctx, { authMethods: ['none', 'client_secret_basic', 'client_secret_post'], defaultAuthMethod: 'none' });

  const clientId = randomUUID();
  const secret = accepted.tokenEndpointAuthMethod === 'none' ? undefined : randomToken();
  const record: ClientRecord = {
    clientId,
    ...(secret === undefined ? {} : { secretHash: hashClientSecret(secret) }),
    name: accepted.name ?? '',
    redirectUris: accepted.redirectUris,
    grantTypes: accepted.grantTypes,
    responseTypes: accepted.responseTypes,
    tokenEndpointAuthMethod: accepted.tokenEndpointAuthMethod,
    ...(accepted.scope === undefined ? {} : { scope: accepted.scope }),
    origin: 'dynamic',
    metadata: accepted.metadata,
    createdAt: now,
  };
  await ctx.stores.clients.create(record);
  ctx.logger.info({ client: clientId, method: record.tokenEndpointAuthMethod }, 'client registered');

  sendNoStore(res, 201, {
    client_id: clientId,
    client_id_issued_at: now,
    ...(secret === undefined ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
    redirect_uris: record.redirectUris,
    grant_types: record.grantTypes,
    response_types: record.responseTypes,
    token_endpoint_auth_method: record.tokenEndpointAuthMethod,
    ...(accepted.name === undefined ? {} : { client_name: accepted.name }),
    ...(accepted.scope === undefined ? {} : { scope: accepted.scope }),
    ...accepted.metadata,
  });
};

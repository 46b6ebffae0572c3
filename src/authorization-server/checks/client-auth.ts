import type { IncomingMessage } from 'node:http';
import { OAuthError } from '../../core/errors.js';
import type { TokenEndpointAuthMethod } from '../../stores/auth-types.js';
import { resolveClient, type ResolvedClient } from '../cimd.js';
import type { AuthorizationServerContext } from '../context.js';
import { single } from '../lib/form.js';
import { ChallengeError } from '../respond.js';
import { verifyClientSecret } from '../secrets.js';

/** RFC 7617 §2: the challenge sent back when Basic authentication was tried and failed (RFC 6749 §5.2). */
export const BASIC_CHALLENGE = 'Basic realm="portcullis", charset="UTF-8"';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface AuthenticatedClient {
  client: ResolvedClient;
  /** How it authenticated; `none` for a public client, which only identified itself. */
  method: TokenEndpointAuthMethod;
}

/**
 * Authenticates the client of a token, revocation or introspection request (RFC 6749 §2.3, §3.2.1):
 *
 * - `client_secret_basic`: `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (§2.3.1);
 * - `client_secret_post`: `client_id` and `client_secret` in the form body;
 * - `none`: a public client sends `client_id` only, and must not send a secret.
 *
 * The method used must be the one the client registered; one request uses one method (§2.3: "MUST NOT
 * use more than one authentication method"), so Basic plus a body secret is `invalid_request`, as is a
 * body `client_id` that contradicts the Basic one. Secrets are checked against their SHA-256
 * (`verifyClientSecret`, constant-time compare: they are 256-bit random values, see secrets.ts); an unknown
 * client costs the same hash, so timing does not tell which client ids exist. Failure is `invalid_client` (401), with `WWW-Authenticate: Basic` when
 * Basic was tried (§5.2).
 *
 * @example
 * const { client, method } = await authenticateClient(ctx, req, form);
 * const { client } = await authenticateClient(ctx, req, form, { confidentialOnly: true }); // introspection
 */
export async function authenticateClient(
  ctx: AuthorizationServerContext,
  req: IncomingMessage,
  form: URLSearchParams,
  options: { confidentialOnly?: boolean } = {},
): Promise<AuthenticatedClient> {
  const header = soleAuthorization(req);
  const bodyId = single(form, 'client_id');
  const bodySecret = single(form, 'client_secret');
  const basic = header === undefined ? undefined : parseBasic(header);
  const fail = (detail: string) =>
    new ChallengeError('invalid_client', 401, 'Client authentication failed', header === undefined ? {} : { 'www-authenticate': BASIC_CHALLENGE }, { detail });

  if (basic !== undefined) {
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 400, 'Use one client authentication method, not several');
    if (bodyId !== undefined && bodyId !== basic.id) throw new OAuthError('invalid_request', 400, 'The client_id parameter contradicts the Authorization header');
  }
  const method: TokenEndpointAuthMethod = basic ? 'client_secret_basic' : bodySecret !== undefined ? 'client_secret_post' : 'none';
  const clientId = basic?.id ?? bodyId;
  const secret = basic?.secret ?? bodySecret;
  if (clientId === undefined) throw fail('no client_id');

  const client = await resolveClient(ctx, clientId);
  if (!client) {
    // The same hashing and comparison as for a known client, so timing does not tell which ids exist.
    if (secret !== undefined) verifyClientSecret(secret, '');
    throw fail('unknown client');
  }
  if (client.tokenEndpointAuthMethod !== method) throw fail(`client registered ${client.tokenEndpointAuthMethod}, used ${method}`);
  if (method !== 'none') {
    if (!client.secretHash || secret === undefined || !verifyClientSecret(secret, client.secretHash)) throw fail('wrong client secret');
  }
  if (options.confidentialOnly && method === 'none') throw fail('public client at an endpoint for confidential clients');
  return { client, method };
}

/** Parses `Basic …` (RFC 7617, RFC 6749 §2.3.1). Any other scheme, or a malformed value, fails authentication. */
function parseBasic(header: string): { id: string; secret: string } {
  if (header.length < 6 || header.slice(0, 6).toLowerCase() !== 'basic ') throw malformedBasic();
  const encoded = header.slice(6).trim();
  if (!BASE64.test(encoded)) throw malformedBasic();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw malformedBasic();
  let id: string;
  let secret: string;
  try {
    // §2.3.1: id and secret are application/x-www-form-urlencoded before Basic encoding.
    id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
    secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  } catch {
    throw malformedBasic();
  }
  if (id === '' || secret === '') throw malformedBasic();
  return { id, secret };
}

/** Made only when thrown: an error (and its stack) costs a few microseconds on a path every Basic request takes. */
function malformedBasic(): ChallengeError {
  return new ChallengeError('invalid_client', 401, 'Client authentication failed', { 'www-authenticate': BASIC_CHALLENGE }, { detail: 'malformed or non-Basic Authorization header' });
}

/** The one `Authorization` header (Node keeps only the first of duplicates, so scan the raw list). */
function soleAuthorization(req: IncomingMessage): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== 'authorization') continue;
    if (value !== undefined) throw new OAuthError('invalid_request', 400, 'Send one Authorization header, not several');
    value = req.rawHeaders[i + 1]!;
  }
  return value;
}

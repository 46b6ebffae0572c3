import { OAuthError } from '../../core/errors.js';
import type { TokenEndpointAuthMethod } from '../../stores/auth-types.js';
import type { AuthorizationServerContext } from '../context.js';
import { formatScope, parseScope } from './scope.js';

/** Size limits on client metadata (RFC 7591 §2 leaves them to the server). */
export const CLIENT_METADATA_LIMITS = { redirectUris: 10, uriLength: 2000, nameLength: 200, contacts: 5, contactLength: 320, textLength: 200 } as const;

/** Grant types a client acting for a user may have (issue 3: `client_credentials` clients are made by an admin). */
const USER_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;
/** What an admin may register besides: a client acting for itself (RFC 6749 §4.4). */
const ADMIN_GRANT_TYPES = [...USER_GRANT_TYPES, 'client_credentials'] as const;
/** Schemes that run code or read local data when "navigated" to: never a redirect target. */
const DANGEROUS_SCHEMES = new Set(['javascript', 'data', 'file', 'vbscript', 'blob', 'about', 'filesystem', 'view-source', 'ws', 'wss', 'ftp', 'mailto', 'tel', 'sms']);
/** RFC 8252 §7.3 (and §8.3's `localhost`, which real clients use): the hosts of an `http` loopback redirect. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/**
 * RFC 3986 §3.1 scheme syntax. RFC 8252 §7.1 asks apps for reverse-domain schemes (`com.example.app`), but
 * real MCP clients register single-label ones (Cursor: `cursor://…`); refusing them would lock those
 * clients out while protecting nothing the consent page (which shows the redirect) does not, so any
 * private-use scheme outside {@link DANGEROUS_SCHEMES} is accepted.
 */
const PRIVATE_USE_SCHEME = /^[a-z][a-z0-9+.-]*$/;
const CONTROL = /\p{Cc}/u;

/** Client metadata after validation, in the shape of a `ClientRecord`. */
export interface ValidatedClientMetadata {
  redirectUris: string[];
  grantTypes: string[];
  responseTypes: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  name: string | undefined;
  /** Only scopes the resource defines; undefined when none remain. */
  scope: string | undefined;
  /** Accepted informative metadata (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`, `contacts`, `software_id`, `software_version`). */
  metadata: Record<string, unknown>;
}

export interface ClientMetadataPolicy {
  /** Auth methods this kind of client may declare. */
  authMethods: readonly TokenEndpointAuthMethod[];
  /** RFC 7591 §2 defaults `token_endpoint_auth_method` to `client_secret_basic`; anonymous clients here are public unless they ask. */
  defaultAuthMethod: TokenEndpointAuthMethod;
  /**
   * An admin registers the client (the `mcp_oauth_register_client` tool): `client_credentials` is allowed,
   * with or without `authorization_code`. Anonymous registration and client ID metadata documents never set it.
   */
  admin?: boolean;
}

/**
 * Validates RFC 7591 §2 client metadata (from a registration request or a client ID metadata document),
 * checking every field it uses explicitly and ignoring the ones it does not understand (§2: "MUST ignore").
 * Throws `invalid_redirect_uri` or `invalid_client_metadata` (400, RFC 7591 §3.2.2).
 *
 * - `redirect_uris`: 1 to 10, each https, http on a loopback host, or a private-use scheme
 *   (RFC 8252 §7.1–7.3); no fragment (RFC 6749 §3.1.2), no credentials, no `javascript:`/`data:`/`file:`.
 * - `grant_types`: `authorization_code` (default) and `refresh_token` only; `client_credentials` clients
 *   are created by an admin (`policy.admin`: then a client may have `client_credentials` alone, must
 *   authenticate, and has no redirect URI and no response type). `refresh_token` comes with
 *   `authorization_code`. `response_types`: `code` only (§2.1 consistency with the grant types).
 * - `scope`: syntax checked; scopes this server does not define are dropped (§3.2.1 lets the server
 *   change requested metadata; the response reports what was accepted).
 *
 * @example
 * const accepted = validateClientMetadata(body, ctx, { authMethods: ['none'], defaultAuthMethod: 'none' });
 */
export function validateClientMetadata(input: unknown, ctx: Pick<AuthorizationServerContext, 'scopes'>, policy: ClientMetadataPolicy): ValidatedClientMetadata {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw metadataError('The client metadata must be a JSON object');
  const body = input as Record<string, unknown>;

  const grantTypes = optionalList(body, 'grant_types') ?? ['authorization_code'];
  const allowed: readonly string[] = policy.admin ? ADMIN_GRANT_TYPES : USER_GRANT_TYPES;
  for (const grant of grantTypes) {
    if (grant === 'client_credentials' && !policy.admin) throw metadataError('client_credentials clients cannot register themselves; an admin creates them with `portcullis clients add`');
    if (!allowed.includes(grant)) throw metadataError(`Only the ${allowed.slice(0, -1).join(', ')} and ${allowed.at(-1)!} grant types are supported`);
  }
  const code = grantTypes.includes('authorization_code');
  const machine = grantTypes.includes('client_credentials');
  if (!code && !machine) throw metadataError(policy.admin ? 'grant_types must include authorization_code or client_credentials' : 'grant_types must include authorization_code');
  if (!code && grantTypes.includes('refresh_token')) throw metadataError('refresh_token comes with authorization_code');
  const responseTypes = optionalList(body, 'response_types') ?? (code ? ['code'] : []);
  if (code ? responseTypes.length !== 1 || responseTypes[0] !== 'code' : responseTypes.length !== 0) {
    throw metadataError(code ? 'Only the code response type is supported' : 'A client without authorization_code has no response types');
  }

  const method = body.token_endpoint_auth_method ?? policy.defaultAuthMethod;
  if (typeof method !== 'string' || !(policy.authMethods as readonly string[]).includes(method)) {
    throw metadataError(`token_endpoint_auth_method must be one of: ${policy.authMethods.join(', ')}`);
  }
  // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
  if (machine && method === 'none') throw metadataError('A client_credentials client must authenticate: token_endpoint_auth_method cannot be none');

  const redirectUris = optionalList(body, 'redirect_uris', 'invalid_redirect_uri') ?? [];
  if (code) {
    if (redirectUris.length === 0) throw new OAuthError('invalid_redirect_uri', 400, 'At least one redirect URI is required');
    if (redirectUris.length > CLIENT_METADATA_LIMITS.redirectUris) throw new OAuthError('invalid_redirect_uri', 400, `At most ${CLIENT_METADATA_LIMITS.redirectUris} redirect URIs are accepted`);
    for (const uri of redirectUris) checkRedirectUri(uri);
  } else if (redirectUris.length > 0) {
    throw new OAuthError('invalid_redirect_uri', 400, 'Only authorization_code clients are redirected: a client_credentials client has no redirect URI');
  }

  const name = optionalText(body, 'client_name', CLIENT_METADATA_LIMITS.nameLength);
  const scope = scopeOf(body.scope, ctx);
  const metadata: Record<string, unknown> = {};
  for (const field of ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const) {
    const value = optionalText(body, field, CLIENT_METADATA_LIMITS.uriLength);
    if (value === undefined) continue;
    if (!isWebUrl(value)) throw metadataError(`${field} must be an http or https URL`);
    metadata[field] = value;
  }
  const contacts = optionalList(body, 'contacts');
  if (contacts) {
    if (contacts.length > CLIENT_METADATA_LIMITS.contacts || contacts.some((c) => c.length > CLIENT_METADATA_LIMITS.contactLength || CONTROL.test(c))) {
      throw metadataError('contacts is too long');
    }
    metadata.contacts = contacts;
  }
  for (const field of ['software_id', 'software_version'] as const) {
    const value = optionalText(body, field, CLIENT_METADATA_LIMITS.textLength);
    if (value !== undefined) metadata[field] = value;
  }

  return { redirectUris: [...new Set(redirectUris)], grantTypes: [...new Set(grantTypes)], responseTypes, tokenEndpointAuthMethod: method as TokenEndpointAuthMethod, name, scope, metadata };
}

/**
 * Checks one redirect URI as registered (the authorization endpoint then compares requests against it).
 * Throws `invalid_redirect_uri`.
 *
 * @example
 * checkRedirectUri('http://127.0.0.1:33418/callback'); // ok
 * checkRedirectUri('com.example.app:/oauth'); // ok
 * checkRedirectUri('javascript:alert(1)'); // throws
 */
export function checkRedirectUri(uri: string): void {
  if (uri.length > CLIENT_METADATA_LIMITS.uriLength) throw redirectError('A redirect URI is too long');
  if (uri.includes('#')) throw redirectError('A redirect URI must not have a fragment');
  // Printable ASCII only (RFC 3986 §2: anything else is percent-encoded in a URI).
  if (!/^[\x21-\x7E]+$/.test(uri) || !URL.canParse(uri)) throw redirectError('A redirect URI is not an absolute URI');
  const url = new URL(uri);
  const scheme = url.protocol.slice(0, -1);
  if (DANGEROUS_SCHEMES.has(scheme)) throw redirectError('A redirect URI uses a scheme that is never allowed');
  if (url.username || url.password) throw redirectError('A redirect URI must not carry credentials');
  if (scheme === 'https') {
    if (!url.hostname) throw redirectError('An https redirect URI needs a host');
    return;
  }
  if (scheme === 'http') {
    if (!LOOPBACK_HOSTS.has(url.hostname)) throw redirectError('http redirect URIs are allowed only on a loopback host (127.0.0.1, [::1], localhost)');
    return;
  }
  if (!PRIVATE_USE_SCHEME.test(scheme)) throw redirectError('A redirect URI must be https, http on loopback, or a private-use scheme (com.example.app:/callback)');
}

function scopeOf(value: unknown, ctx: Pick<AuthorizationServerContext, 'scopes'>): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw metadataError('scope must be a string');
  let parsed: string[] | undefined;
  try {
    parsed = parseScope(value);
  } catch {
    throw metadataError('scope is malformed');
  }
  const known = (parsed ?? []).filter((scope) => ctx.scopes.includes(scope));
  return known.length > 0 ? formatScope(known) : undefined;
}

function optionalList(body: Record<string, unknown>, field: string, code: 'invalid_client_metadata' | 'invalid_redirect_uri' = 'invalid_client_metadata'): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new OAuthError(code, 400, `${field} must be an array of strings`);
  if (value.length > 100) throw new OAuthError(code, 400, `${field} has too many entries`);
  return value as string[];
}

function optionalText(body: Record<string, unknown>, field: string, max: number): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw metadataError(`${field} must be a string`);
  if (value.length > max) throw metadataError(`${field} is longer than ${max} characters`);
  if (CONTROL.test(value)) throw metadataError(`${field} contains control characters`);
  return value === '' ? undefined : value;
}

function isWebUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password;
}

function metadataError(description: string): OAuthError {
  return new OAuthError('invalid_client_metadata', 400, description);
}

function redirectError(description: string): OAuthError {
  return new OAuthError('invalid_redirect_uri', 400, description);
}

/**
 * Whole-record checks of the authorization server's records: each takes what a caller passed, applies the
 * field rules of `auth-checks.ts`, refuses unknown fields, and returns a frozen copy holding only the
 * contract's fields. Both adapters store exactly these copies (SQLite serializes them), so a record reads
 * back the same from either.
 */
import type {
  AuthorizationCodeRecord,
  ClientRecord,
  GrantRecord,
  SigningKeyRecord,
  TokenEndpointAuthMethod,
  UserRecord,
} from '../auth-types.js';
import {
  AUTH_LIMITS,
  checkCount,
  checkHash,
  checkId,
  checkJsonObject,
  checkKeywords,
  checkPasswordHash,
  checkScopes,
  checkText,
  checkTime,
  checkUri,
  checkUris,
  checkUsername,
  invalid,
} from './auth-checks.js';

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];
/** JWK members that carry private key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const PRIVATE_JWK_ENVELOPE = /^(plain|aes256gcm):[\x21-\x7E]+$/;
const SERVER_SECRET = /^[A-Za-z0-9_-]{43}$/;
/** Registration response members that are secrets (RFC 7591 §3.2.1, RFC 7592 §3): never kept in `metadata`. */
const SECRET_METADATA_MEMBERS = ['client_secret', 'registration_access_token'];

/** Refuses members a record kind does not have (a typo or a field from a newer caller would be lost silently). */
function onlyFields(kind: string, value: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(kind, '(record)');
  for (const key of Object.keys(value)) if (!allowed.includes(key)) invalid(kind, key, 'unknown field');
  return value as Record<string, unknown>;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  scopes: readonly string[];
}

export function checkNewUser(input: unknown): NewUser {
  const v = onlyFields('user', input, ['username', 'passwordHash', 'scopes']);
  return { username: checkUsername('user', v.username), passwordHash: checkPasswordHash('user', 'passwordHash', v.passwordHash), scopes: checkScopes('user', 'scopes', v.scopes) };
}

export function checkUserChanges(input: unknown): { passwordHash?: string; scopes?: readonly string[] } {
  const v = onlyFields('user', input, ['passwordHash', 'scopes']);
  const out: { passwordHash?: string; scopes?: readonly string[] } = {};
  if (v.passwordHash !== undefined) out.passwordHash = checkPasswordHash('user', 'passwordHash', v.passwordHash);
  if (v.scopes !== undefined) out.scopes = checkScopes('user', 'scopes', v.scopes);
  return out;
}

export function toUser(fields: UserRecord): UserRecord {
  return Object.freeze({ id: fields.id, username: fields.username, passwordHash: fields.passwordHash, scopes: Object.freeze([...fields.scopes]), createdAt: fields.createdAt, updatedAt: fields.updatedAt });
}

/** A checked client with its metadata serialized (for SQLite). */
export interface CheckedClient {
  record: ClientRecord;
  metadataJson: string;
}

/**
 * A client: ids, lists and times by the field rules; `tokenEndpointAuthMethod` `none` exactly when there is
 * no `secretHash` (a secret-authenticated client without a secret hash could never authenticate, and a
 * public client with one would be treated as confidential by nothing); `metadata` holds no secret member
 * (`client_secret`, `registration_access_token`): the store keeps hashes only.
 */
export function checkClient(input: unknown): CheckedClient {
  const kind = 'client';
  const v = onlyFields(kind, input, ['clientId', 'secretHash', 'name', 'redirectUris', 'grantTypes', 'responseTypes', 'tokenEndpointAuthMethod', 'scope', 'origin', 'metadata', 'createdAt']);
  const method = v.tokenEndpointAuthMethod as TokenEndpointAuthMethod;
  if (!AUTH_METHODS.includes(method)) invalid(kind, 'tokenEndpointAuthMethod');
  const secretHash = v.secretHash === undefined ? undefined : checkPasswordHash(kind, 'secretHash', v.secretHash);
  if ((method === 'none') !== (secretHash === undefined)) invalid(kind, 'secretHash', 'present exactly when the client authenticates with a secret');
  if (v.origin !== 'dynamic' && v.origin !== 'admin') invalid(kind, 'origin');
  const metadata = checkJsonObject(kind, 'metadata', v.metadata, AUTH_LIMITS.metadataBytes);
  if (SECRET_METADATA_MEMBERS.some((member) => member in metadata.value)) invalid(kind, 'metadata', 'it holds a secret');
  const record: ClientRecord = {
    clientId: checkId(kind, 'clientId', v.clientId),
    ...(secretHash === undefined ? {} : { secretHash }),
    name: checkText(kind, 'name', v.name, AUTH_LIMITS.clientName, { allowEmpty: true }),
    redirectUris: checkUris(kind, 'redirectUris', v.redirectUris),
    grantTypes: checkKeywords(kind, 'grantTypes', v.grantTypes),
    responseTypes: checkKeywords(kind, 'responseTypes', v.responseTypes),
    tokenEndpointAuthMethod: method,
    ...(v.scope === undefined ? {} : { scope: checkText(kind, 'scope', v.scope, AUTH_LIMITS.clientScope, { allowEmpty: true }) }),
    origin: v.origin,
    metadata: metadata.value,
    createdAt: checkTime(kind, 'createdAt', v.createdAt),
  };
  return { record: Object.freeze(record), metadataJson: metadata.json };
}

/** PKCE S256 challenge: BASE64URL(SHA-256(verifier)) is 43 characters; the range admits nothing else sane. */
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

export function checkCode(input: unknown): AuthorizationCodeRecord {
  const kind = 'authorization code';
  const v = onlyFields(kind, input, ['hash', 'clientId', 'userId', 'redirectUri', 'codeChallenge', 'scopes', 'resource', 'expiresAt']);
  if (typeof v.codeChallenge !== 'string' || !CODE_CHALLENGE.test(v.codeChallenge)) invalid(kind, 'codeChallenge');
  return Object.freeze({
    hash: checkHash(kind, 'hash', v.hash),
    clientId: checkId(kind, 'clientId', v.clientId),
    userId: checkId(kind, 'userId', v.userId),
    redirectUri: checkUri(kind, 'redirectUri', v.redirectUri),
    codeChallenge: v.codeChallenge,
    scopes: checkScopes(kind, 'scopes', v.scopes),
    resource: checkUri(kind, 'resource', v.resource),
    expiresAt: checkTime(kind, 'expiresAt', v.expiresAt),
  });
}

/** A new grant: `expiresAt` after `createdAt` (a family that is born expired is a caller's bug). */
export function checkNewGrant(input: unknown): Omit<GrantRecord, 'revoked'> {
  const kind = 'grant';
  const v = onlyFields(kind, input, ['id', 'clientId', 'userId', 'scopes', 'resource', 'createdAt', 'expiresAt']);
  const createdAt = checkTime(kind, 'createdAt', v.createdAt);
  const expiresAt = checkTime(kind, 'expiresAt', v.expiresAt);
  if (expiresAt <= createdAt) invalid(kind, 'expiresAt', 'after createdAt');
  return Object.freeze({
    id: checkId(kind, 'id', v.id),
    clientId: checkId(kind, 'clientId', v.clientId),
    userId: checkId(kind, 'userId', v.userId),
    scopes: checkScopes(kind, 'scopes', v.scopes),
    resource: checkUri(kind, 'resource', v.resource),
    createdAt,
    expiresAt,
  });
}

export function toGrant(fields: Omit<GrantRecord, 'revoked'>, revoked: boolean): GrantRecord {
  return Object.freeze({ id: fields.id, clientId: fields.clientId, userId: fields.userId, scopes: Object.freeze([...fields.scopes]), resource: fields.resource, createdAt: fields.createdAt, expiresAt: fields.expiresAt, revoked });
}

export interface CheckedSigningKey {
  record: SigningKeyRecord;
  publicJwkJson: string;
}

/**
 * A signing key: `publicJwk` a JSON object with no private member (so the JWKS can be served from it as
 * is), `privateJwk` in its envelope (`plain:` or `aes256gcm:`), times by the field rules.
 */
export function checkSigningKey(input: unknown): CheckedSigningKey {
  const kind = 'signing key';
  const v = onlyFields(kind, input, ['kid', 'alg', 'publicJwk', 'privateJwk', 'createdAt', 'activatesAt', 'retiresAt']);
  if (v.alg !== 'ES256') invalid(kind, 'alg');
  const publicJwk = checkJsonObject(kind, 'publicJwk', v.publicJwk, AUTH_LIMITS.jwkBytes);
  if (PRIVATE_JWK_MEMBERS.some((member) => member in publicJwk.value)) invalid(kind, 'publicJwk', 'it holds private key material');
  if (typeof v.privateJwk !== 'string' || v.privateJwk.length > AUTH_LIMITS.jwkBytes || !PRIVATE_JWK_ENVELOPE.test(v.privateJwk)) invalid(kind, 'privateJwk');
  const record: SigningKeyRecord = {
    kid: checkId(kind, 'kid', v.kid),
    alg: 'ES256',
    publicJwk: publicJwk.value,
    privateJwk: v.privateJwk,
    createdAt: checkTime(kind, 'createdAt', v.createdAt),
    activatesAt: checkTime(kind, 'activatesAt', v.activatesAt),
    ...(v.retiresAt === undefined ? {} : { retiresAt: checkTime(kind, 'retiresAt', v.retiresAt) }),
  };
  return { record: Object.freeze(record), publicJwkJson: publicJwk.json };
}

/** The generated server key: 32 bytes, base64url without padding. */
export function checkServerSecret(value: unknown): string {
  if (typeof value !== 'string' || !SERVER_SECRET.test(value)) invalid('server secret', 'candidate', '32 bytes, base64url');
  return value;
}

/** The arguments of `RateLimitStore.hit`: key 1..512 characters, window a positive integer, now epoch seconds. */
export function checkRateLimit(key: unknown, windowSeconds: unknown, now: unknown): void {
  checkText('rate limit', 'key', key, AUTH_LIMITS.rateLimitKey);
  checkCount('rate limit', 'windowSeconds', windowSeconds);
  checkTime('rate limit', 'now', now);
}

/** The arguments of `CimdCacheStore.put`: the URL, the document (a JSON object, ≤ 256 KiB), the expiry. */
export function checkCimdEntry(url: unknown, document: unknown, expiresAt: unknown): { json: string; value: Readonly<Record<string, unknown>> } {
  checkUri('metadata document', 'url', url);
  checkTime('metadata document', 'expiresAt', expiresAt);
  return checkJsonObject('metadata document', 'document', document, AUTH_LIMITS.documentBytes);
}

/** The filter of `GrantStore.list`: optional ids and an optional time (default: `defaultNow`). */
export function checkGrantFilter(filter: unknown, defaultNow: () => number): { userId: string | undefined; clientId: string | undefined; now: number } {
  const v = onlyFields('grant filter', filter ?? {}, ['userId', 'clientId', 'now']);
  return {
    userId: v.userId === undefined ? undefined : checkId('grant filter', 'userId', v.userId),
    clientId: v.clientId === undefined ? undefined : checkId('grant filter', 'clientId', v.clientId),
    now: v.now === undefined ? defaultNow() : checkTime('grant filter', 'now', v.now),
  };
}

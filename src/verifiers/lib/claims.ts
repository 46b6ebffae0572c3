import type { AuthInfo } from '../../core/auth.js';
import { invalidToken } from './errors.js';

/** Verified claims of a JWT access token, or the members of an introspection response. */
export type Claims = Readonly<Record<string, unknown>>;

/** What a claim preset reads from the claims: who, through which client, with which scopes. */
export interface Identity {
  readonly subject: string | undefined;
  readonly clientId: string | undefined;
  readonly scopes: readonly string[];
}

function malformed(name: string, expected: string): Error {
  return invalidToken('The access token has a malformed claim', `claim "${name}" is not ${expected}`);
}

/** A string claim, `undefined` when absent; present with another type or empty, the token is refused. */
export function stringClaim(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw malformed(name, 'a non-empty string');
  return value;
}

/** An array-of-strings claim (`scp` at Okta, `permissions` at Auth0, `roles` at Entra). */
export function stringArrayClaim(claims: Claims, name: string): readonly string[] | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw malformed(name, 'an array of strings');
  return value as string[];
}

/** A space-delimited scope string (RFC 6749 §3.3; RFC 8693 §4.2 for the `scope` claim). */
export function scopeStringClaim(claims: Claims, name: string): readonly string[] | undefined {
  const value = stringClaimAllowEmpty(claims, name);
  return value === undefined ? undefined : value.split(' ').filter((scope) => scope.length > 0);
}

/** `scp`/`scope` given either as a space-delimited string or as an array of strings. */
export function scopeListClaim(claims: Claims, name: string): readonly string[] | undefined {
  return Array.isArray(claims[name]) ? stringArrayClaim(claims, name) : scopeStringClaim(claims, name);
}

function stringClaimAllowEmpty(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformed(name, 'a string');
  return value;
}

/** The first of `names` that is present, as a string. */
export function firstStringClaim(claims: Claims, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = stringClaim(claims, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** `aud` as a list (RFC 7519 §4.1.3: a string or an array of strings). */
export function audienceList(claims: Claims): readonly string[] {
  const aud = claims.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((item) => typeof item === 'string')) return aud as string[];
  throw malformed('aud', 'a string or an array of strings');
}

/**
 * Refuses sender-constrained tokens (a `cnf` claim: DPoP, RFC 9449 §6; mTLS, RFC 8705 §3.1): their
 * proof of possession is not checked here, so accepting them as plain bearer tokens would undo the
 * binding the authorization server asked for.
 */
export function refuseSenderConstrained(claims: Claims): void {
  if (claims.cnf !== undefined) {
    throw invalidToken('The access token is sender-constrained, which this resource does not support', 'token has a "cnf" claim (DPoP or mTLS binding)');
  }
}

/**
 * Builds the {@link AuthInfo} from an identity read by a preset and the standard claims. The subject falls
 * back to the client id (client-credentials tokens often have no `sub`; RFC 9068 §2.2 makes it the
 * client's id there). A token naming no client is refused: RFC 9068 §2.2 requires `client_id`, and
 * sessions are bound to subject *and* client.
 */
export function buildAuthInfo(identity: Identity, claims: Claims, issuer: string | undefined, preset: string): AuthInfo {
  const { clientId } = identity;
  if (clientId === undefined) throw invalidToken('The access token does not name its client', `no client id claim (preset ${preset})`);
  const expiresAt = claims.exp;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) throw malformed('exp', 'a number');
  const iss = stringClaim(claims, 'iss') ?? issuer;
  if (iss === undefined) throw malformed('iss', 'present');
  return Object.freeze({
    subject: identity.subject ?? clientId,
    clientId,
    scopes: Object.freeze([...new Set(identity.scopes)]),
    audience: Object.freeze([...audienceList(claims)]),
    issuer: iss,
    expiresAt,
    claims: Object.freeze({ ...claims }),
  });
}

import { createHash } from 'node:crypto';
import { OAuthError } from '../../core/errors.js';
import { safeEqual } from '../secrets.js';

/** RFC 7636 §4.1: `code-verifier = 43*128unreserved`, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 §4.2: an S256 challenge is BASE64URL(SHA-256(verifier)) without padding: 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** The only method accepted (RFC 9700 §2.1.1: `plain` gives no protection against a leaked request). */
export const PKCE_METHOD = 'S256';

/** Whether a `code_challenge` has the shape of an S256 challenge (for the authorization endpoint). */
export function isS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

/** RFC 7636 §4.2: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/**
 * Checks a `code_verifier` against the stored S256 challenge (RFC 7636 §4.6), in constant time. A missing
 * verifier is `invalid_request` (OAuth 2.1: PKCE is required for every code); one of the wrong shape or
 * that does not match is `invalid_grant`.
 *
 * @example
 * verifyPkce(form.get('code_verifier') ?? undefined, code.codeChallenge);
 */
export function verifyPkce(verifier: string | undefined, challenge: string): void {
  if (verifier === undefined) throw new OAuthError('invalid_request', 400, 'The code_verifier parameter is required');
  if (!VERIFIER.test(verifier)) throw new OAuthError('invalid_grant', 400, 'The code_verifier does not match the code challenge', { detail: 'malformed code_verifier' });
  if (!safeEqual(s256(verifier), challenge)) throw new OAuthError('invalid_grant', 400, 'The code_verifier does not match the code challenge');
}

/** Whether a verifier has the RFC 7636 shape (checked before a code is spent). */
export function isVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

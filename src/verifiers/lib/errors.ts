import { errors } from 'jose';
import { OAuthError, unavailable } from '../../core/errors.js';

/**
 * A refused token: 401 `invalid_token` (RFC 6750 §3.1). `description` goes on the wire and must never
 * contain the token or anything read from it; `detail` is for the log only.
 */
export function invalidToken(description: string, detail: string, cause?: unknown): OAuthError {
  return new OAuthError('invalid_token', 401, description, { detail, cause });
}

const CLAIM_REFUSALS: Readonly<Record<string, string>> = {
  iss: 'The access token was not issued by the expected authorization server',
  aud: 'The access token is not meant for this resource',
  nbf: 'The access token is not valid yet',
  exp: 'The access token has no expiry',
  typ: 'The access token is not a JWT access token (typ at+jwt)',
};

/**
 * Maps a failure of `jwtVerify` to its wire error, for the JWT verifier and the embedded one alike. jose's
 * errors are not attached as `cause`: they carry the claims. Anything that is not a verdict on the token
 * is a failure of ours: 503, never access, and never blamed on the token.
 */
export function joseRefusal(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof errors.JWTExpired) return invalidToken('The access token expired', err.message);
  if (err instanceof errors.JWTClaimValidationFailed) {
    return invalidToken(CLAIM_REFUSALS[err.claim] ?? 'The access token is not acceptable', `${err.message} (${err.reason})`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return invalidToken('The access token is signed with an algorithm this resource does not accept', err.message);
  if (err instanceof errors.JWKSNoMatchingKey) return invalidToken('The access token is signed with an unknown key', err.message);
  if (err instanceof errors.JOSEError) return invalidToken('The access token is invalid', `${err.code}: ${err.message}`);
  return unavailable(`unexpected error while verifying a JWT: ${err instanceof Error ? err.message : String(err)}`, err);
}

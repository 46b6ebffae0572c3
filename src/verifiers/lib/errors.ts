import { OAuthError } from '../../core/errors.js';

/**
 * A refused token: 401 `invalid_token` (RFC 6750 §3.1). `description` goes on the wire and must never
 * contain the token or anything read from it; `detail` is for the log only.
 */
export function invalidToken(description: string, detail: string, cause?: unknown): OAuthError {
  return new OAuthError('invalid_token', 401, description, { detail, cause });
}

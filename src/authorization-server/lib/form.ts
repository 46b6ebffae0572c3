import type { IncomingMessage } from 'node:http';
import { HttpError, OAuthError } from '../../core/errors.js';
import { mediaType, readBody } from '../../core/http.js';

/** Largest form body the token, revocation and introspection endpoints read (a refresh token and a few fields fit many times over). */
export const FORM_LIMIT_BYTES = 16 * 1024;

/**
 * The parameters of an `application/x-www-form-urlencoded` POST (RFC 6749 §3.2, RFC 7009 §2.1,
 * RFC 7662 §2.1), at most {@link FORM_LIMIT_BYTES} (413 beyond). Another media type is refused with 415:
 * a JSON body is never guessed at.
 *
 * @example
 * const form = await readForm(req);
 * const grantType = single(form, 'grant_type');
 */
export async function readForm(req: IncomingMessage, limit = FORM_LIMIT_BYTES): Promise<URLSearchParams> {
  if (mediaType(req.headers['content-type']) !== 'application/x-www-form-urlencoded') {
    throw new HttpError(415, 'unsupported_media_type', 'Send the parameters as application/x-www-form-urlencoded');
  }
  const body = await readBody(req, limit);
  return new URLSearchParams(body.toString('utf8'));
}

/**
 * One parameter. RFC 6749 §3.1/§3.2: "Request and response parameters MUST NOT be included more than
 * once", so a repeated parameter is `invalid_request`; an empty value counts as absent (§3.1).
 */
export function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  if (values.length > 1) throw new OAuthError('invalid_request', 400, `The ${name} parameter is repeated`);
  const value = values[0];
  return value === undefined || value === '' ? undefined : value;
}

/** {@link single}, required: absent → `invalid_request`. */
export function required(form: URLSearchParams, name: string): string {
  const value = single(form, name);
  if (value === undefined) throw new OAuthError('invalid_request', 400, `The ${name} parameter is required`);
  return value;
}

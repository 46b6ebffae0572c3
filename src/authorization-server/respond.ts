import type { ServerResponse } from 'node:http';
import { HttpError, OAuthError, type OAuthErrorCode, type OAuthErrorOptions } from '../core/errors.js';
import { sendJson } from '../core/http.js';
import type { Logger } from '../core/log.js';
import { isStoreUnavailable, reportStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../stores/outage.js';

/**
 * RFC 6749 §5.1: token responses (and, here, every response of the token, registration, revocation and
 * introspection endpoints, errors included) carry `Cache-Control: no-store` and `Pragma: no-cache`, so no
 * cache between the client and us ever keeps a token, a client secret or a claim set.
 */
export const NO_STORE: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': 'no-store', pragma: 'no-cache' });

/**
 * An OAuth error whose response needs a header of its own: `WWW-Authenticate: Basic` for a failed client
 * authentication that used the Authorization header (RFC 6749 §5.2), a Bearer challenge at userinfo
 * (RFC 6750 §3).
 *
 * @example
 * throw new ChallengeError('invalid_client', 401, 'Client authentication failed', { 'www-authenticate': 'Basic realm="portcullis"' });
 */
export class ChallengeError extends OAuthError {
  constructor(
    code: OAuthErrorCode,
    status: number,
    description: string,
    readonly headers: Readonly<Record<string, string>>,
    options: OAuthErrorOptions = {},
  ) {
    super(code, status, description, options);
  }
}

/** A JSON body with {@link NO_STORE}. */
export function sendNoStore(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  sendJson(res, status, body, { ...headers, ...NO_STORE });
}

/**
 * Renders whatever an endpoint threw: an {@link OAuthError} as its status and RFC 6749 §5.2 JSON, an
 * `HttpError` (405, 413, 415, 429) likewise, an unavailable store as 503, anything else as a 500 whose
 * cause goes to the log only. Always `no-store`. A response already under way is cut off instead.
 */
export function renderError(res: ServerResponse, error: unknown, logger: Logger): void {
  if (res.headersSent) {
    logger.error({ err: error }, 'authorization server error after the response started');
    res.destroy();
    return;
  }
  if (error instanceof OAuthError) {
    if (error.detail) logger.debug({ code: error.code, reason: error.detail }, 'authorization server refused');
    return sendNoStore(res, error.status, error.toJSON(), error instanceof ChallengeError ? error.headers : {});
  }
  if (error instanceof HttpError) return sendNoStore(res, error.status, error.toJSON(), error.headers);
  if (isStoreUnavailable(error)) {
    reportStoreUnavailable(logger, error);
    return sendNoStore(res, 503, { error: 'temporarily_unavailable', error_description: 'Try again later' }, { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) });
  }
  logger.error({ err: error }, 'authorization server error');
  sendNoStore(res, 500, { error: 'server_error', error_description: 'Internal server error' });
}

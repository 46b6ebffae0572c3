import type { IncomingMessage } from 'node:http';
import { OAuthError } from '../core/errors.js';

/** RFC 6750 §2.1 `b64token`: the only characters a bearer token may have, optionally `=`-padded. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Extracts the bearer token of a request (RFC 6750 §2.1, header method only).
 *
 * Returns `undefined` when the request carries no bearer credentials at all (the caller answers 401 with a
 * bare challenge, RFC 6750 §3.1). Throws `invalid_request` (400) for a request that is malformed in the ways
 * RFC 6750 names: more than one `Authorization` header, a bearer header that is not exactly
 * `Bearer <b64token>`, or a token in the query string (§2.3 is not supported, and MCP forbids it).
 * The scheme is matched case-insensitively (RFC 9110 §11.1).
 *
 * @example
 * const token = bearerToken(req); // 'eyJhbGciOi…' or undefined
 */
export function bearerToken(req: IncomingMessage): string | undefined {
  return bearerTokenOf(authorizationHeader(req));
}

/**
 * The request's one `Authorization` header value (or undefined), after the refusals about where
 * credentials are: two `Authorization` headers, or an `access_token` in the query string (RFC 6750 §2.3
 * is not supported, and MCP forbids it). {@link bearerTokenOf} reads the token out of the value.
 */
export function authorizationHeader(req: IncomingMessage): string | undefined {
  const header = soleAuthorizationHeader(req);
  if (req.url !== undefined && hasAccessTokenParameter(req.url)) {
    throw new OAuthError('invalid_request', 400, 'Access tokens are not accepted in the query string; send them in the Authorization header');
  }
  return header;
}

/** The bearer token of an `Authorization` header value: see {@link bearerToken}. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') {
    // Another scheme (Basic, DPoP, …) or a bare "Bearer": not bearer credentials for this resource.
    if (header.trim().toLowerCase() === 'bearer') {
      throw new OAuthError('invalid_request', 400, 'The Authorization header has the Bearer scheme but no token');
    }
    return undefined;
  }
  const token = header.slice(7).trim();
  if (!B64TOKEN.test(token)) {
    throw new OAuthError('invalid_request', 400, 'The Authorization header must be exactly "Bearer <token>"');
  }
  return token;
}

/** The one `Authorization` header, scanning the raw headers because Node keeps only the first duplicate. */
function soleAuthorizationHeader(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (value !== undefined) throw new OAuthError('invalid_request', 400, 'Send one Authorization header, not several');
      value = raw[i + 1]!;
    }
  }
  return value;
}

function hasAccessTokenParameter(url: string): boolean {
  const q = url.indexOf('?');
  if (q === -1) return false;
  return new URLSearchParams(url.slice(q + 1)).has('access_token');
}

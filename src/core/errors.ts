/**
 * Typed errors that carry their wire code and HTTP status and render themselves. The wire description is
 * short and never echoes raw input; the detailed reason (`cause`, `detail`) is for the log only.
 */

/** OAuth error codes used on the wire (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1, RFC 7591 §3.2.2, RFC 8707 §2). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_token_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata';

export interface OAuthErrorOptions {
  /** Scopes to put in a `WWW-Authenticate` challenge (space-separated on the wire). */
  scopes?: readonly string[];
  /** Detailed reason for the log; never sent to the client. */
  detail?: string;
  /** RFC 6750 §3.1: the request carried no credentials, so the challenge names no error code. */
  bare?: boolean;
  cause?: unknown;
}

/**
 * An OAuth error response.
 *
 * @example
 * throw new OAuthError('invalid_token', 401, 'The access token expired', { detail: 'exp 1700000000 < now' });
 */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  readonly scopes: readonly string[] | undefined;
  readonly detail: string | undefined;
  readonly bare: boolean;

  constructor(
    readonly code: OAuthErrorCode,
    readonly status: number,
    readonly description: string,
    options: OAuthErrorOptions = {},
  ) {
    super(description, { cause: options.cause });
    this.scopes = options.scopes;
    this.detail = options.detail;
    this.bare = options.bare ?? false;
  }

  /** The JSON body of an OAuth error response (RFC 6749 §5.2). */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** The caller's token lacks scopes: HTTP 403 with a step-up challenge listing everything the request needs. */
export function insufficientScope(scopes: readonly string[], description = 'The access token lacks a required scope'): OAuthError {
  return new OAuthError('insufficient_scope', 403, description, { scopes });
}

/** The token cannot be checked right now: fail closed with 503. */
export function unavailable(detail: string, cause?: unknown): OAuthError {
  return new OAuthError('temporarily_unavailable', 503, 'The access token cannot be verified right now; try again later', { detail, cause });
}

/** JSON-RPC 2.0 error codes used by MCP. */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** MCP: resource not found (spec 2025-11-25, server/resources). */
  ResourceNotFound: -32002,
  /** SDK convention for transport-level refusals (bad session, bad protocol version). */
  ConnectionClosed: -32000,
  RequestTimeout: -32001,
} as const;

/**
 * A JSON-RPC error. `httpStatus` is the status to use when the error ends an HTTP exchange on its own
 * (a transport-level refusal); errors answering a single request inside a session go out as 200.
 *
 * @example
 * throw new JsonRpcError(JsonRpcCode.InvalidParams, 'Unknown tool: frobnicate');
 */
export class JsonRpcError extends Error {
  override readonly name = 'JsonRpcError';

  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
    readonly httpStatus = 200,
  ) {
    super(message);
  }

  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, data: this.data };
  }
}

/**
 * A plain HTTP refusal outside OAuth and JSON-RPC semantics (404, 405, 413, 415, 403 Origin).
 * Rendered as JSON `{ "error": code, "error_description": message }`.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.message };
  }
}

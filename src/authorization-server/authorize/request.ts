import { OAuthError } from '../../core/errors.js';
import { resolveClient, type ResolvedClient } from '../cimd.js';
import { isS256Challenge, PKCE_METHOD } from '../checks/pkce.js';
import { checkResource } from '../checks/resource.js';
import { knownScopes, parseScope } from '../checks/scope.js';
import type { AuthorizationServerContext } from '../context.js';
import { matchRedirectUri } from './destination.js';

/**
 * The authorization request (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1, RFC 7636 §4.3, RFC 8707 §2), checked field
 * by field in one place, in the order RFC 6749 §4.1.2.1 and RFC 9700 §4.1 require:
 *
 * 1. `client_id` and `redirect_uri` first. While either is in doubt the browser must not be sent anywhere
 *    (an open redirector otherwise), so their errors are a {@link PageError}: an HTML page, never a
 *    redirect. `redirect_uri` must equal a registered one exactly, except that the port of an `http`
 *    loopback redirect URI is free (RFC 8252 §7.3); it is required (the token endpoint requires it too).
 * 2. Everything after that is a {@link RedirectError}: sent back to the client's redirect URI with `error`,
 *    `error_description`, `state` and `iss` (RFC 9207). `response_type` must be `code`; PKCE `S256` only
 *    (RFC 9700 §2.1.1: absent or `plain` is `invalid_request`); `resource` must be this server's one
 *    resource, defaulting to it (`invalid_target`); `scope` defaults to every scope of the resource, and a
 *    scope the resource does not define is `invalid_scope`.
 *
 * Not checked here: what the signed-in user may grant (the endpoint narrows the scopes to the user's own
 * after login). Unrecognised parameters are ignored (RFC 6749 §3.1); repeated ones are `invalid_request`.
 */

/** The parameters the authorization endpoint understands; only these are kept between the steps. */
export const REQUEST_PARAMETERS = ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scope', 'resource'] as const;

/** A checked authorization request. */
export interface AuthorizationRequest {
  readonly client: ResolvedClient;
  /** The redirect URI exactly as requested (a loopback one with the client's port). */
  readonly redirectUri: string;
  /** Echoed byte for byte; undefined when absent or empty. */
  readonly state: string | undefined;
  /** RFC 7636 S256 challenge. */
  readonly codeChallenge: string;
  readonly resource: string;
  /** Requested scopes, all defined by the resource, before narrowing to the user's own. */
  readonly scopes: readonly string[];
  /** The recognised parameters as received: what the forms carry (sealed) to the next step. */
  readonly params: Readonly<Record<string, string>>;
}

/** An error shown as a page, never redirected (unknown client, bad redirect URI, a form that cannot be trusted). */
export class PageError extends Error {
  override readonly name = 'PageError';

  constructor(
    readonly status: number,
    readonly title: string,
    /** For the person at the browser; never echoes request input. */
    readonly userMessage: string,
    /** For the log. */
    readonly detail?: string,
    /** A link that starts the same authorization request again, when one is safe to offer. */
    readonly retry?: string,
  ) {
    super(userMessage);
  }
}

/** RFC 6749 §4.1.2.1 error codes, plus RFC 8707's `invalid_target`. */
export type AuthorizationErrorCode =
  | 'invalid_request'
  | 'unauthorized_client'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'server_error'
  | 'temporarily_unavailable';

/** An error sent to the client's (already verified) redirect URI. */
export class RedirectError extends Error {
  override readonly name = 'RedirectError';

  constructor(
    readonly code: AuthorizationErrorCode,
    readonly description: string,
    readonly redirectUri: string,
    readonly state: string | undefined,
    readonly detail?: string,
  ) {
    super(description);
  }
}

/**
 * Checks an authorization request's parameters (a GET query, or the sealed copy a form brings back).
 * Throws {@link PageError} or {@link RedirectError}.
 *
 * @example
 * const request = await checkAuthorizationRequest(ctx, new URL(req.url!, 'http://x').searchParams);
 */
export async function checkAuthorizationRequest(ctx: AuthorizationServerContext, query: URLSearchParams): Promise<AuthorizationRequest> {
  const params: Record<string, string> = {};
  for (const name of REQUEST_PARAMETERS) {
    const value = query.get(name);
    if (value !== null) params[name] = value;
  }

  // 1. Who is asking, and where the answer may go: errors here are pages.
  const clientId = pageSingle(query, 'client_id');
  if (clientId === undefined) throw new PageError(400, 'Incomplete sign-in request', 'The sign-in link does not say which application is asking.', 'client_id missing');
  const client = await resolveClient(ctx, clientId);
  if (!client) throw new PageError(400, 'Unknown application', 'The sign-in link names an application this server does not know.', `unknown client ${JSON.stringify(clientId.slice(0, 200))}`);
  const requestedRedirect = pageSingle(query, 'redirect_uri');
  if (requestedRedirect === undefined) {
    throw new PageError(400, 'Incomplete sign-in request', 'The sign-in link does not say where to return to.', `redirect_uri missing (client ${client.clientId})`);
  }
  const redirectUri = matchRedirectUri(client.redirectUris, requestedRedirect);
  if (redirectUri === undefined) {
    throw new PageError(400, 'Unregistered return address', 'The application asked to return to an address it has not registered, so this sign-in was stopped.', `redirect_uri ${JSON.stringify(requestedRedirect.slice(0, 200))} not registered for ${client.clientId}`);
  }

  // 2. From here on the client's redirect URI is trusted: errors go back to it.
  const states = query.getAll('state');
  const state = states[0] === '' ? undefined : states[0];
  const fail = (code: AuthorizationErrorCode, description: string, detail?: string): RedirectError => new RedirectError(code, description, redirectUri, state, detail);
  if (states.length > 1) throw fail('invalid_request', 'The state parameter is repeated');
  for (const name of REQUEST_PARAMETERS) {
    if (name !== 'resource' && query.getAll(name).length > 1) throw fail('invalid_request', `The ${name} parameter is repeated`);
  }
  if (!client.grantTypes.includes('authorization_code')) throw fail('unauthorized_client', 'This client may not use the authorization code flow');

  const responseType = nonEmpty(query.get('response_type'));
  if (responseType === undefined) throw fail('invalid_request', 'The response_type parameter is required');
  if (responseType !== 'code') throw fail('unsupported_response_type', 'Only response_type=code is supported');

  const codeChallenge = nonEmpty(query.get('code_challenge'));
  if (codeChallenge === undefined) throw fail('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
  const method = nonEmpty(query.get('code_challenge_method'));
  if (method !== PKCE_METHOD) throw fail('invalid_request', 'Only the S256 code_challenge_method is supported', `code_challenge_method ${JSON.stringify(method ?? '(absent: plain)')}`);
  if (!isS256Challenge(codeChallenge)) throw fail('invalid_request', 'The code_challenge is not an S256 challenge');

  try {
    const resource = checkResource(ctx, query.getAll('resource').filter((value) => value !== ''));
    const scopes = knownScopes(ctx, parseScope(nonEmpty(query.get('scope'))) ?? ctx.scopes);
    if (scopes.length === 0) throw fail('invalid_scope', 'The scope parameter names no scope');
    return { client, redirectUri, state, codeChallenge, resource, scopes, params };
  } catch (error) {
    if (error instanceof OAuthError) throw fail(error.code as AuthorizationErrorCode, error.description, error.detail);
    throw error;
  }
}

/** A parameter that may appear once; repeated → a page (for the two checked before redirecting is safe). */
function pageSingle(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new PageError(400, 'Invalid sign-in request', 'The sign-in link is malformed.', `${name} repeated`);
  return nonEmpty(values[0] ?? null);
}

/** RFC 6749 §3.1: a parameter sent without a value is treated as omitted. */
function nonEmpty(value: string | null): string | undefined {
  return value === null || value === '' ? undefined : value;
}

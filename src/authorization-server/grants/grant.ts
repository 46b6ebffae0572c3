import type { TokenEndpointAuthMethod } from '../../stores/auth-types.js';
import type { ResolvedClient } from '../cimd.js';
import type { AuthorizationServerContext } from '../context.js';
import type { IssuedAccessToken } from '../tokens.js';
import { formatScope } from '../checks/scope.js';

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string;
  /** RFC 6750: always Bearer (we issue no sender-constrained tokens). */
  token_type: 'Bearer';
  expires_in: number;
  /** The granted scope, sent whenever it is not empty (§5.1 requires it when it differs from the request; clients rely on it). */
  scope?: string;
  refresh_token?: string;
}

/** What a grant handler gets once the token endpoint has parsed the form and authenticated the client. */
export interface GrantRequest {
  readonly ctx: AuthorizationServerContext;
  readonly form: URLSearchParams;
  readonly client: ResolvedClient;
  readonly method: TokenEndpointAuthMethod;
}

/** One grant type of the token endpoint: checks its parameters, issues, or throws an `OAuthError`. */
export type GrantHandler = (request: GrantRequest) => Promise<TokenResponse>;

/** Builds the response body from an issued access token and, where one was issued, a refresh token. */
export function tokenResponse(access: IssuedAccessToken, scopes: readonly string[], refreshToken?: string): TokenResponse {
  const body: TokenResponse = { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn };
  if (scopes.length > 0) body.scope = formatScope(scopes);
  if (refreshToken !== undefined) body.refresh_token = refreshToken;
  return body;
}

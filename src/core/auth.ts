/**
 * Who is calling and what they may do: the only thing the layers below the resource server know about
 * the caller. It never carries the token itself, so nothing downstream can log or forward it.
 *
 * @example
 * const auth = await verifier.verify(token);
 * if (!auth.scopes.includes('incidents:write')) throw insufficientScope(['incidents:write']);
 */
export interface AuthInfo {
  /** `sub` of the token (for client-credentials tokens, usually the client id). */
  readonly subject: string;
  /** The OAuth client the token was issued to (`client_id`, `cid`, `azp`, `appid` depending on the IdP). */
  readonly clientId: string;
  /** Granted scopes, normalised to a list whatever the IdP's claim format. */
  readonly scopes: readonly string[];
  /** `aud` as a list. */
  readonly audience: readonly string[];
  /** `iss` of the token. */
  readonly issuer: string;
  /** Expiry in seconds since the epoch. */
  readonly expiresAt: number;
  /** All verified claims (or the introspection response), for apps that need more. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Turns a bearer token into an {@link AuthInfo}, or rejects with an `OAuthError`:
 * `invalid_token` (401) when the token is not acceptable, `temporarily_unavailable` (503) when it cannot be
 * checked right now (no usable key, introspection endpoint down). It never grants access on doubt.
 */
export interface TokenVerifier {
  verify(token: string): Promise<AuthInfo>;
}

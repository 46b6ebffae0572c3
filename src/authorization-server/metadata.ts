import type { AuthorizationServerContext } from './context.js';
import { GRANTS } from './endpoints/token.js';

/** Where each endpoint lives, relative to the issuer (ARCHITECTURE §5). */
export const AS_PATHS = Object.freeze({
  authorize: '/oauth/authorize',
  token: '/oauth/token',
  register: '/oauth/register',
  revoke: '/oauth/revoke',
  introspect: '/oauth/introspect',
  userinfo: '/oauth/userinfo',
  jwks: '/.well-known/jwks.json',
});

/** Client authentication at the token and revocation endpoints (RFC 7591 §2 values). */
export const CLIENT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

/**
 * The RFC 8414 §2 authorization server metadata. Every value describes what the endpoints really do:
 *
 * - `issuer`: `ctx.issuer`, exactly (no trailing slash added or removed), the `iss` of every token and of
 *   every authorization response (RFC 9207, hence `authorization_response_iss_parameter_supported`);
 * - `response_types_supported` `["code"]`, `response_modes_supported` `["query"]`,
 *   `code_challenge_methods_supported` `["S256"]` (PKCE required; `plain` refused);
 * - `grant_types_supported`: the token endpoint's grants;
 * - `token_endpoint_auth_methods_supported`: `none` (public clients), `client_secret_basic`,
 *   `client_secret_post`; revocation the same; introspection only the two confidential methods (RFC 7662
 *   §2.1: the caller must authenticate);
 * - `client_id_metadata_document_supported`: an https `client_id` is resolved by its metadata document
 *   (MCP 2025-11-25 "Client ID Metadata Documents");
 * - `userinfo_endpoint` (registered in the IANA OAuth metadata registry from OIDC Discovery).
 *
 * @example
 * authorizationServerMetadata(ctx).token_endpoint; // 'https://mcp.example.com/oauth/token'
 */
export function authorizationServerMetadata(ctx: Pick<AuthorizationServerContext, 'issuer' | 'scopes'>): Record<string, unknown> {
  const at = (path: string) => `${ctx.issuer}${path}`;
  return {
    issuer: ctx.issuer,
    authorization_endpoint: at(AS_PATHS.authorize),
    token_endpoint: at(AS_PATHS.token),
    registration_endpoint: at(AS_PATHS.register),
    revocation_endpoint: at(AS_PATHS.revoke),
    introspection_endpoint: at(AS_PATHS.introspect),
    userinfo_endpoint: at(AS_PATHS.userinfo),
    jwks_uri: at(AS_PATHS.jwks),
    scopes_supported: [...ctx.scopes],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: Object.keys(GRANTS),
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    client_id_metadata_document_supported: true,
  };
}

/**
 * The OpenID Connect Discovery 1.0 document, built from the same object, so both carry an identical
 * `issuer` and identical endpoints. MCP clients try `/.well-known/openid-configuration` too
 * (MCP 2025-11-25 "Authorization Server Metadata Discovery").
 *
 * It stays honest about what this server is: an OAuth server with a userinfo endpoint, not an OpenID
 * Provider. We issue no ID tokens, so `id_token_signing_alg_values_supported` (REQUIRED of an OP) is
 * absent rather than claiming an algorithm nothing is signed with, and `openid` is not in
 * `scopes_supported`. `subject_types_supported` is `["public"]` (every client sees the same `sub`), and
 * `claims_supported` lists what userinfo returns.
 */
export function openIdConfiguration(ctx: Pick<AuthorizationServerContext, 'issuer' | 'scopes'>): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(ctx),
    subject_types_supported: ['public'],
    claims_supported: ['sub', 'preferred_username'],
  };
}

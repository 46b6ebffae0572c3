import type { AuthorizationServerContext } from '../../authorization-server/context.js';
import type { TokenVerifier } from '../../core/auth.js';
import type { ProtectedResourceMetadata } from '../../resource-server/metadata.js';

/**
 * What the OAuth management tools need, passed in explicitly by `serve`: nothing here is looked up from
 * globals, so tests build it from real objects (an embedded authorization server, a verifier, a fetch).
 */
export interface OAuthAdminDeps {
  /** The canonical MCP URL (`PUBLIC_URL/mcp`): the metadata's `resource`, the `aud` of tokens. */
  readonly resource: string;
  /** The issuer the metadata names: `PUBLIC_URL` with the embedded authorization server, else the configured one. */
  readonly issuer: string;
  /** The RFC 9728 document served at the well-known paths (the very object serialized there). */
  readonly protectedResourceMetadata: ProtectedResourceMetadata;
  /** The verifier the guard uses, so a token validates here exactly as it would at `/mcp`. */
  readonly verifier: TokenVerifier;
  /** The embedded authorization server, when it is on; absent with an external issuer. */
  readonly authorizationServer?: { readonly context: AuthorizationServerContext };
  /** Facts about the configuration for `mcp_oauth_get_configuration` (never a secret). */
  readonly configuration: ConfigurationFacts;
  /** For discovery and the compliance checks. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** The clock (token expiry in `mcp_oauth_validate_token`). Default: `new Date()`. */
  readonly now?: () => Date;
  /** Timeout of each HTTP request the tools make, in milliseconds. Default 5000. */
  readonly timeoutMs?: number;
}

/** How tokens are validated: the embedded AS's own keys, an external IdP's JWKS, or RFC 7662 introspection. */
export type TokenValidation = 'embedded' | 'jwt' | 'introspection';

/** Configuration facts that only `serve` knows. Secrets are not among them: only whether one is set. */
export interface ConfigurationFacts {
  readonly tokenValidation: TokenValidation;
  /** The claim-format preset of an external IdP (`okta`, `auth0`, …). */
  readonly provider?: string;
  /** The `aud` tokens must carry (the resource URL unless `--audience` says otherwise). */
  readonly audience: string;
  /** `--required-scopes`: scopes every MCP request needs. */
  readonly requiredScopes: readonly string[];
  /** The scopes a bare 401 challenge suggests. */
  readonly challengeScopes: readonly string[];
  /** `memory` or `sqlite`. */
  readonly store: string;
  /** Whether `PORTCULLIS_SECRET` is set, so the embedded AS's private keys are encrypted at rest. */
  readonly keysEncrypted: boolean;
}

/** The defaults applied once, at registration. */
export interface ResolvedDeps extends OAuthAdminDeps {
  readonly fetch: typeof fetch;
  readonly now: () => Date;
  readonly timeoutMs: number;
}

/**
 * Checks the dependencies when the tools are registered, so a wiring mistake stops start-up instead of
 * surfacing in an admin's tool call.
 *
 * @throws TypeError naming the problem.
 */
export function resolveDeps(deps: OAuthAdminDeps): ResolvedDeps {
  for (const [name, value] of [['resource', deps.resource], ['issuer', deps.issuer]] as const) {
    if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError(`oauth-admin: ${name} must be an absolute URL`);
  }
  if (deps.protectedResourceMetadata.resource !== deps.resource) throw new TypeError('oauth-admin: the protected resource metadata names another resource');
  if (!deps.protectedResourceMetadata.authorization_servers.includes(deps.issuer)) throw new TypeError('oauth-admin: the protected resource metadata does not name the issuer');
  if (deps.authorizationServer && deps.authorizationServer.context.issuer !== deps.issuer) throw new TypeError('oauth-admin: the embedded authorization server has another issuer');
  const timeoutMs = deps.timeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) throw new TypeError('oauth-admin: timeoutMs must be 1 to 60000');
  return { ...deps, fetch: deps.fetch ?? ((input, init) => globalThis.fetch(input, init)), now: deps.now ?? (() => new Date()), timeoutMs };
}

import { createUpstreamIdp, UpstreamSetupError, type UpstreamIdp } from './idp.js';
import { vaultFor, type UpstreamVault } from './vault.js';

/**
 * Federated login (the OAuth-proxy pattern, docs/authorization-server.md "Federated login"): the embedded
 * authorization server keeps its discovery, registration and metadata documents for MCP clients, but a
 * person signs in at an upstream identity provider instead of on our password page. Present on the context
 * only when configured; absent means the password login of issue 3.
 */
export interface Federation {
  readonly idp: UpstreamIdp;
  /** Seals the upstream tokens kept in the store. */
  readonly vault: UpstreamVault;
  /** The scopes a local user created for an upstream identity gets (`--upstream-user-scopes`). */
  readonly userScopes: readonly string[];
  /** Our callback (`ISSUER/oauth/upstream/callback`): the redirect URI registered at the upstream. */
  readonly callbackUrl: string;
}

/** `--upstream-*` and `PORTCULLIS_UPSTREAM_CLIENT_SECRET`. */
export interface FederationOptions {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  /** Asked of the upstream; default `openid profile email`. Must contain `openid`. */
  scopes?: readonly string[];
  /** What a new upstream user may grant: `--upstream-user-scopes`, by default the resource's basic scopes (what a bare 401 challenge asks for). */
  userScopes: readonly string[];
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export const DEFAULT_UPSTREAM_SCOPES: readonly string[] = Object.freeze(['openid', 'profile', 'email']);
/** Where the upstream sends the browser back, relative to our issuer. */
export const UPSTREAM_CALLBACK_PATH = '/oauth/upstream/callback';

/**
 * Builds federated login at start-up: discovers the upstream (once; kept for the life of the process) and
 * checks the options. `scopes` are the resource's (every `--upstream-user-scopes` value must be one of them).
 *
 * @example
 * const federation = await createFederation({ issuer: 'https://idp.example.com', clientId, clientSecret, userScopes: ['incidents:read'] }, { issuer: ctx.issuer, scopes: ctx.scopes, successorOf });
 * @throws UpstreamSetupError
 */
export async function createFederation(
  options: FederationOptions,
  server: { issuer: string; scopes: readonly string[]; successorOf(label: string): string },
): Promise<Federation> {
  const userScopes = [...new Set(options.userScopes)];
  if (userScopes.length === 0) {
    throw new UpstreamSetupError('unsuitable', 'users signing in upstream could grant no scope (the resource has no basic scope to default to): name some with --upstream-user-scopes');
  }
  const unknown = userScopes.filter((scope) => !server.scopes.includes(scope));
  if (unknown.length > 0) {
    throw new UpstreamSetupError('unsuitable', `--upstream-user-scopes names ${unknown.join(' ')}, which the resource does not define (it knows ${server.scopes.join(' ')})`);
  }
  const callbackUrl = `${server.issuer}${UPSTREAM_CALLBACK_PATH}`;
  const idp = await createUpstreamIdp({
    issuer: options.issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    scopes: options.scopes ?? DEFAULT_UPSTREAM_SCOPES,
    redirectUri: callbackUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
  return Object.freeze({ idp, vault: vaultFor(server.successorOf), userScopes: Object.freeze(userScopes), callbackUrl });
}

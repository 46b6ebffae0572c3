import { validateClientMetadata, type ValidatedClientMetadata } from '../../authorization-server/checks/client-metadata.js';
import { parseScope } from '../../authorization-server/checks/scope.js';
import { AS_PATHS } from '../../authorization-server/metadata.js';
import { hashClientSecret, randomToken } from '../../authorization-server/secrets.js';
import { ADMIN_SCOPE } from '../../authorization-server/users.js';
import { OAuthError } from '../../core/errors.js';
import type { ToolDefinition } from '../../mcp/registry.js';
import type { ClientRecord } from '../../stores/auth-types.js';
import type { ResolvedDeps } from './deps.js';
import { errorResult, structuredResult } from './lib/result.js';
import { AUTH_METHODS, registerClientInput, registerClientOutput } from './schemas.js';

/**
 * `mcp_oauth_register_client {client_name, redirect_uris?, grant_types?, scope?, token_endpoint_auth_method?}`:
 * what `portcullis clients add` does, for an admin connected over MCP. Unlike anonymous registration
 * (RFC 7591 at `/oauth/register`), an admin may create confidential clients and `client_credentials`
 * clients, which act for no user. The metadata goes through `validateClientMetadata` (admin policy:
 * redirect URI rules, grant and response type consistency, a `client_credentials` client must
 * authenticate); a scope this server does not define is refused rather than dropped, since an admin's
 * typo would otherwise make a client that silently gets less. Defaults: `client_credentials` (or
 * `authorization_code` + `refresh_token` when redirect URIs are given), `client_secret_basic`, and the
 * resource's scopes without `mcp:admin`.
 *
 * A 256-bit secret is generated, stored only as its scrypt hash, and returned once in the result
 * (`client_secret_expires_at: 0`: it does not expire). With an external issuer the tool is a tool error:
 * clients are registered at that IdP.
 *
 * @example
 * registry.tool(registerClientTool(deps));
 * // tools/call mcp_oauth_register_client {"client_name":"reporting","scope":"incidents:read"}
 * // → {"client_id":"…","client_secret":"…","grant_types":["client_credentials"],"token_endpoint":"…/oauth/token",…}
 */
export function registerClientTool(deps: ResolvedDeps): ToolDefinition<typeof registerClientInput> {
  const as = deps.authorizationServer?.context;
  return {
    name: 'mcp_oauth_register_client',
    title: 'Register an OAuth client',
    description:
      'Registers an OAuth client with the built-in authorization server: by default a confidential client_credentials client (a service acting for itself). Its secret is shown once, in this result.',
    input: registerClientInput,
    output: registerClientOutput,
    annotations: { title: 'Register an OAuth client', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    scopes: [ADMIN_SCOPE],
    async run(args, ctx) {
      if (!as) {
        return errorResult(`This server trusts the external authorization server ${deps.issuer}: register clients there. mcp_oauth_register_client works only with the built-in authorization server.`);
      }
      const scope = requestedScope(args.scope, as.scopes);
      if ('problem' in scope) return errorResult(`Not registered: ${scope.problem}.`);
      const grantTypes = args.grant_types ?? ((args.redirect_uris ?? []).length > 0 ? ['authorization_code', 'refresh_token'] : ['client_credentials']);
      let accepted: ValidatedClientMetadata;
      try {
        accepted = validateClientMetadata(
          {
            client_name: args.client_name,
            grant_types: grantTypes,
            token_endpoint_auth_method: args.token_endpoint_auth_method ?? 'client_secret_basic',
            scope: scope.value,
            ...(args.redirect_uris === undefined ? {} : { redirect_uris: args.redirect_uris }),
          },
          as,
          { authMethods: AUTH_METHODS, defaultAuthMethod: 'client_secret_basic', admin: true },
        );
      } catch (error) {
        if (error instanceof OAuthError) return errorResult(`Not registered: ${error.description} (${error.code}).`);
        throw error;
      }

      const now = as.now();
      const clientId = randomToken(16);
      const secret = accepted.tokenEndpointAuthMethod === 'none' ? undefined : randomToken();
      const record: ClientRecord = {
        clientId,
        ...(secret === undefined ? {} : { secretHash: hashClientSecret(secret) }),
        name: args.client_name,
        redirectUris: accepted.redirectUris,
        grantTypes: accepted.grantTypes,
        responseTypes: accepted.responseTypes,
        tokenEndpointAuthMethod: accepted.tokenEndpointAuthMethod,
        ...(accepted.scope === undefined ? {} : { scope: accepted.scope }),
        origin: 'admin',
        metadata: accepted.metadata,
        createdAt: now,
      };
      await as.stores.clients.create(record);
      as.logger.info({ client: clientId, method: record.tokenEndpointAuthMethod, grants: record.grantTypes, by: ctx.auth.subject }, 'client registered by an admin');

      const registration = registerClientOutput.parse({
        client_id: clientId,
        ...(secret === undefined ? {} : { client_secret: secret, client_secret_expires_at: 0 }),
        client_id_issued_at: now,
        client_name: record.name,
        grant_types: record.grantTypes,
        response_types: record.responseTypes,
        token_endpoint_auth_method: record.tokenEndpointAuthMethod,
        ...(record.scope === undefined ? {} : { scope: record.scope }),
        redirect_uris: record.redirectUris,
        token_endpoint: `${as.issuer}${AS_PATHS.token}`,
      });
      const lines = [
        `Registered client "${record.name}" (${record.grantTypes.join(', ')}; ${record.tokenEndpointAuthMethod}).`,
        `client_id: ${clientId}`,
        ...(secret === undefined ? ['No secret: a public client.'] : [`client_secret: ${secret}`, 'The secret is shown only now: it is stored hashed and cannot be shown again.']),
        `scope: ${record.scope ?? '(none)'}`,
        `token endpoint: ${registration.token_endpoint}`,
      ];
      return structuredResult(lines.join('\n'), registration);
    },
  };
}

/** The scope to register: the resource's scopes without `mcp:admin` by default; unknown scopes refused. */
function requestedScope(value: string | undefined, known: readonly string[]): { value: string } | { problem: string } {
  if (value === undefined) return { value: known.filter((scope) => scope !== ADMIN_SCOPE).join(' ') };
  let parsed: string[];
  try {
    parsed = parseScope(value) ?? [];
  } catch (error) {
    if (error instanceof OAuthError) return { problem: error.description };
    throw error;
  }
  if (parsed.length === 0) return { problem: 'scope names no scope; omit it for the default' };
  const unknown = parsed.filter((scope) => !known.includes(scope));
  if (unknown.length > 0) return { problem: `this server does not define ${unknown.map((s) => JSON.stringify(s.slice(0, 64))).join(', ')}; it defines ${known.join(' ')}` };
  return { value: parsed.join(' ') };
}

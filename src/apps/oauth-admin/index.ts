/**
 * The OAuth management tools for the MCP admin (issue 3 item 8): what an operator asks of the server's
 * OAuth set-up, over MCP, with a token holding `mcp:admin`. Every tool needs that scope; the MCP core
 * refuses any other token with a 403 `insufficient_scope` before the tool runs.
 */
import { ADMIN_SCOPE } from '../../authorization-server/users.js';
import type { Registry } from '../../mcp/registry.js';
import { complianceTool } from './compliance-tool.js';
import { configurationTool } from './configuration-tool.js';
import { resolveDeps, type OAuthAdminDeps } from './deps.js';
import { authorizationServerMetadataTool, protectedResourceMetadataTool } from './metadata-tools.js';
import { registerClientTool } from './register-client.js';
import { validateTokenTool } from './validate-token.js';

export type { ConfigurationFacts, OAuthAdminDeps, TokenValidation } from './deps.js';

/** The scopes the OAuth management tools need (for `scopes_supported` before they are registered). */
export const OAUTH_ADMIN_SCOPES: readonly string[] = [ADMIN_SCOPE];

/**
 * Registers `mcp_oauth_protected_resource_metadata`, `mcp_oauth_authorization_server_metadata`,
 * `mcp_oauth_validate_token`, `mcp_oauth_get_configuration`, `mcp_oauth_register_client` (embedded
 * authorization server only; a tool error with an external issuer) and `mcp_oauth_check_compliance`, all
 * with scope `mcp:admin`. The dependencies are checked now, so wiring mistakes stop start-up.
 *
 * @example
 * registerOAuthAdminTools(registry, {
 *   resource: 'http://127.0.0.1:9001/mcp', issuer: 'http://127.0.0.1:9001', protectedResourceMetadata: prm,
 *   verifier, authorizationServer: embedded,
 *   configuration: { tokenValidation: 'embedded', audience: resource, requiredScopes: [], challengeScopes: ['incidents:read'], store: 'sqlite', keysEncrypted: true },
 * });
 * @throws TypeError when the dependencies do not fit together (another resource or issuer in the metadata).
 */
export function registerOAuthAdminTools(registry: Registry, deps: OAuthAdminDeps): void {
  const resolved = resolveDeps(deps);
  registry
    .tool(protectedResourceMetadataTool(resolved))
    .tool(authorizationServerMetadataTool(resolved))
    .tool(validateTokenTool(resolved))
    .tool(configurationTool(resolved))
    .tool(registerClientTool(resolved))
    .tool(complianceTool(resolved));
}

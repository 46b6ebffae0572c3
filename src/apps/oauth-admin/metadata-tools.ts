import { authorizationServerMetadata } from '../../authorization-server/metadata.js';
import { ADMIN_SCOPE } from '../../authorization-server/users.js';
import type { ToolDefinition } from '../../mcp/registry.js';
import { discoverIssuer } from '../../verifiers/discovery.js';
import type { ResolvedDeps } from './deps.js';
import { errorResult, json, structuredResult } from './lib/result.js';
import { authorizationServerMetadataOutput, noInput, protectedResourceMetadataOutput } from './schemas.js';

/**
 * `mcp_oauth_protected_resource_metadata`: the RFC 9728 document this server publishes at
 * `/.well-known/oauth-protected-resource[/mcp]` — the same object, not a re-derivation.
 *
 * @example
 * registry.tool(protectedResourceMetadataTool(deps));
 * // → {"resource":"https://mcp.example.com/mcp","authorization_servers":["https://mcp.example.com"],…}
 */
export function protectedResourceMetadataTool(deps: ResolvedDeps): ToolDefinition<typeof noInput> {
  return {
    name: 'mcp_oauth_protected_resource_metadata',
    title: 'Protected resource metadata',
    description: 'Shows the RFC 9728 protected resource metadata this MCP server publishes (resource, authorization servers, scopes).',
    input: noInput,
    output: protectedResourceMetadataOutput,
    annotations: { title: 'Protected resource metadata', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    scopes: [ADMIN_SCOPE],
    run() {
      const document = deps.protectedResourceMetadata;
      return structuredResult(`RFC 9728 protected resource metadata of ${document.resource}:\n${json(document)}`, { ...document });
    },
  };
}

/**
 * `mcp_oauth_authorization_server_metadata`: the RFC 8414 metadata of the authorization server the
 * protected resource metadata names. With the embedded AS, the document it serves (built by the same
 * function); with an external issuer, the document discovered now (RFC 8414, then OpenID Connect
 * Discovery, `issuer` compared exactly, each request bounded by `timeoutMs`). A failed discovery is a tool
 * error that says which documents were tried and why each was unusable.
 *
 * @example
 * registry.tool(authorizationServerMetadataTool(deps)); // → {"issuer":"https://mcp.example.com","token_endpoint":…}
 */
export function authorizationServerMetadataTool(deps: ResolvedDeps): ToolDefinition<typeof noInput> {
  const embedded = deps.authorizationServer?.context;
  return {
    name: 'mcp_oauth_authorization_server_metadata',
    title: 'Authorization server metadata',
    description: embedded
      ? 'Shows the RFC 8414 metadata of the built-in authorization server (endpoints, grant types, PKCE methods, scopes).'
      : 'Fetches and shows the RFC 8414 (or OpenID Connect) metadata of the external authorization server this MCP server trusts.',
    input: noInput,
    output: authorizationServerMetadataOutput,
    annotations: { title: 'Authorization server metadata', readOnlyHint: true, idempotentHint: true, openWorldHint: embedded === undefined },
    scopes: [ADMIN_SCOPE],
    async run() {
      if (embedded) {
        const document = authorizationServerMetadata(embedded);
        return structuredResult(`RFC 8414 metadata of the built-in authorization server ${embedded.issuer}:\n${json(document)}`, document);
      }
      try {
        const metadata = await discoverIssuer(deps.issuer, { fetch: deps.fetch, timeoutMs: deps.timeoutMs });
        const document = { ...metadata } as Record<string, unknown>;
        return structuredResult(`Metadata of the external authorization server ${deps.issuer}:\n${json(document)}`, document);
      } catch (error) {
        return errorResult(error instanceof Error ? error.message : `Cannot discover the authorization server ${deps.issuer}`);
      }
    },
  };
}

import { ADMIN_SCOPE } from '../../authorization-server/users.js';
import type { ToolDefinition } from '../../mcp/registry.js';
import type { ResolvedDeps } from './deps.js';
import { observe } from './lib/observe.js';
import { judgeRequirements } from './lib/requirements.js';
import { structuredResult } from './lib/result.js';
import { complianceOutput, noInput } from './schemas.js';

/**
 * `mcp_oauth_check_compliance`: discovers this running server as an MCP client would — over HTTP, from
 * its public URL — and checks each MCP 2025-11-25 authorization requirement that can be seen from outside:
 * protected resource metadata at both well-known paths with the right `resource` and a non-empty
 * `authorization_servers`; the 401 challenge naming it; 404 (not 5xx) for missing well-known paths; the
 * authorization server metadata (RFC 8414, then OpenID Connect) with an identical `issuer`, `code`,
 * `S256`, both endpoints, a way for unknown clients to register, the RFC 9207 `iss` parameter; https
 * everywhere but loopback. Each is `{id, requirement, level, status: pass|fail, detail, reference}`.
 *
 * Requests go only to this server's origin and the configured issuer's, never to a URL read from a
 * response; redirects are not followed; each request times out after `timeoutMs`, and a cancelled tool
 * call aborts them. Behind a reverse proxy the public URL must be reachable from the server itself.
 *
 * @example
 * registry.tool(complianceTool(deps));
 * // → {"requirements":[{"id":"prm-path","status":"pass",…},…],"summary":{"total":14,"passed":14,"failed":0}}
 */
export function complianceTool(deps: ResolvedDeps): ToolDefinition<typeof noInput> {
  return {
    name: 'mcp_oauth_check_compliance',
    title: 'Check MCP authorization compliance',
    description:
      "Fetches this server's own discovery documents over HTTP, as an MCP client would, and checks each MCP authorization requirement (2025-11-25): protected resource metadata, the 401 challenge, authorization server metadata, PKCE S256, registration, https. Reports pass/fail per requirement.",
    input: noInput,
    output: complianceOutput,
    annotations: { title: 'Check MCP authorization compliance', readOnlyHint: true, idempotentHint: true, openWorldHint: deps.authorizationServer === undefined },
    scopes: [ADMIN_SCOPE],
    async run(_args, ctx) {
      const observations = await observe({ resource: deps.resource, issuer: deps.issuer, fetch: deps.fetch, timeoutMs: deps.timeoutMs, signal: ctx.signal });
      const requirements = judgeRequirements(observations);
      const passed = requirements.filter((r) => r.status === 'pass').length;
      const report = complianceOutput.parse({
        resource: deps.resource,
        issuer: deps.issuer,
        requirements,
        summary: { total: requirements.length, passed, failed: requirements.length - passed },
      });
      const lines = [
        `MCP authorization compliance of ${deps.resource}: ${passed} of ${requirements.length} requirements pass.`,
        ...requirements.map((r) => `${r.status === 'pass' ? 'PASS' : 'FAIL'} ${r.id} (${r.level}): ${r.requirement} — ${r.detail}`),
      ];
      return structuredResult(lines.join('\n'), report);
    },
  };
}

import { ADMIN_SCOPE } from '../../authorization-server/users.js';
import type { AuthInfo } from '../../core/auth.js';
import { OAuthError } from '../../core/errors.js';
import type { ToolDefinition } from '../../mcp/registry.js';
import type { ResolvedDeps } from './deps.js';
import { errorResult, structuredResult } from './lib/result.js';
import { validateTokenInput, validateTokenOutput } from './schemas.js';

/**
 * `mcp_oauth_validate_token {token}`: verifies a token with the verifier the guard uses — the same
 * signature, issuer, audience, expiry and type checks, the same cache — and says what the server would
 * see: `{active: true, subject, client_id, scopes, audience, issuer, expires_at, expires_in}`, or
 * `{active: false, reason}` with the refusal's short wire description (the same words a client gets in
 * `error_description`). It does not check scopes: which scopes a request needs depends on the request.
 *
 * The token is neither echoed nor logged: results are built from the verified claims only, and refusals
 * carry the verifier's own text, never the input. When the token cannot be checked right now (JWKS or
 * introspection unreachable: a 503 at `/mcp`) the result is a tool error, not "inactive".
 *
 * @example
 * registry.tool(validateTokenTool(deps));
 * // tools/call mcp_oauth_validate_token {"token":"eyJ…"} → {"active":true,"subject":"usr_…","scopes":["incidents:read"],…}
 */
export function validateTokenTool(deps: ResolvedDeps): ToolDefinition<typeof validateTokenInput> {
  return {
    name: 'mcp_oauth_validate_token',
    title: 'Validate an access token',
    description: 'Checks an access token exactly as this MCP server does (signature, issuer, audience, expiry) and shows its subject, client, scopes and expiry, or why it is refused. The token is never echoed or logged.',
    input: validateTokenInput,
    output: validateTokenOutput,
    annotations: { title: 'Validate an access token', readOnlyHint: true, idempotentHint: true, openWorldHint: deps.authorizationServer === undefined },
    scopes: [ADMIN_SCOPE],
    async run({ token }) {
      const bare = token.trim().replace(/^bearer\s+/i, '');
      let auth: AuthInfo;
      try {
        auth = await deps.verifier.verify(bare);
      } catch (error) {
        if (error instanceof OAuthError && error.code === 'invalid_token') {
          return structuredResult(`Inactive: ${error.description}.`, validateTokenOutput.parse({ active: false, reason: error.description }));
        }
        if (error instanceof OAuthError) return errorResult(`The token cannot be checked right now: ${error.description}`);
        throw error;
      }
      const expiresIn = Math.max(0, Math.floor(auth.expiresAt - deps.now().getTime() / 1000));
      const result = validateTokenOutput.parse({
        active: true,
        subject: auth.subject,
        client_id: auth.clientId,
        scopes: [...auth.scopes],
        audience: [...auth.audience],
        issuer: auth.issuer,
        expires_at: new Date(auth.expiresAt * 1000).toISOString(),
        expires_in: expiresIn,
      });
      const scopes = auth.scopes.length > 0 ? auth.scopes.join(' ') : '(none)';
      return structuredResult(`Active: ${auth.subject} via ${auth.clientId}; scopes ${scopes}; issued by ${auth.issuer} for ${auth.audience.join(', ')}; expires ${result.expires_at} (in ${expiresIn} s).`, result);
    },
  };
}

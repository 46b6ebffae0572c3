import { ADMIN_SCOPE } from '../../authorization-server/users.js';
import type { ToolDefinition } from '../../mcp/registry.js';
import type { ResolvedDeps } from './deps.js';
import { structuredResult } from './lib/result.js';
import { configurationOutput, noInput } from './schemas.js';

/**
 * `mcp_oauth_get_configuration`: how this server does OAuth — issuer and resource, embedded or external
 * authorization server (and the IdP preset), how tokens are validated, the scopes, the embedded AS's
 * token lifetime and refresh grace period, the store, and whether `PORTCULLIS_SECRET` encrypts the signing
 * keys. Facts only: no secret, no key, no password is part of {@link ResolvedDeps} to begin with.
 *
 * @example
 * registry.tool(configurationTool(deps));
 * // → {"issuer":"http://127.0.0.1:9001","mode":"embedded","token_validation":"embedded","access_token_ttl_seconds":3600,…}
 */
export function configurationTool(deps: ResolvedDeps): ToolDefinition<typeof noInput> {
  return {
    name: 'mcp_oauth_get_configuration',
    title: 'OAuth configuration',
    description: 'Shows how this server does OAuth: issuer, resource, embedded or external authorization server, token validation, scopes, token lifetime, store. Never shows secrets.',
    input: noInput,
    output: configurationOutput,
    annotations: { title: 'OAuth configuration', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    scopes: [ADMIN_SCOPE],
    run() {
      const facts = deps.configuration;
      const as = deps.authorizationServer?.context;
      const configuration = configurationOutput.parse({
        issuer: deps.issuer,
        resource: deps.resource,
        mode: as ? 'embedded' : 'external',
        provider: as ? null : (facts.provider ?? 'generic'),
        token_validation: facts.tokenValidation,
        audience: facts.audience,
        scopes_supported: [...(deps.protectedResourceMetadata.scopes_supported ?? [])],
        required_scopes: [...facts.requiredScopes],
        challenge_scopes: [...facts.challengeScopes],
        access_token_ttl_seconds: as ? as.accessTokenTtl : null,
        refresh_grace_seconds: as ? as.refreshGraceSeconds : null,
        store: facts.store,
        private_keys_encrypted: as ? facts.keysEncrypted : null,
      });
      const lines = [
        `Issuer ${configuration.issuer} (${as ? 'built-in authorization server' : `external authorization server, ${configuration.provider} claims`}); resource ${configuration.resource}.`,
        `Tokens are validated by ${describeValidation(facts.tokenValidation)}; audience ${configuration.audience}.`,
        `Scopes: ${configuration.scopes_supported.join(' ') || '(none)'}; a bare challenge asks for ${configuration.challenge_scopes.join(' ') || 'no scope'}; every request needs ${configuration.required_scopes.join(' ') || 'no particular scope'}.`,
        ...(as
          ? [
              `Access tokens live ${as.accessTokenTtl} s; refresh-token reuse grace ${as.refreshGraceSeconds === 0 ? 'off' : `${as.refreshGraceSeconds} s`}.`,
              `Signing keys are ${facts.keysEncrypted ? 'encrypted at rest with PORTCULLIS_SECRET' : 'stored UNENCRYPTED (PORTCULLIS_SECRET is not set)'}.`,
            ]
          : []),
        `Store: ${configuration.store}.`,
      ];
      return structuredResult(lines.join('\n'), configuration);
    },
  };
}

function describeValidation(validation: ResolvedDeps['configuration']['tokenValidation']): string {
  if (validation === 'embedded') return "checking the built-in authorization server's own signatures locally";
  if (validation === 'jwt') return "checking JWT signatures against the issuer's JWKS";
  return 'RFC 7662 introspection at the issuer';
}

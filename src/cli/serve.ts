import { registerIncidents, seedIncidents } from '../apps/incidents/index.js';
import { OAUTH_ADMIN_SCOPES, registerOAuthAdminTools } from '../apps/oauth-admin/index.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { Registry } from '../mcp/registry.js';
import { McpServer } from '../mcp/server.js';
import { startProtected, type Running } from './lib/protected.js';

export type { Running } from './lib/protected.js';

/** The scopes a client should ask for first (the 401 challenge); more come by step-up. */
const BASIC_SCOPES = ['incidents:read'];

/**
 * Starts the incident tracker behind the resource server: with the embedded authorization server, or
 * with an external one when `config.issuer` is set (then the AS endpoints are 404). The OAuth management
 * tools (scope `mcp:admin`) come after the tracker's. Resolves once it listens; `close()` stops it and
 * closes the store.
 */
export function serve(config: Config, logger: Logger): Promise<Running> {
  return startProtected(config, logger, async (store) => {
    const registry = new Registry();
    registerIncidents(registry, store);
    await seedIncidents(store);
    return {
      // The admin tools need the verifier and the metadata, which need these scopes: their scope is
      // counted in now and checked against the registry once they are registered.
      scopes: [...registry.scopes(), ...OAUTH_ADMIN_SCOPES],
      challengeScopes: BASIC_SCOPES,
      resourceName: 'Portcullis incident tracker',
      serving: 'the incident tracker',
      configName: 'incidents',
      start({ resource, issuer, scopes, metadata, verifier, inner, embedded }) {
        registerOAuthAdminTools(registry, {
          resource: resource.href,
          issuer,
          protectedResourceMetadata: metadata,
          verifier,
          ...(embedded ? { authorizationServer: embedded } : {}),
          configuration: {
            tokenValidation: embedded ? 'embedded' : config.introspectionUrl ? 'introspection' : 'jwt',
            provider: config.provider,
            audience: embedded ? resource.href : (config.audience ?? resource.href),
            requiredScopes: config.requiredScopes,
            challengeScopes: [...new Set([...config.requiredScopes, ...BASIC_SCOPES])],
            store: store.kind,
            keysEncrypted: config.secret !== undefined,
          },
        });
        const unpublished = registry.scopes().filter((scope) => !scopes.includes(scope));
        if (unpublished.length > 0) throw new Error(`scopes missing from scopes_supported: ${unpublished.join(' ')}`);
        const mcp = new McpServer({ registry, info: { name: 'portcullis-incidents', title: 'Portcullis incident tracker', version: '0.1.0' }, logger, sessionStore: store.sessions });
        return {
          mcp,
          // Ready when the store answers (one round trip) and, for JWT, a usable signing key is known.
          ready: async () => {
            await store.ping();
            return 'ready' in inner ? Boolean(inner.ready) : true;
          },
          close: () => mcp.close(),
        };
      },
    };
  });
}

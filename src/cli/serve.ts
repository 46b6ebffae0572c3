import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerIncidents, seedIncidents } from '../apps/incidents/index.js';
import { OAUTH_ADMIN_SCOPES, registerOAuthAdminTools } from '../apps/oauth-admin/index.js';
import { createAuthorizationServer, type AuthorizationServer } from '../authorization-server/create.js';
import type { TokenVerifier } from '../core/auth.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import { publicBaseUrl, resourceUrl } from '../core/urls.js';
import { Registry } from '../mcp/registry.js';
import { McpServer } from '../mcp/server.js';
import { Guard } from '../resource-server/guard.js';
import { metadataPaths, protectedResourceMetadataDocument } from '../resource-server/metadata.js';
import { createRequestHandler } from '../server.js';
import { openStore } from '../stores/open.js';
import { cachedVerifier, createIntrospectionVerifier, createJwtVerifier, resolveJwksUri } from '../verifiers/index.js';
import { banner } from './banner.js';

export interface Running {
  /** The MCP endpoint URL (`PUBLIC_URL/mcp`). */
  url: string;
  /** What to print for a person at start-up. */
  banner: string;
  close(): Promise<void>;
}

/** The scopes a client should ask for first (the 401 challenge); more come by step-up. */
const BASIC_SCOPES = ['incidents:read'];

/**
 * Starts the incident tracker behind the resource server: with the embedded authorization server, or
 * with an external one when `config.issuer` is set (then the AS endpoints are 404). The OAuth management
 * tools (scope `mcp:admin`) come after the tracker's. Resolves once it listens; `close()` stops it and
 * closes the store.
 */
export async function serve(config: Config, logger: Logger): Promise<Running> {
  const store = await openStore(config.store, { logger });
  const server = http.createServer();
  try {
    const registry = new Registry();
    registerIncidents(registry, store);
    await seedIncidents(store);

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const base = publicBaseUrl(config, (server.address() as AddressInfo).port);
    const resource = resourceUrl(base);
    // The admin tools need the verifier and the metadata, which need these scopes: their scope is
    // counted in now and checked against the registry once they are registered.
    const scopes = [...new Set([...registry.scopes(), ...OAUTH_ADMIN_SCOPES, ...config.requiredScopes])].sort();

    let issuer: string;
    let inner: TokenVerifier;
    let embedded: AuthorizationServer | undefined;
    if (config.issuer) {
      issuer = config.issuer;
      const audience = config.audience ?? resource.href;
      if (audience !== resource.href) {
        logger.warn({ audience, resource: resource.href }, 'the enforced audience differs from the resource URL that MCP clients send as `resource`; make your IdP issue tokens for that audience to these clients');
      }
      inner = await createVerifier(config, config.issuer, audience);
    } else {
      issuer = base;
      embedded = await createAuthorizationServer({
        store,
        issuer,
        resource: resource.href,
        scopes,
        logger,
        secret: config.secret,
        adminPassword: config.adminPassword,
        accessTokenTtl: config.accessTokenTtl,
        refreshGraceSeconds: config.refreshGraceSeconds,
        registrationPerMinute: config.registrationLimit,
        cimdAllowedHosts: config.cimdAllowedHosts,
      });
      inner = embedded.verifier;
    }

    const verifier = cachedVerifier(inner);
    const metadataUrl = `${resource.origin}${metadataPaths(resource).suffixed}`;
    const metadata = protectedResourceMetadataDocument({ resource: resource.href, authorizationServers: [issuer], scopes, resourceName: 'Portcullis incident tracker' });
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
    const guard = new Guard({ verifier, resourceMetadataUrl: metadataUrl, requiredScopes: config.requiredScopes, challengeScopes: BASIC_SCOPES, knownScopes: scopes });
    const mcp = new McpServer({ registry, info: { name: 'portcullis-incidents', title: 'Portcullis incident tracker', version: '0.1.0' }, logger, sessionStore: store.sessions });
    server.on(
      'request',
      createRequestHandler({
        mcp,
        guard,
        resource,
        metadata: JSON.stringify(metadata),
        logger,
        authorizationServer: embedded,
        allowedHosts: config.allowedHosts,
        allowedOrigins: config.allowedOrigins,
        // Ready when the store answers (one round trip) and, for JWT, a usable signing key is known.
        ready: async () => {
          await store.ping();
          return 'ready' in inner ? Boolean(inner.ready) : true;
        },
      }),
    );
    logger.info({ url: resource.href, metadata: metadataUrl, issuer, embedded: embedded !== undefined, store: store.kind }, 'listening');
    return {
      url: resource.href,
      banner: banner({ resource: resource.href, metadataUrl, issuer, embedded: embedded !== undefined, admin: embedded?.admin }),
      async close() {
        mcp.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await store.close();
      },
    };
  } catch (error) {
    server.close();
    await store.close();
    throw error;
  }
}

async function createVerifier(config: Config, issuer: string, audience: string): Promise<TokenVerifier> {
  if (config.introspectionUrl) {
    return createIntrospectionVerifier({
      introspectionUrl: config.introspectionUrl,
      issuer,
      clientId: config.clientId!,
      clientSecret: config.clientSecret!,
      audience,
      provider: config.provider,
    });
  }
  const jwksUri = config.jwksUri ?? (await resolveJwksUri(issuer));
  return createJwtVerifier({ issuer, audience, jwksUri, algorithms: config.algorithms, provider: config.provider, requireAtJwt: config.requireAtJwt });
}

/**
 * What `serve` and `proxy` share: the store, the embedded authorization server or an external issuer's
 * verifier, the RFC 9728 metadata, the guard, the HTTP layer, listening, the `listening` log line and the
 * banner. Each command brings only its MCP endpoint (the incident tracker's `McpServer`, or the gateway).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions } from '../../authorization-server/create.js';
import { UpstreamSetupError } from '../../authorization-server/upstream/idp.js';
import type { TokenVerifier } from '../../core/auth.js';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { publicBaseUrl, resourceUrl } from '../../core/urls.js';
import { Guard } from '../../resource-server/guard.js';
import { metadataPaths, protectedResourceMetadataDocument, type ProtectedResourceMetadata } from '../../resource-server/metadata.js';
import { createRequestHandler, type McpEndpoint, type ServerOptions } from '../../server.js';
import { openStore } from '../../stores/open.js';
import type { Store } from '../../stores/types.js';
import { cachedVerifier, createIntrospectionVerifier, createJwtVerifier, resolveJwksUri } from '../../verifiers/index.js';
import { banner } from '../banner.js';
import { failure, usage } from './admin.js';

export interface Running {
  /** The MCP endpoint URL (`PUBLIC_URL/mcp`). */
  url: string;
  /** What to print for a person at start-up. */
  banner: string;
  close(): Promise<void>;
}

/** The resource server built around an app, handed to {@link ProtectedApp.start}. */
export interface Protection {
  readonly store: Store;
  /** The canonical resource URL (`PUBLIC_URL/mcp`). */
  readonly resource: URL;
  /** The authorization server clients are sent to (`PUBLIC_URL` when it is the embedded one). */
  readonly issuer: string;
  /** `scopes_supported`: the app's scopes and `--required-scopes`, sorted. */
  readonly scopes: readonly string[];
  readonly metadata: ProtectedResourceMetadata;
  readonly metadataUrl: string;
  /** What the guard verifies tokens with (cached). */
  readonly verifier: TokenVerifier;
  /** The verifier under the cache (a JWT verifier's `ready` tells whether a signing key is known). */
  readonly inner: TokenVerifier;
  /** The embedded authorization server, unless an external issuer is configured. */
  readonly embedded: AuthorizationServer | undefined;
  /** Where this process listens, for requests it makes to itself (the web console's MCP calls). */
  readonly address: AddressInfo;
}

/** The app's part, once the resource server exists. */
export interface AppEndpoint {
  readonly mcp: McpEndpoint;
  /** Server-rendered pages answered beside the MCP endpoint (the gateway's web console). */
  readonly pages?: ServerOptions['pages'];
  /** `/ready`: whether what the app depends on answers (a rejection counts as not ready). */
  ready(): Promise<boolean>;
  close(): void | Promise<void>;
}

/** What an app behind the resource server declares before it is built. */
export interface ProtectedApp {
  /** The scopes its items need (`--required-scopes` is added). */
  readonly scopes: readonly string[];
  /** What a bare 401 challenge asks a client for first; more come by step-up. */
  readonly challengeScopes: readonly string[];
  /** `resource_name` of the RFC 9728 document. */
  readonly resourceName: string;
  /** The banner's "Portcullis is serving … at URL". */
  readonly serving: string;
  /** The server's key in the banner's client configuration. */
  readonly configName: string;
  /** More fields for the `listening` log line. */
  readonly logFields?: Readonly<Record<string, unknown>>;
  start(protection: Protection): AppEndpoint | Promise<AppEndpoint>;
}

/**
 * Opens the store, lets `prepare` declare the app (it may seed the store), listens, builds the embedded
 * authorization server (or, with `config.issuer`, the external issuer's verifier: then the AS endpoints
 * are 404), the metadata and the guard, then the app's endpoint behind the HTTP layer. Resolves once it
 * listens; `close()` stops it and closes the store. A failure on the way releases what was opened.
 *
 * @example
 * const running = await startProtected(config, logger, (store) => ({ scopes, challengeScopes, resourceName, serving, configName, start: () => endpoint }));
 * process.stderr.write(running.banner);
 */
export async function startProtected(config: Config, logger: Logger, prepare: (store: Store) => ProtectedApp | Promise<ProtectedApp>): Promise<Running> {
  const store = await openStore(config.store, { logger });
  const server = http.createServer();
  let endpoint: AppEndpoint | undefined;
  try {
    const app = await prepare(store);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const base = publicBaseUrl(config, (server.address() as AddressInfo).port);
    const resource = resourceUrl(base);
    const scopes = [...new Set([...app.scopes, ...config.requiredScopes])].sort();

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
        ...federationOptions(config, app.challengeScopes),
      }).catch(upstreamSetupFailure);
      inner = embedded.verifier;
    }

    const verifier = cachedVerifier(inner);
    const metadataUrl = `${resource.origin}${metadataPaths(resource).suffixed}`;
    const metadata = protectedResourceMetadataDocument({ resource: resource.href, authorizationServers: [issuer], scopes, resourceName: app.resourceName });
    endpoint = await app.start({ store, resource, issuer, scopes, metadata, metadataUrl, verifier, inner, embedded, address: server.address() as AddressInfo });
    const guard = new Guard({ verifier, resourceMetadataUrl: metadataUrl, requiredScopes: config.requiredScopes, challengeScopes: app.challengeScopes, knownScopes: scopes });
    server.on(
      'request',
      createRequestHandler({
        mcp: endpoint.mcp,
        guard,
        resource,
        metadata: JSON.stringify(metadata),
        logger,
        authorizationServer: embedded,
        pages: endpoint.pages,
        allowedHosts: config.allowedHosts,
        allowedOrigins: config.allowedOrigins,
        ready: () => endpoint!.ready(),
      }),
    );
    logger.info({ url: resource.href, metadata: metadataUrl, issuer, embedded: embedded !== undefined, store: store.kind, ...app.logFields }, 'listening');
    const started = endpoint;
    return {
      url: resource.href,
      banner: banner({ resource: resource.href, metadataUrl, issuer, embedded: embedded !== undefined, admin: embedded?.admin, serving: app.serving, configName: app.configName, upstream: embedded?.context.federation?.idp.issuer }),
      async close() {
        await started.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await store.close();
      },
    };
  } catch (error) {
    await endpoint?.close();
    server.close();
    await store.close();
    throw error;
  }
}

/**
 * Federated login's options (`--upstream-*`, already checked by `loadConfig`); the users it creates may grant
 * `--upstream-user-scopes`, by default what a client needs first: the app's bare 401 challenge (its basic
 * read scope) and `--required-scopes`.
 */
function federationOptions(config: Config, challengeScopes: readonly string[]): Pick<AuthorizationServerOptions, 'upstream'> {
  if (config.upstreamIssuer === undefined || config.upstreamClientId === undefined) return {};
  return {
    upstream: {
      issuer: config.upstreamIssuer,
      clientId: config.upstreamClientId,
      clientSecret: config.upstreamClientSecret,
      ...(config.upstreamScopes ? { scopes: config.upstreamScopes } : {}),
      userScopes: config.upstreamUserScopes ?? [...new Set([...challengeScopes, ...config.requiredScopes])],
    },
  };
}

/** An upstream that cannot be discovered stops start-up (exit 1); one that cannot serve, or a bad scope, is configuration (exit 2). */
function upstreamSetupFailure(error: unknown): never {
  if (error instanceof UpstreamSetupError) throw error.kind === 'unreachable' ? failure(`federated login: ${error.message}`) : usage(`federated login: ${error.message}`);
  throw error;
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

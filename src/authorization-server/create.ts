import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenVerifier } from '../core/auth.js';
import type { Logger } from '../core/log.js';
import type { Store } from '../stores/types.js';
import { cimdOptions } from './cimd.js';
import type { AuthorizationServerContext } from './context.js';
import { createKeyRing } from './keys.js';
import { routeAuthorizationServer } from './router.js';
import { serverSecrets } from './secrets.js';
import { createEmbeddedVerifier } from './tokens.js';
import { createFederation, type FederationOptions } from './upstream/federation.js';
import { ADMIN_SCOPE, bootstrapAdmin, type BootstrapResult } from './users.js';

export interface AuthorizationServerOptions {
  store: Store;
  /** `PUBLIC_URL` without a trailing slash. */
  issuer: string;
  /** `PUBLIC_URL/mcp`. */
  resource: string;
  /** The resource's scopes (the app's, plus `--required-scopes`); `mcp:admin` is added. */
  scopes: readonly string[];
  logger: Logger;
  /** `PORTCULLIS_SECRET`. */
  secret?: string;
  /** `PORTCULLIS_ADMIN_PASSWORD`. */
  adminPassword?: string;
  accessTokenTtl?: number;
  refreshGraceSeconds?: number;
  registrationPerMinute?: number;
  cimdAllowedHosts?: readonly string[];
  /** Federated login (`--upstream-issuer` …): the upstream is discovered here, at start-up. Absent: password login. */
  upstream?: FederationOptions;
  /** Epoch seconds. */
  now?: () => number;
}

export interface AuthorizationServer {
  readonly context: AuthorizationServerContext;
  /** Answers the request when `path` is one of the AS's and resolves true; false otherwise. */
  route(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Verifies the access tokens this AS issues, locally. */
  readonly verifier: TokenVerifier;
  /** The first user, when this start created it (the banner prints the password once). */
  readonly admin: BootstrapResult;
}

const DAY = 24 * 60 * 60;

/**
 * Builds the embedded authorization server over a store: server secrets (`PORTCULLIS_SECRET` or the
 * store's), the signing keys (the first one created if the store has none — once, whatever the number of
 * instances), the first user `admin` on an empty store, and the routes of ARCHITECTURE §5. With `upstream`
 * (federated login) the upstream is discovered here; `UpstreamSetupError` when it cannot be used.
 *
 * @example
 * const as = await createAuthorizationServer({ store, issuer: 'http://127.0.0.1:9001', resource: 'http://127.0.0.1:9001/mcp', scopes, logger });
 * if (await as.route(path, req, res)) return;
 */
export async function createAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const accessTokenTtl = options.accessTokenTtl ?? 3600;
  const secrets = await serverSecrets({ configured: options.secret, store: options.store, logger: options.logger });
  const keys = await createKeyRing({ store: options.store, encryptionKey: secrets.encryptionKey, logger: options.logger, accessTokenTtl, now });
  const scopes = [...new Set([...options.scopes, ADMIN_SCOPE])].sort();
  const federation = options.upstream && (await createFederation(options.upstream, { issuer: options.issuer, scopes, successorOf: secrets.successorOf }));
  if (federation) {
    options.logger.info({ upstream: federation.idp.issuer, redirectUri: federation.callbackUrl, clientAuth: federation.idp.authMethod, userScopes: federation.userScopes }, 'federated login: people sign in at the upstream');
    if (secrets.source === 'store') {
      options.logger.warn('PORTCULLIS_SECRET is not set: upstream refresh tokens are encrypted under a key kept in the same store. Set PORTCULLIS_SECRET so that a copy of the store alone does not reveal them.');
    }
  }
  const context: AuthorizationServerContext = {
    issuer: options.issuer,
    resource: options.resource,
    scopes,
    stores: options.store,
    keys,
    accessTokenTtl,
    refreshTokenTtl: 30 * DAY,
    refreshGraceSeconds: options.refreshGraceSeconds ?? 30,
    codeTtl: 60,
    successorOf: secrets.successorOf,
    secureCookies: new URL(options.issuer).protocol === 'https:',
    registrationPerMinute: options.registrationPerMinute ?? 30,
    cimd: cimdOptions({ allowedHosts: options.cimdAllowedHosts ?? [] }),
    ...(federation ? { federation } : {}),
    now,
    logger: options.logger,
  };
  const admin = await bootstrapAdmin({ store: options.store, logger: options.logger, scopes: options.scopes, password: options.adminPassword });
  return {
    context,
    route: (path, req, res) => routeAuthorizationServer(context, path, req, res),
    verifier: createEmbeddedVerifier(context),
    admin,
  };
}

/**
 * The gateway's web console (docs/gateway.md, "Web console"): server-rendered pages, escaped, with no
 * script, under the pages' CSP (`web/layout.ts`), for a person with a browser:
 *
 * | path | |
 * |---|---|
 * | `GET /` | status: the resource URL, whether the backend answers (where it is: administrators only), who is signed in |
 * | `GET /oauth/login`, `GET /oauth/callback` | log in through the embedded AS, as its own OAuth client (`login.ts`) |
 * | `GET /oauth/status` | `{ authenticated, user, scopes, expires_at }` of the browser's session |
 * | `POST /oauth/logout` | end the session |
 * | `GET /tools`, `POST /tools/call` | the backend's tools, called through the gateway as the user (`tools.ts`) |
 * | `GET /admin/{clients,grants,sessions}` + `POST …/{remove,revoke,end}` | administrators (`mcp:admin`) only (`admin.ts`) |
 *
 * All relative to `PUBLIC_URL`'s path. Every POST passes `lib/post.ts` (Origin, CSRF token bound to the
 * session); every answer is `no-store` and unframeable; no page, cookie or log line carries a token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSealer } from '../authorization-server/authorize/seal.js';
import type { AuthorizationServer } from '../authorization-server/create.js';
import { deriveKey } from '../authorization-server/secrets.js';
import type { TokenVerifier } from '../core/auth.js';
import { HttpError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { isStoreUnavailable, reportStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from '../stores/outage.js';
import { adminClients, adminGrants, adminSessions, endGatewaySession, removeClient, revokeGrant } from './admin.js';
import { registerConsoleClient } from './client.js';
import { ConsoleError, type BackendStatus, type ConsoleContext, type Handler, type SessionAdmin } from './context.js';
import { signedIn } from './current.js';
import { sendPage } from './lib/respond.js';
import { callback, login } from './login.js';
import { logout } from './logout.js';
import { LoopbackMcp } from './mcp.js';
import { consolePage, errorBody } from './pages/shell.js';
import { ConsoleSessions } from './sessions.js';
import { sessionStatus, statusPage } from './status.js';
import { toolsCall, toolsList } from './tools.js';

/** Validated when the console is built, so a bad value fails at start-up. */
export interface ConsoleOptions {
  /** The embedded authorization server: the console is one of its clients. */
  readonly authorizationServer: AuthorizationServer;
  /** Verifies the AS's access tokens (the resource server's verifier). */
  readonly verifier: TokenVerifier;
  /** `PUBLIC_URL/mcp`. */
  readonly resource: URL;
  /** Where this process listens: the console's MCP requests go there, as any client's would. */
  readonly address: AddressInfo;
  readonly backend: BackendStatus;
  readonly gateway: SessionAdmin;
  readonly logger: Logger;
  /** Absolute lifetime of a console session (default 8 hours). */
  readonly sessionTtlSeconds?: number;
  /** A console session unused this long ends (default 1 hour). */
  readonly sessionIdleSeconds?: number;
  /** Most console sessions at once (default 10,000; a new one beyond ends the oldest). */
  readonly maxSessions?: number;
}

/** The console, for the HTTP layer's `pages` option. */
export interface WebConsole {
  /** Answers the request when `path` is one of the console's and resolves true; false otherwise. */
  route(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Forgets every console session and releases the loopback connections. */
  close(): void;
}

type Routes = ReadonlyMap<string, Partial<Record<'GET' | 'POST', Handler>>>;

/** The label the login cookie's sealing key is derived under (see `authorize/seal.ts` for the scheme). */
const SEAL_LABEL = 'portcullis/v1/console-seal';

/**
 * Registers the console's OAuth client in the store (`client.ts`) and builds the console.
 *
 * @example
 * const webConsole = await createConsole({ authorizationServer: embedded, verifier, resource, address, backend, gateway, logger });
 * createRequestHandler({ …, pages: webConsole });
 */
export async function createConsole(options: ConsoleOptions): Promise<WebConsole> {
  const as = options.authorizationServer.context;
  const issuer = new URL(as.issuer);
  const base = issuer.pathname.replace(/\/$/, '');
  const redirectUri = `${as.issuer}/oauth/callback`;
  const mcp = new LoopbackMcp({ address: options.address, resource: options.resource });
  const ctx: ConsoleContext = {
    as,
    verifier: options.verifier,
    base,
    origin: issuer.origin,
    resource: options.resource.href,
    client: await registerConsoleClient(as, redirectUri),
    redirectUri,
    sealer: createSealer(deriveKey(as.successorOf(SEAL_LABEL), `${SEAL_LABEL}-aes256gcm`)),
    sessions: new ConsoleSessions({
      ttlSeconds: options.sessionTtlSeconds ?? 8 * 3600,
      idleSeconds: options.sessionIdleSeconds ?? 3600,
      maxSessions: options.maxSessions ?? 10_000,
      secureCookies: as.secureCookies,
      now: as.now,
    }),
    mcp,
    backend: options.backend,
    gateway: options.gateway,
    logger: options.logger,
  };
  const routes = routeTable(base);
  return {
    async route(path, req, res) {
      const route = routes.get(path);
      if (route === undefined) return false;
      await answer(ctx, route, req, res);
      return true;
    },
    close() {
      ctx.sessions.clear();
      mcp.close();
    },
  };
}

function routeTable(base: string): Routes {
  const table = new Map<string, Partial<Record<'GET' | 'POST', Handler>>>([
    ['/', { GET: statusPage }],
    ['/oauth/login', { GET: login }],
    ['/oauth/callback', { GET: callback }],
    ['/oauth/status', { GET: sessionStatus }],
    ['/oauth/logout', { POST: logout }],
    ['/tools', { GET: toolsList }],
    ['/tools/call', { POST: toolsCall }],
    ['/admin/clients', { GET: adminClients }],
    ['/admin/clients/remove', { POST: removeClient }],
    ['/admin/grants', { GET: adminGrants }],
    ['/admin/grants/revoke', { POST: revokeGrant }],
    ['/admin/sessions', { GET: adminSessions }],
    ['/admin/sessions/end', { POST: endGatewaySession }],
  ]);
  const routes = new Map([...table].map(([path, methods]) => [`${base}${path}`, methods]));
  if (base !== '') routes.set(base, { GET: statusPage });
  return routes;
}

async function answer(ctx: ConsoleContext, route: Partial<Record<'GET' | 'POST', Handler>>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const handler = method === 'GET' || method === 'POST' ? route[method] : undefined;
  try {
    if (handler === undefined) {
      const allow = Object.keys(route).join(', ');
      throw new ConsoleError(405, 'Method not allowed', `This page answers ${allow} only.`, { headers: { allow }, detail: `${req.method} on a console page` });
    }
    await handler(ctx, req, res);
  } catch (error) {
    await renderError(ctx, req, res, error);
  }
}

/** Renders what a handler threw as a page: its own status for a `ConsoleError`, 503 for a store outage, else 500. */
async function renderError(ctx: ConsoleContext, req: IncomingMessage, res: ServerResponse, error: unknown): Promise<void> {
  if (res.headersSent) {
    ctx.logger.error({ err: error }, 'web console: error after the response started');
    res.destroy();
    return;
  }
  let failure: ConsoleError;
  if (error instanceof ConsoleError) failure = error;
  else if (error instanceof HttpError) failure = new ConsoleError(error.status, 'Request refused', error.message, { headers: error.headers });
  else if (isStoreUnavailable(error)) {
    reportStoreUnavailable(ctx.logger, error);
    failure = new ConsoleError(503, 'Temporarily unavailable', 'The server cannot reach its store; try again in a moment.', { headers: { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) } });
  } else {
    ctx.logger.error({ err: error }, 'web console: unhandled error');
    failure = new ConsoleError(500, 'Something went wrong', 'The server failed to answer this page. Try again.');
  }
  if (failure.status < 500) ctx.logger.info({ status: failure.status, reason: failure.detail ?? failure.title }, 'web console refused');
  // The navigation of the person's session, when it can still be had.
  const viewer = failure.status === 503 || failure.login ? undefined : (await signedIn(ctx, req).catch(() => undefined))?.viewer;
  const page = consolePage({ title: failure.title, body: errorBody(failure.userMessage, { base: ctx.base, login: failure.login }), base: ctx.base, viewer });
  if (!req.readableEnded) req.resume();
  sendPage(res, failure.status, page, { headers: failure.headers, cookies: failure.cookies });
}

import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AuthInfo } from './core/auth.js';
import { HttpError, JsonRpcError, OAuthError } from './core/errors.js';
import { sendJson } from './core/http.js';
import { RequestLog, type Logger } from './core/log.js';
import { OriginPolicy } from './core/origin.js';
import type { Guard } from './resource-server/guard.js';
import { metadataPaths } from './resource-server/metadata.js';
import { handleRest, type RestEndpoint } from './rest.js';
import { isStoreUnavailable, reportStoreUnavailable, STORE_RETRY_AFTER_SECONDS } from './stores/outage.js';

/** What the HTTP layer needs of the MCP core (`McpServer` satisfies it). */
export interface McpEndpoint extends RestEndpoint {
  handle(req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void>;
}

export interface ServerOptions {
  mcp: McpEndpoint;
  guard: Guard;
  /** The canonical resource URL (`PUBLIC_URL/mcp`). */
  resource: URL;
  /** Serialized RFC 9728 document. */
  metadata: string;
  logger: Logger;
  allowedHosts?: readonly string[];
  allowedOrigins?: readonly string[];
  /** The embedded authorization server, when it is on: its paths are answered before the MCP endpoint's. */
  authorizationServer?: { route(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> };
  /**
   * Server-rendered pages (the gateway's web console), answered after the AS's paths and before the MCP
   * endpoint's Origin check: they are same-origin pages with their own CSRF and Origin checks on POST.
   */
  pages?: { route(path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> };
  /** Whether the dependencies (store, JWKS) are reachable, for `/ready`. */
  ready?: () => Promise<boolean>;
}

const CORS_EXPOSE = 'Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate';
const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID';

/**
 * The HTTP layer of `serve`: Host/Origin checks (before authentication), CORS, the RFC 9728 metadata, the
 * bearer guard, then the MCP endpoint and its REST conveniences. One log line per request.
 *
 * @example
 * const server = createServer({ mcp, guard, resource: new URL('http://127.0.0.1:9001/mcp'), metadata, logger });
 * server.listen(9001, '127.0.0.1');
 */
export function createServer(options: ServerOptions): http.Server {
  return http.createServer(createRequestHandler(options));
}

/** The request listener behind {@link createServer}, for a server that is already listening (port 0). */
export function createRequestHandler(options: ServerOptions): http.RequestListener {
  const policy = new OriginPolicy({ publicUrl: new URL(options.resource.origin), allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins });
  const { suffixed, root } = metadataPaths(options.resource);
  const mcpPath = options.resource.pathname.replace(/\/$/, '') || '/';
  const restPrefix = `${mcpPath === '/' ? '' : mcpPath}/`;
  const { guard, mcp, logger } = options;

  async function route(req: IncomingMessage, res: ServerResponse, log: RequestLog): Promise<void> {
    if (!policy.hostAllowed(req.headers.host)) throw new HttpError(403, 'forbidden', 'The Host header does not name this server');

    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);

    if (path === suffixed || path === root) {
      if (req.method === 'OPTIONS') return preflight(res, '*');
      if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed('GET');
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'cache-control': 'public, max-age=3600' });
      res.end(req.method === 'HEAD' ? undefined : options.metadata);
      return;
    }
    if (path === '/health') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready') {
      const ready = options.ready ? await options.ready().catch(() => false) : true;
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable' });
    }

    // The AS's endpoints are public and CORS-open where browsers call them (its router decides), so they
    // come before the Origin check that guards the MCP endpoint.
    if (options.authorizationServer && (await options.authorizationServer.route(path, req, res))) return;
    if (options.pages && (await options.pages.route(path, req, res))) return;

    const isMcp = path === mcpPath;
    if (!isMcp && !path.startsWith(restPrefix)) throw new HttpError(404, 'not_found', 'No such endpoint');
    // The public documents above are readable from any origin; the MCP endpoint only from allowed ones.
    const origin = req.headers.origin;
    if (!policy.originAllowed(origin)) throw new HttpError(403, 'forbidden', 'Requests from this Origin are not allowed');
    if (origin !== undefined) {
      if (req.method === 'OPTIONS') return preflight(res, origin);
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', CORS_EXPOSE);
      res.setHeader('vary', 'Origin');
    }

    const auth = await guard.authenticate(req, log);
    try {
      if (isMcp) await mcp.handle(req, res, auth, log);
      else await handleRest(mcp, path.slice(restPrefix.length), url, req, res, auth, log);
    } catch (error) {
      // The MCP core raises insufficient_scope before writing: widen it into the step-up challenge.
      if (error instanceof OAuthError && error.code === 'insufficient_scope') throw guard.stepUp(auth, error.scopes ?? []);
      throw error;
    }
  }

  return (req, res) => {
    const started = performance.now();
    const log = new RequestLog();
    // 'close' comes exactly once per response, finished or not (so no `once` wrapper is needed).
    res.on('close', () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      log.request = `${req.method} ${q === -1 ? url : url.slice(0, q)}`;
      log.status = res.statusCode;
      log.ms = Math.round((performance.now() - started) * 100) / 100;
      // Every refusal past authentication names itself; what is left was allowed.
      if (log.decision === undefined && log.subject !== undefined) log.decision = 'allow';
      if (!res.writableFinished) log.aborted = true;
      logger.info(log, 'request');
    });
    route(req, res, log).catch((error: unknown) => fail(res, error, log));
  };

  function fail(res: ServerResponse, error: unknown, log: RequestLog): void {
    if (res.headersSent) {
      logger.error({ err: error }, 'error after the response started');
      res.destroy();
      return;
    }
    if (error instanceof OAuthError) {
      if (error.detail) logger.debug({ reason: error.detail }, 'refused');
      return guard.refuse(res, error, log);
    }
    if (error instanceof HttpError) {
      log.decision ??= error.code;
      return sendJson(res, error.status, error.toJSON(), error.headers);
    }
    if (isStoreUnavailable(error)) {
      // Fail closed: without the store nothing is granted; the client retries.
      reportStoreUnavailable(logger, error);
      log.decision = 'store_unavailable';
      return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'The server cannot reach its store; try again later' }, { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) });
    }
    if (error instanceof JsonRpcError) {
      log.decision ??= 'bad_request';
      return sendJson(res, error.httpStatus, { jsonrpc: '2.0', id: null, error: error.toJSON() });
    }
    logger.error({ err: error }, 'unhandled error');
    log.decision = 'error';
    sendJson(res, 500, { error: 'server_error', error_description: 'Internal server error' });
  }
}

function preflight(res: ServerResponse, origin: string): void {
  res.writeHead(204, {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
    'access-control-allow-headers': CORS_ALLOW_HEADERS,
    'access-control-expose-headers': CORS_EXPOSE,
    'access-control-max-age': '600',
    vary: 'Origin',
  });
  res.end();
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method_not_allowed', `Use ${allow}`, { allow });
}

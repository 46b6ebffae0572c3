/**
 * The gateway: a Streamable HTTP pass-through to a backend MCP server that takes the MCP core's place
 * behind the HTTP layer (`McpEndpoint`), so Host/Origin checks, the RFC 9728 metadata, the embedded
 * authorization server, the bearer guard and the request log are the same as `serve`'s.
 *
 * What it adds (docs/gateway.md): one backend session per client session, bound to the caller; the
 * per-tool scope check before forwarding (`tool-scopes.ts`); the caller's identity in every request's
 * `_meta`, never the token (`identity.ts`); the header policy (`headers.ts`); `tools/list` annotated with
 * each tool's scopes; backend failures as 502 or JSON-RPC errors (`relay.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '../core/auth.js';
import { HttpError } from '../core/errors.js';
import { createLogger, type Logger, type RequestLog } from '../core/log.js';
import { handleOther } from '../mcp/transport.js';
import type { CallToolResult, ReadResourceResult, Resource } from '../mcp/types.js';
import type { McpEndpoint } from '../server.js';
import { abandonOn, discard, type Backend } from './backend.js';
import type { GatewayCore } from './context.js';
import { backendHeaders } from './headers.js';
import { forwardPost } from './post.js';
import { GatewaySessions, type GatewaySession } from './sessions.js';
import { ToolScopes } from './tool-scopes.js';
import { forwardDelete, forwardGet } from './transport.js';

/** A client session as {@link Gateway.listSessions} describes it; times in ms. */
export interface GatewaySessionInfo {
  readonly id: string;
  readonly subject: string;
  readonly clientId: string;
  readonly createdAt: number;
  readonly lastSeen: number;
}

/** Validated when the gateway is built, so a bad value fails at start-up. */
export interface GatewayOptions {
  backend: Backend;
  /** The per-tool scopes (default: none, every tool open to any valid token). */
  toolScopes?: ToolScopes;
  /** Where backend failures are logged (default: nowhere). */
  logger?: Logger;
  /** Largest request body (default 4 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** A session unused for this long expires, here and on the backend (default 30 minutes). */
  sessionIdleMs?: number;
  /** Most sessions at once; `initialize` beyond gets 503 (default 10,000). */
  maxSessions?: number;
  /** The clock, in ms. */
  now?: () => number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`Gateway: ${name} must be a positive number`);
  return value;
}

/**
 * @example
 * const gateway = new Gateway({ backend: createHttpBackend({ url: new URL('http://127.0.0.1:8080/mcp') }), toolScopes });
 * server.on('request', createRequestHandler({ mcp: gateway, guard, resource, metadata, logger }));
 */
export class Gateway implements McpEndpoint {
  private readonly core: GatewayCore;

  constructor(options: GatewayOptions) {
    if (options.backend === undefined) throw new TypeError('Gateway: backend is required');
    const logger = options.logger ?? createLogger('silent');
    const backend = options.backend;
    this.core = {
      backend,
      toolScopes: options.toolScopes ?? ToolScopes.none(),
      logger,
      maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes, 4 * 1024 * 1024),
      sessions: new GatewaySessions({
        idleMs: positive('sessionIdleMs', options.sessionIdleMs, 30 * 60_000),
        maxSessions: positive('maxSessions', options.maxSessions, 10_000),
        now: options.now ?? Date.now,
        onExpire: (session) => endBackendSession(backend, session, logger),
      }),
    };
  }

  /**
   * Serves POST|GET|DELETE (405 for others) for an already-authenticated caller. Rejects with an
   * OAuthError (`insufficient_scope`) before forwarding anything when a `tools/call` needs scopes the
   * token lacks; every other outcome is written to `res`.
   */
  handle(req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
    switch (req.method) {
      case 'POST':
        return forwardPost(this.core, req, res, auth, log);
      case 'GET':
        return forwardGet(this.core, req, res, auth, log);
      case 'DELETE':
        return forwardDelete(this.core, req, res, auth, log);
      default:
        handleOther(res, log);
        return Promise.resolve();
    }
  }

  /** How many client sessions are open. */
  get sessionCount(): number {
    return this.core.sessions.size;
  }

  /** The open client sessions, for the web console's administrators (never the backend's ids). */
  listSessions(): GatewaySessionInfo[] {
    return this.core.sessions.list().map(({ id, subject, clientId, createdAt, lastSeen }) => ({ id, subject, clientId, createdAt, lastSeen }));
  }

  /**
   * Ends a client session as an administrator: forgotten here (its client gets 404 and initializes again)
   * and ended on the backend (a best-effort `DELETE`). False when there is no such session.
   */
  endSession(id: string): boolean {
    const session = this.core.sessions.list().find((candidate) => candidate.id === id);
    if (session === undefined) return false;
    this.core.sessions.forget(session);
    endBackendSession(this.core.backend, session, this.core.logger);
    return true;
  }

  // The REST conveniences of `serve` (GET /mcp/tools, POST /mcp/tools/call…) need a session with the
  // backend of their own; they come with a later slice. Until then they say so.
  listTools(): unknown[] {
    throw restUnavailable();
  }

  callTool(): Promise<CallToolResult> {
    return Promise.reject(restUnavailable());
  }

  listResources(): Promise<Resource[]> {
    return Promise.reject(restUnavailable());
  }

  readResource(): Promise<ReadResourceResult> {
    return Promise.reject(restUnavailable());
  }

  listPrompts(): unknown[] {
    throw restUnavailable();
  }

  /** Stops the idle sweep and releases the backend's connections. */
  async close(): Promise<void> {
    this.core.sessions.close();
    await this.core.backend.close();
  }
}

function restUnavailable(): HttpError {
  return new HttpError(404, 'not_found', 'The REST conveniences are not offered by the gateway yet: use MCP (POST /mcp)');
}

/** Best effort: a session that expired or was ended here is ended on the backend too, so it does not linger there. */
function endBackendSession(backend: Backend, session: GatewaySession, logger: Logger): void {
  const caller: AuthInfo = { subject: session.subject, clientId: session.clientId, scopes: [], audience: [], issuer: '', expiresAt: 0, claims: {} };
  backend
    .send({ method: 'DELETE', headers: backendHeaders({}, session.backendId, false), caller, onAbandon: abandonOn(AbortSignal.timeout(5_000)) })
    .then(discard)
    .catch((error: unknown) => logger.debug({ reason: (error as Error).message }, 'could not end an expired session on the backend'));
}

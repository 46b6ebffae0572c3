/**
 * The lean MCP server core: JSON-RPC over Streamable HTTP (spec 2025-11-25, negotiating down to
 * 2025-03-26) for callers the HTTP layer has already authenticated, serving a {@link Registry}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '../core/auth.js';
import { createLogger, type Logger, type RequestLog } from '../core/log.js';
import { Catalog } from './catalog.js';
import { RequestContext } from './context.js';
import { callTool, listResources, readResource } from './dispatch.js';
import { notificationFrame } from './jsonrpc.js';
import type { McpSessionStore } from '../stores/types.js';
import type { Registry } from './registry.js';
import { SessionStore } from './session.js';
import { handlePost } from './post.js';
import { serveStdio, type StdioOptions } from './stdio.js';
import { handleDelete, handleGet, handleOther, type TransportCore } from './transport.js';
import type { CallToolResult, Prompt, ReadResourceResult, Resource, ServerCapabilities, Tool } from './types.js';

export interface McpServerOptions {
  registry: Registry;
  /** `serverInfo` of the `initialize` result. */
  info: { name: string; version: string; title?: string };
  /** `instructions` of the `initialize` result. */
  instructions?: string;
  /** Where handler failures are logged (default: nowhere). */
  logger?: Logger;
  /** A session unused for this long expires (default 30 minutes). */
  sessionIdleMs?: number;
  /** Most sessions held at once by this process; `initialize` beyond it gets 503 (default 100,000). */
  maxSessions?: number;
  /**
   * The store's sessions, so that sessions survive a restart and any instance on the same store can serve
   * any session (see `SessionStore`); absent, sessions live in this process only.
   */
  sessionStore?: McpSessionStore;
  /** Largest request body (default 1 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** `retry` (ms) advertised in SSE priming events: how long a client waits before reconnecting (default 1,000). */
  sseRetryMs?: number;
  /** How long a server-to-client request (sampling, elicitation) waits for the client (default 5 minutes). */
  clientRequestTimeoutMs?: number;
  /** The clock, in ms (tests drive it). */
  now?: () => number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`McpServer: ${name} must be a positive number`);
  return value;
}

/**
 * Serves MCP for a registry.
 *
 * @example
 * const mcp = new McpServer({ registry, info: { name: 'portcullis', version: '0.1.0' } });
 * http.createServer(async (req, res) => {
 *   const auth = await guard.authenticate(req); // the resource server's job
 *   await mcp.handle(req, res, auth, {}).catch((err) => renderOAuthError(res, err));
 * });
 */
export class McpServer {
  private readonly core: TransportCore;

  constructor(options: McpServerOptions) {
    if (options.registry === undefined) throw new TypeError('McpServer: registry is required');
    if (typeof options.info?.name !== 'string' || typeof options.info.version !== 'string') throw new TypeError('McpServer: info.name and info.version are required');
    const now = options.now ?? Date.now;
    const capabilities: ServerCapabilities = {
      tools: { listChanged: false },
      resources: { subscribe: true, listChanged: false },
      prompts: { listChanged: false },
      logging: {},
      completions: {},
    };
    const serverInfo: { name: string; version: string; title?: string } = { name: options.info.name, version: options.info.version };
    if (options.info.title !== undefined) serverInfo.title = options.info.title;
    this.core = {
      // Compiles schemas and URI templates now, so a bad definition fails at start-up.
      catalog: new Catalog(options.registry),
      sessions: new SessionStore({
        idleMs: positive('sessionIdleMs', options.sessionIdleMs, 30 * 60_000),
        maxSessions: positive('maxSessions', options.maxSessions, 100_000),
        now,
        shared: options.sessionStore,
      }),
      logger: options.logger ?? createLogger('silent'),
      maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes, 1024 * 1024),
      retryMs: positive('sseRetryMs', options.sseRetryMs, 1_000),
      streamEvents: 1_000,
      clientRequestTimeoutMs: positive('clientRequestTimeoutMs', options.clientRequestTimeoutMs, 5 * 60_000),
      serverInfo,
      capabilities,
      instructions: options.instructions,
    };
  }

  /**
   * Serves POST|GET|DELETE (and 405 for others) on the MCP endpoint for an already-authenticated caller.
   * Rejects with an OAuthError (`insufficient_scope`, `scopes` = the item's scopes) BEFORE writing anything
   * when a request needs scopes `auth.scopes` lacks; the caller renders that as HTTP 403 + WWW-Authenticate.
   * Every other outcome is written to `res` here. Fills `log.method`, `log.target`, `log.session`, and
   * `log.decision` for refusals.
   */
  handle(req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
    switch (req.method) {
      case 'POST':
        return handlePost(this.core, req, res, auth, log);
      case 'GET':
        return handleGet(this.core, req, res, auth, log);
      case 'DELETE':
        return handleDelete(this.core, req, res, auth, log);
      default:
        handleOther(res, log);
        return Promise.resolve();
    }
  }

  /**
   * Serves one MCP connection over stdio (see `stdio.ts`): newline-delimited JSON-RPC on `input` and
   * `output`, for the caller `auth`. Resolves when the client closed `input` (or `output` failed) and
   * every running handler returned.
   *
   * @example
   * await mcp.serveStdio({ input: process.stdin, output: process.stdout, auth: localUser });
   */
  serveStdio(options: StdioOptions): Promise<void> {
    return serveStdio(this.core, options);
  }

  /** Every tool, with the scopes each needs in `_meta["dev.portcullis/scopes"]` (see `toolDescriptor`). */
  listTools(_auth: AuthInfo): Tool[] {
    return this.core.catalog.listTools();
  }

  /**
   * Calls a tool outside any MCP session (REST). Rejects with `insufficient_scope` before the tool runs when
   * the token lacks its scopes, with a JsonRpcError (-32602) for an unknown tool; invalid arguments give a
   * result with `isError: true`.
   */
  async callTool(name: string, args: unknown, auth: AuthInfo, signal?: AbortSignal): Promise<CallToolResult> {
    const ctx = new RequestContext(auth, this.core, undefined, undefined, undefined, signal);
    return callTool(this.core, { name, arguments: args ?? {} }, ctx);
  }

  async listResources(auth: AuthInfo): Promise<Resource[]> {
    const ctx = new RequestContext(auth, this.core, undefined, undefined, undefined);
    return (await listResources(this.core, {}, ctx)).resources;
  }

  /** Reads a resource outside any session; -32002 JsonRpcError when there is no such resource. */
  async readResource(uri: string, auth: AuthInfo): Promise<ReadResourceResult> {
    const ctx = new RequestContext(auth, this.core, undefined, undefined, undefined);
    return (await readResource(this.core, { uri }, ctx)) as ReadResourceResult;
  }

  listPrompts(_auth: AuthInfo): Prompt[] {
    return this.core.catalog.listPrompts();
  }

  /** Sends `notifications/resources/updated` to the sessions subscribed to `uri` (on their GET stream, or their stdio connection). */
  resourceUpdated(uri: string): void {
    let frame: string | undefined;
    const updated = (): string => (frame ??= notificationFrame('notifications/resources/updated', { uri }));
    for (const session of this.core.sessions.subscribers(uri)) {
      if (session.push !== undefined) session.push(updated());
      else session.streams?.get(0)?.send(updated());
    }
  }

  /** How many sessions are open (for health and metrics). */
  get sessionCount(): number {
    return this.core.sessions.size;
  }

  /** Ends this process's part of every session (streams, running requests) and stops the idle sweep; a shared store keeps the sessions. */
  close(): void {
    this.core.sessions.close();
  }
}

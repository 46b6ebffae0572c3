/**
 * The console's MCP transport: Streamable HTTP (spec 2025-11-25, basic/transports) to this very process's
 * MCP endpoint, over loopback, with the signed-in user's access token. So a console call takes exactly
 * the path of any MCP client's: Host check, the bearer guard (`--required-scopes` included), the gateway's
 * per-tool scope check before forwarding, the caller's identity stamped into `_meta`, the backend session
 * bound to the caller, the request log. Nothing here can skip a check, because nothing here is trusted.
 *
 * One exchange at a time: a POST with one JSON-RPC message, answered with JSON or an SSE stream (read to
 * its end, bounded in bytes and time), or a DELETE. The token goes in `Authorization` only; it is never
 * logged.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventData, EventSplitter } from '../gateway/lib/sse-events.js';

/** Largest answer read (a tool result is shown in a page). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** What came back from the MCP endpoint. */
export interface McpAnswer {
  readonly status: number;
  /** `Mcp-Session-Id` of the answer (the gateway's id). */
  readonly sessionId: string | undefined;
  /** `WWW-Authenticate` of a 401 or 403. */
  readonly challenge: string | undefined;
  /** The JSON-RPC messages of the body (one for JSON, each event's data for SSE), in order. */
  readonly messages: readonly Record<string, unknown>[];
}

/** What to send besides the body. */
export interface McpExchange {
  readonly token: string;
  readonly sessionId?: string | undefined;
  readonly protocolVersion?: string | undefined;
  readonly timeoutMs: number;
}

export interface LoopbackMcpOptions {
  /** Where this process listens (`server.address()`); a wildcard address is reached on loopback. */
  readonly address: AddressInfo;
  /** `PUBLIC_URL/mcp`: its path is requested, its host is sent as `Host`. */
  readonly resource: URL;
}

/**
 * @example
 * const mcp = new LoopbackMcp({ address: server.address() as AddressInfo, resource: new URL('https://gw.example/mcp') });
 * const answer = await mcp.post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { token, sessionId, protocolVersion, timeoutMs: 15_000 });
 */
export class LoopbackMcp {
  readonly #host: string;
  readonly #port: number;
  readonly #path: string;
  readonly #hostHeader: string;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(options: LoopbackMcpOptions) {
    const { address, port } = options.address;
    if (!Number.isInteger(port) || port <= 0) throw new TypeError('LoopbackMcp: the listening port is unknown');
    this.#host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
    this.#port = port;
    this.#path = `${options.resource.pathname}${options.resource.search}`;
    this.#hostHeader = options.resource.host;
  }

  /** POSTs one JSON-RPC message. Rejects when the endpoint cannot be reached or does not answer in time. */
  post(message: Record<string, unknown>, exchange: McpExchange): Promise<McpAnswer> {
    return this.#send('POST', exchange, Buffer.from(JSON.stringify(message)));
  }

  /** Ends an MCP session (spec: DELETE with its id). */
  delete(exchange: McpExchange & { sessionId: string }): Promise<McpAnswer> {
    return this.#send('DELETE', exchange);
  }

  /** Releases the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  #send(method: 'POST' | 'DELETE', exchange: McpExchange, body?: Buffer): Promise<McpAnswer> {
    const headers: Record<string, string> = {
      host: this.#hostHeader,
      authorization: `Bearer ${exchange.token}`,
      accept: 'application/json, text/event-stream',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (exchange.sessionId !== undefined) headers['mcp-session-id'] = exchange.sessionId;
    if (exchange.protocolVersion !== undefined) headers['mcp-protocol-version'] = exchange.protocolVersion;
    return new Promise((resolve, reject) => {
      const request = http.request({ host: this.#host, port: this.#port, path: this.#path, method, headers, agent: this.#agent, signal: AbortSignal.timeout(exchange.timeoutMs) });
      request.once('error', reject);
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) return void request.destroy(new Error(`the answer exceeds ${MAX_ANSWER_BYTES} bytes`));
          chunks.push(chunk);
        });
        response.once('error', reject);
        response.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const type = String(response.headers['content-type'] ?? '');
          const sessionId = response.headers['mcp-session-id'];
          const challenge = response.headers['www-authenticate'];
          resolve({
            status: response.statusCode ?? 0,
            sessionId: typeof sessionId === 'string' ? sessionId : undefined,
            challenge: typeof challenge === 'string' ? challenge : undefined,
            messages: type.startsWith('text/event-stream') ? eventMessages(text) : jsonMessages(text),
          });
        });
      });
      request.end(body);
    });
  }
}

function jsonMessages(text: string): Record<string, unknown>[] {
  const value = parse(text);
  const list = Array.isArray(value) ? value : [value];
  return list.filter(isObject);
}

function eventMessages(text: string): Record<string, unknown>[] {
  const splitter = new EventSplitter();
  const events = [...splitter.push(Buffer.from(text, 'utf8')), splitter.rest()];
  const messages: Record<string, unknown>[] = [];
  for (const event of events) {
    const data = eventData(event);
    if (data === undefined || data === '') continue;
    const value = parse(data);
    if (isObject(value)) messages.push(value);
  }
  return messages;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

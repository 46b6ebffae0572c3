/**
 * A Streamable HTTP backend: an MCP server the gateway reaches at a URL (`--backend-url`). Connections are
 * kept alive and unbounded in number (SSE streams hold theirs for as long as they last); each exchange is
 * one `node:http` request to exactly the configured URL, whatever path the client used.
 */
import http from 'node:http';
import https from 'node:https';
import type { AuthInfo } from '../../core/auth.js';
import type { Backend, BackendRequest, BackendResponse } from '../backend.js';

export interface HttpBackendOptions {
  /** The backend's MCP endpoint (http or https). */
  url: URL;
  /**
   * The `Authorization` header value for a caller (the optional gateway-signed JWT, `backend-token.ts`);
   * absent: the backend receives no `Authorization` at all.
   */
  credentials?: (caller: AuthInfo) => Promise<string>;
  /** A connection not established within this is an unreachable backend (default 5 s). */
  connectTimeoutMs?: number;
  /** How long a readiness answer is reused (default 3 s), so `/ready` probes cost the backend little. */
  readyCacheMs?: number;
  /** How long a readiness probe waits for the backend's status line (default 2 s). */
  readyTimeoutMs?: number;
  /** The clock, in ms. */
  now?: () => number;
}

/**
 * Creates the HTTP backend. The URL is checked here, so a bad one fails at start-up.
 *
 * @example
 * const backend = createHttpBackend({ url: new URL('http://127.0.0.1:8080/mcp') });
 * const response = await backend.send({ method: 'POST', headers, body, caller, signal });
 */
export function createHttpBackend(options: HttpBackendOptions): Backend {
  const url = options.url;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('the backend URL must be http or https');
  if (url.username || url.password) throw new TypeError('the backend URL must not carry credentials');
  const client = url.protocol === 'https:' ? https : http;
  const agent = new client.Agent({ keepAlive: true });
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const readyCacheMs = options.readyCacheMs ?? 3_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;
  const now = options.now ?? Date.now;
  const path = `${url.pathname}${url.search}`;
  let readiness: { at: number; answer: Promise<boolean> } | undefined;

  function request(method: string, headers: Record<string, string>, signal: AbortSignal | undefined): http.ClientRequest {
    const outgoing = client.request({ protocol: url.protocol, hostname: url.hostname, port: url.port, path, method, headers, agent, ...(signal ? { signal } : {}) });
    // A connection that is not made in time is an unreachable backend (a reused socket is already made).
    outgoing.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => outgoing.destroy(new Error(`no connection to the backend within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    return outgoing;
  }

  async function send(exchange: BackendRequest): Promise<BackendResponse> {
    const headers: Record<string, string> = { ...exchange.headers };
    if (options.credentials) headers['authorization'] = await options.credentials(exchange.caller);
    if (exchange.body !== undefined) headers['content-length'] = String(exchange.body.length);
    return new Promise((resolve, reject) => {
      const outgoing = request(exchange.method, headers, exchange.signal);
      outgoing.once('response', (answer) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: answer }));
      // Kept for the request's whole life: a socket error after the response started must not go unheard.
      outgoing.on('error', reject);
      outgoing.end(exchange.body);
    });
  }

  /** Any answer below 500 means the backend is up (an MCP endpoint answers a bare GET with 400, 405 or a stream). */
  function probe(): Promise<boolean> {
    return new Promise((resolve) => {
      const signal = AbortSignal.timeout(readyTimeoutMs);
      const outgoing = request('GET', { accept: 'application/json, text/event-stream' }, signal);
      outgoing.once('response', (answer) => {
        resolve((answer.statusCode ?? 500) < 500);
        answer.destroy(); // a stream it may have opened is not wanted
      });
      outgoing.on('error', () => resolve(false));
      outgoing.end();
    });
  }

  return {
    location: url.href,
    send,
    ready() {
      const at = now();
      if (readiness === undefined || at - readiness.at >= readyCacheMs) readiness = { at, answer: probe() };
      return readiness.answer;
    },
    async close() {
      agent.destroy();
    },
  };
}

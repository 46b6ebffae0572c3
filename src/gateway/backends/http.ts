/**
 * A Streamable HTTP backend: an MCP server the gateway reaches at a URL (`--backend-url`). Connections are
 * kept alive and unbounded in number (SSE streams hold theirs for as long as they last); each exchange is
 * one request to exactly the configured URL, whatever path the client used.
 *
 * The client is undici's connection pool, driven through its dispatch API, not `node:http`: measured on
 * this hop (the bench's backend, 10 concurrent calls), `http.request` with a keep-alive agent costs the
 * caller about 117 µs of CPU per call and undici about 43 µs, most of the gateway's own cost per call.
 * No timeout bounds an answer once the backend accepted the connection: a tool may run long, and an SSE
 * stream may stay quiet for as long as it likes; the exchange ends when the client goes away.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { AuthInfo } from '../../core/auth.js';
import { abandonOn, type Backend, type BackendRequest, type BackendResponse } from '../backend.js';

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
 * const response = await backend.send({ method: 'POST', headers, body, caller, onAbandon: (stop) => res.once('close', stop) });
 */
export function createHttpBackend(options: HttpBackendOptions): Backend {
  const url = options.url;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('the backend URL must be http or https');
  if (url.username || url.password) throw new TypeError('the backend URL must not carry credentials');
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  const readyCacheMs = options.readyCacheMs ?? 3_000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;
  const now = options.now ?? Date.now;
  const path = `${url.pathname}${url.search}`;
  const pool = new Pool(url.origin, { connections: null, connectTimeout: connectTimeoutMs, headersTimeout: 0, bodyTimeout: 0 });
  let readiness: { at: number; answer: Promise<boolean> } | undefined;

  /**
   * One exchange; resolves once the status line and headers arrived. The answer is handed over a microtask
   * later: undici parses a socket read synchronously, so a body that came in the same read as the headers
   * (most JSON answers) has ended by then and is handed over whole, with no stream; any other body streams.
   */
  function exchange(method: Dispatcher.HttpMethod, headers: Record<string, string>, body: string | undefined, onAbandon: BackendRequest['onAbandon']): Promise<BackendResponse> {
    return new Promise((resolve, reject) => {
      let response: Readable | undefined;
      /** What arrived before the hand-over. */
      let early: Buffer[] | undefined;
      let ended = false;
      let failure: Error | undefined;
      /** The exchange is over: a late abandonment has nothing to stop. */
      let done = false;
      pool.dispatch(
        { origin: url.origin, path, method, headers, body },
        {
          onRequestStart(controller) {
            onAbandon(() => {
              if (!done) controller.abort(new Error('the exchange was abandoned'));
            });
          },
          onResponseStart(controller, status, answerHeaders) {
            early = [];
            queueMicrotask(() => {
              const chunks = early!;
              early = undefined;
              if (ended) return resolve({ status, headers: answerHeaders as IncomingHttpHeaders, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
              // Backpressure: a full body buffer pauses the socket until the reader asks for more.
              response = new Readable({ read: () => controller.resume() });
              response.once('close', () => {
                if (!response!.readableEnded && !controller.aborted) controller.abort(new Error('the client stopped reading'));
              });
              for (const chunk of chunks) response.push(chunk);
              if (failure !== undefined) response.destroy(failure);
              resolve({ status, headers: answerHeaders as IncomingHttpHeaders, body: response });
            });
          },
          onResponseData(controller, chunk) {
            if (early !== undefined) early.push(chunk);
            else if (!response!.push(chunk)) controller.pause();
          },
          onResponseEnd() {
            done = true;
            if (early !== undefined) ended = true;
            else response!.push(null);
          },
          onResponseError(_controller, error) {
            done = true;
            if (early !== undefined) failure = error;
            else if (response === undefined) reject(error);
            else response.destroy(error);
          },
        },
      );
    });
  }

  async function send(request: BackendRequest): Promise<BackendResponse> {
    const headers: Record<string, string> = { ...request.headers };
    if (options.credentials) headers['authorization'] = await options.credentials(request.caller);
    return exchange(request.method, headers, request.body, request.onAbandon);
  }

  /** Any answer below 500 means the backend is up (an MCP endpoint answers a bare GET with 400, 405 or a stream). */
  async function probe(): Promise<boolean> {
    try {
      const answer = await exchange('GET', { accept: 'application/json, text/event-stream' }, undefined, abandonOn(AbortSignal.timeout(readyTimeoutMs)));
      if (answer.body instanceof Readable) {
        answer.body.on('error', () => {});
        answer.body.destroy(); // a stream it may have opened is not wanted
      }
      return answer.status < 500;
    } catch {
      return false;
    }
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
      await pool.destroy();
    },
  };
}

/**
 * What the gateway needs of a backend MCP server: one Streamable HTTP exchange at a time (spec 2025-11-25,
 * basic/transports), whatever carries it. The HTTP backend (`backends/http.ts`) sends it over HTTP; a stdio
 * backend (a later slice) will answer the same exchanges from a spawned process, so the gateway's session
 * mapping, scope checks, identity stamping and relaying stay the same for both.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { AuthInfo } from '../core/auth.js';

/** One request to the backend. */
export interface BackendRequest {
  readonly method: 'POST' | 'GET' | 'DELETE';
  /**
   * The headers the backend may see, lower-case, already chosen by the header policy (`headers.ts`):
   * never the caller's credentials.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON-RPC body of a POST, as the gateway re-serialized it. */
  readonly body?: string;
  /**
   * `body` already parsed: the value the gateway serialized into it, so a backend that reads the messages
   * (stdio) does not parse them again. Absent: parse `body`.
   */
  readonly message?: unknown;
  /** Who calls, for a backend that authenticates the caller itself (the optional backend JWT). */
  readonly caller: AuthInfo;
  /**
   * Registers what stops the exchange when the client goes away before it is over (the response body then
   * ends early); each registered `stop` is called at most once. A callback, not an AbortSignal: creating
   * an AbortController costs about 4 µs here and each listener on it about 2 µs more (measured on Node 20),
   * and most calls are never abandoned.
   */
  readonly onAbandon: (stop: () => void) => void;
}

/**
 * An `onAbandon` driven by an AbortSignal (a timeout, a caller's controller).
 *
 * @example
 * await backend.send({ method: 'DELETE', headers, caller, onAbandon: abandonOn(AbortSignal.timeout(5_000)) });
 */
export function abandonOn(signal: AbortSignal): BackendRequest['onAbandon'] {
  return (stop) => {
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  };
}

/** An AbortSignal that aborts when the exchange is abandoned, for parts that take one (the stdio backend starting a process). */
export function signalOf(request: Pick<BackendRequest, 'onAbandon'>): AbortSignal {
  const controller = new AbortController();
  request.onAbandon(() => controller.abort());
  return controller.signal;
}

/** The backend's answer: the status and headers as it sent them, and its body. */
export interface BackendResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /**
   * The whole body (a Buffer or a string), when all of it was there by the time the answer was handed over:
   * the usual JSON answer, relayed with one write and no stream. Otherwise a stream of it as it arrives,
   * which ends with `end` when the whole body arrived and closes without it when the backend went away
   * mid-body.
   */
  readonly body: Readable | Buffer | string;
}

/** `body` as a stream, whatever form it came in (for the paths that read a body event by event). */
export function bodyStream(body: BackendResponse['body']): Readable {
  return body instanceof Readable ? body : Readable.from([typeof body === 'string' ? Buffer.from(body) : body], { objectMode: false });
}

/** Lets go of an answer that is not wanted: its stream, if it has one, is read to the end and dropped. */
export function discard(answer: BackendResponse): void {
  if (!(answer.body instanceof Readable)) return;
  answer.body.on('error', () => {});
  answer.body.resume();
}

/**
 * A backend MCP server behind the gateway.
 *
 * @example
 * const response = await backend.send({ method: 'POST', headers, body, caller: auth, onAbandon: (stop) => res.once('close', stop) });
 */
export interface Backend {
  /** Where it is, for logs and the banner (a URL, or a command line). */
  readonly location: string;
  /** Sends one exchange; rejects when the backend cannot be reached (nothing was answered). */
  send(request: BackendRequest): Promise<BackendResponse>;
  /** Whether the backend answers now (`/ready`); cheap enough to call on every probe (implementations cache). */
  ready(): Promise<boolean>;
  /** Releases connections (and, for a process, stops it). */
  close(): Promise<void>;
}

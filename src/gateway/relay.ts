/**
 * Relays the backend's answer to the client, as it arrives (never buffered, except a JSON `tools/list`
 * result, which the gateway annotates).
 *
 * - The status passes through, except 401 and 403: the backend refused the gateway itself (its own
 *   credentials, not the caller's), which the client can do nothing about, and whose `WWW-Authenticate`
 *   must not reach a client that would take it for the gateway's challenge. That is a 502 with a JSON-RPC
 *   error saying so.
 * - Headers pass through the header policy (`headers.ts`).
 * - An SSE stream is relayed event by event. When the backend goes away in the middle of it, every
 *   request of this POST still unanswered gets a JSON-RPC error event (-32603) before the stream ends, so
 *   in-flight calls fail instead of hanging. A stream the backend ends cleanly is left for the client to
 *   resume (`Last-Event-ID`, SEP-1699 polling).
 * - A JSON body, or anything else, is relayed byte for byte: with one write when it came whole
 *   (`BackendResponse.body`), else piped; cut off midway, the client connection is dropped (its
 *   `Content-Length` tells the client it lost the end).
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { JsonRpcCode, JsonRpcError } from '../core/errors.js';
import { mediaType } from '../core/http.js';
import type { Logger, RequestLog } from '../core/log.js';
import { endAtTurnEnd } from '../core/turn-end.js';
import { errorFrame, type RequestId } from '../mcp/jsonrpc.js';
import { refuse } from '../mcp/transport.js';
import { bodyStream, discard, type BackendResponse } from './backend.js';
import { clientHeaders } from './headers.js';
import { EventSplitter, eventData, withData } from './lib/sse-events.js';
import type { ToolScopes } from './tool-scopes.js';
import { annotateToolsLists, responseIds } from './tools-list.js';

/** Largest JSON `tools/list` answer the gateway reads whole to annotate; a larger one passes as it is. */
const ANNOTATE_LIMIT_BYTES = 16 * 1024 * 1024;

/** Where and how one backend answer is relayed. */
export interface RelayTarget {
  readonly res: ServerResponse;
  readonly log: RequestLog;
  readonly logger: Logger;
  readonly toolScopes: ToolScopes;
  /** What goes out as `Mcp-Session-Id` (the gateway's id), if anything. */
  readonly sessionId: string | undefined;
  /** Requests of this POST that must each get an answer (absent for GET and DELETE). */
  readonly pending?: Set<RequestId>;
  /** `tools/list` requests whose results are to be annotated when they pass. */
  readonly toolsList?: Set<RequestId>;
  /** The `id` of a 502's JSON-RPC error (the request's, for a single request). */
  readonly errorId: RequestId | null;
}

/**
 * Writes a 502 whose JSON-RPC error names what went wrong with the backend.
 *
 * @example
 * badGateway(target, 'backend_unavailable', 'Bad Gateway: the backend MCP server cannot be reached');
 */
export function badGateway(target: Pick<RelayTarget, 'res' | 'log' | 'errorId'>, decision: string, message: string): void {
  if (target.res.headersSent) return void target.res.destroy();
  refuse(target.res, target.log, 502, decision, JsonRpcCode.InternalError, message, target.errorId);
}

/** Relays `answer` to the client; resolves once a whole body is set to end with this turn's answers (`endAtTurnEnd`), or when a streamed one is over (finished or closed). */
export async function relay(target: RelayTarget, answer: BackendResponse): Promise<void> {
  // An error on the backend's body after this point is handled by the paths below, never thrown.
  if (answer.body instanceof Readable) answer.body.on('error', () => {});
  if (answer.status === 401 || answer.status === 403) {
    discard(answer);
    target.logger.warn({ status: answer.status }, 'the backend refused the gateway: check what it expects of the gateway (see --backend-token)');
    return badGateway(target, 'backend_refused', `Bad Gateway: the backend MCP server refused the gateway's request (HTTP ${answer.status})`);
  }
  const type = mediaType(headerOf(answer.headers['content-type']));
  const tracking = (target.pending?.size ?? 0) > 0 || (target.toolsList?.size ?? 0) > 0;
  if (type === 'text/event-stream' && tracking) return relayEvents(target, answer);
  if (type === 'application/json' && answer.status === 200 && (target.toolsList?.size ?? 0) > 0) return relayAnnotated(target, answer);
  target.res.writeHead(answer.status, clientHeaders(answer.headers, target.sessionId, type !== 'text/event-stream'));
  if (answer.body instanceof Readable) return pass(answer.body, target.res);
  endAtTurnEnd(target.res, answer.body);
}

/** An SSE stream, event by event: annotates `tools/list` results, notes answered requests, fails the rest if cut off. */
async function relayEvents(target: RelayTarget, answer: BackendResponse): Promise<void> {
  const { res, pending } = target;
  res.writeHead(answer.status, { ...clientHeaders(answer.headers, target.sessionId, false), 'x-accel-buffering': 'no' });
  const splitter = new EventSplitter();
  const body = bodyStream(answer.body);
  let draining = false;
  const write = (text: string): void => {
    if (res.destroyed || res.write(text) || draining) return;
    // The client reads slower than the backend writes: hold the backend until the client caught up.
    draining = true;
    body.pause();
    res.once('drain', () => {
      draining = false;
      body.resume();
    });
  };
  body.on('data', (chunk: Buffer) => {
    for (const event of splitter.push(chunk)) write(`${relayEvent(event, target)}\n\n`);
  });
  await new Promise<void>((resolve) => {
    body.once('end', () => {
      const rest = splitter.rest();
      if (rest !== '') write(rest);
      if (!res.destroyed) res.end();
      resolve();
    });
    body.once('close', () => {
      if (body.readableEnded) return;
      // Cut off: the backend went away (or the client did, and its request was aborted).
      if (!res.destroyed && pending !== undefined && pending.size > 0) {
        target.logger.warn({ unanswered: pending.size }, 'the backend closed a stream before answering');
        for (const id of pending) write(`data: ${errorFrame(id, new JsonRpcError(JsonRpcCode.InternalError, 'Bad Gateway: the backend MCP server went away before answering'))}\n\n`);
        target.log.decision ??= 'backend_failed';
      }
      if (!res.destroyed) res.end();
      resolve();
    });
    res.once('close', () => {
      if (!body.readableEnded) body.destroy();
    });
  });
}

/** One event, as it goes to the client. */
function relayEvent(event: string, target: RelayTarget): string {
  const data = eventData(event);
  if (data === undefined || data === '') return event;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return event;
  }
  if (target.pending !== undefined) for (const id of responseIds(value)) target.pending.delete(id);
  if (target.toolsList !== undefined && target.toolsList.size > 0 && annotateToolsLists(value, target.toolsList, target.toolScopes)) {
    return withData(event, JSON.stringify(value));
  }
  return event;
}

/** A JSON answer holding a `tools/list` result: read whole, annotated, sent with its new length. */
async function relayAnnotated(target: RelayTarget, answer: BackendResponse): Promise<void> {
  const { res } = target;
  let text: string;
  if (answer.body instanceof Readable) {
    const whole = await readWhole(answer.body);
    if (whole === 'broken') return badGateway(target, 'backend_failed', 'Bad Gateway: the backend MCP server went away before answering');
    if ('chunks' in whole) {
      // Too large to hold: it goes as it is, unannotated.
      target.logger.warn({ bytes: whole.size }, 'a tools/list answer too large to annotate passed unchanged');
      res.writeHead(answer.status, clientHeaders(answer.headers, target.sessionId, true));
      for (const chunk of whole.chunks) res.write(chunk);
      await pass(answer.body, res);
      return;
    }
    text = whole.toString('utf8');
  } else {
    text = answer.body.toString();
  }
  try {
    const value: unknown = JSON.parse(text);
    if (annotateToolsLists(value, target.toolsList!, target.toolScopes)) text = JSON.stringify(value);
  } catch {
    // not JSON after all: relayed unchanged
  }
  const headers = clientHeaders(answer.headers, target.sessionId, false);
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(answer.status, headers);
  res.end(text);
}

/**
 * Reads `body` whole, up to {@link ANNOTATE_LIMIT_BYTES}: the bytes; what was read so far when it is
 * larger (the rest still to be read from `body`, which is paused); 'broken' when it broke off.
 */
function readWhole(body: Readable): Promise<Buffer | { chunks: Buffer[]; size: number } | 'broken'> {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > ANNOTATE_LIMIT_BYTES) {
        body.pause();
        body.removeAllListeners('data');
        resolve({ chunks, size });
      }
    });
    body.once('end', () => resolve(Buffer.concat(chunks, size)));
    body.once('close', () => resolve(body.readableEnded ? Buffer.concat(chunks, size) : 'broken'));
  });
}

function headerOf(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Streams `body` to `res` with backpressure; resolves once either side is done. A body that breaks off
 * (the backend went away mid-answer) destroys `res`, so the client sees the answer cut off rather than a
 * short one; a client that went away destroys `body`. Not `stream/promises`' pipeline: it aborts an
 * AbortController of its own at every finish, and the DOMException that makes cost more CPU per relayed
 * call than the rest of the relay (profiled).
 */
function pass(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    body.once('error', () => res.destroy());
    body.once('close', () => {
      if (!body.readableEnded) res.destroy();
    });
    res.once('close', () => {
      if (!body.readableEnded) body.destroy();
      resolve();
    });
    res.once('finish', () => resolve());
    body.pipe(res);
  });
}

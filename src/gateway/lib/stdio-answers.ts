/**
 * The Streamable HTTP answers the stdio backend gives (spec 2025-11-25, basic/transports), as
 * `BackendResponse`s: a JSON body, an SSE stream, an empty 202/204, or a refusal. A refusal is a
 * `JsonRpcError` whose `httpStatus` is the status: it renders itself as the body (`id: null`, the spec's
 * "JSON-RPC error response that has no id"), so no handler picks a status on its own.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { JsonRpcCode, JsonRpcError } from '../../core/errors.js';
import { errorFrame } from '../../mcp/jsonrpc.js';
import type { BackendResponse } from '../backend.js';

function withSession(headers: IncomingHttpHeaders, sessionId: string | undefined): IncomingHttpHeaders {
  if (sessionId !== undefined) headers['mcp-session-id'] = sessionId;
  return headers;
}

/** A JSON body (an `initialize` response), with its exact length. */
export function jsonAnswer(status: number, json: string, sessionId?: string): BackendResponse {
  const headers = withSession({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)) }, sessionId);
  return { status, headers, body: json };
}

/** An SSE stream (a POST's answers, or the standalone GET stream). */
export function eventStreamAnswer(body: Readable, sessionId: string): BackendResponse {
  return { status: 200, headers: withSession({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform' }, sessionId), body };
}

/** No body: 202 for notifications and responses, 204 for a DELETE. */
export function emptyAnswer(status: 202 | 204, sessionId?: string): BackendResponse {
  return { status, headers: withSession({}, sessionId), body: '' };
}

/** Creates a refusal: throw it from an exchange handler, {@link refusalAnswer} renders it. */
export function refusal(status: number, message: string, code: number = JsonRpcCode.ConnectionClosed): JsonRpcError {
  return new JsonRpcError(code, message, undefined, status);
}

/** A refusal as an answer; 503 says when to try again. */
export function refusalAnswer(error: JsonRpcError): BackendResponse {
  const answer = jsonAnswer(error.httpStatus, errorFrame(null, error));
  if (error.httpStatus === 503) answer.headers['retry-after'] = '5';
  return answer;
}

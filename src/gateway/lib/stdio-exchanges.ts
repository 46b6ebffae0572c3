/**
 * The three Streamable HTTP exchanges (spec 2025-11-25, basic/transports) as the stdio backend answers
 * them. Each refusal is thrown as a `JsonRpcError` carrying its status (`stdio-answers.ts`), in this order:
 *
 * - POST: 406 unless `Accept` admits application/json and text/event-stream; 415 unless the body is
 *   application/json; 400 + -32700 for bad JSON; 400 + -32600 for an empty batch, a message that is not
 *   JSON-RPC, or `initialize` inside a batch. An `initialize` opens a session (503 when `maxProcesses`
 *   are taken; any `Mcp-Session-Id` it carries is ignored). Anything else: 400 without `Mcp-Session-Id`,
 *   404 for an unknown one, 400 for an `MCP-Protocol-Version` the gateway does not speak, 400 for a batch
 *   unless the version the process agreed to is 2025-03-26, 400 for a request id still in flight.
 * - GET: 406 unless `Accept` admits text/event-stream; the session as above; 409 when its standalone stream
 *   is open already.
 * - DELETE: the session as above; 204 once its process is gone.
 */
import { JsonRpcCode } from '../../core/errors.js';
import { accepts, mediaType } from '../../core/http.js';
import { classify, type Message, type Request } from '../../mcp/jsonrpc.js';
import { SUPPORTED } from '../../mcp/transport.js';
import { PROTOCOL_VERSIONS } from '../../mcp/types.js';
import { signalOf, type BackendRequest, type BackendResponse } from '../backend.js';
import { emptyAnswer, eventStreamAnswer, jsonAnswer, refusal } from './stdio-answers.js';
import type { StdioSession } from './stdio-session.js';
import type { StdioSessionTable } from './stdio-table.js';

/** POST: opens a session (`initialize`), or writes the client's messages to the session's process. */
export async function stdioPost(table: StdioSessionTable, exchange: BackendRequest): Promise<BackendResponse> {
  const headers = exchange.headers;
  if (!accepts(headers['accept'], 'application/json') || !accepts(headers['accept'], 'text/event-stream')) {
    throw refusal(406, 'Not Acceptable: Accept must include application/json and text/event-stream');
  }
  if (mediaType(headers['content-type']) !== 'application/json') throw refusal(415, 'Unsupported Media Type: the body must be application/json');
  const text = exchange.body ?? '';
  const value = exchange.message !== undefined ? exchange.message : parseBody(text);
  const batch = Array.isArray(value);
  const raws: unknown[] = batch ? (value as unknown[]) : [value];
  if (raws.length === 0) throw refusal(400, 'Invalid Request: empty batch', JsonRpcCode.InvalidRequest);
  const messages: Message[] = raws.map(classify);
  for (const message of messages) if (message.kind === 'invalid') throw refusal(400, message.error.message, message.error.code);
  const requests = messages.filter((message): message is Request => message.kind === 'request');
  // Each message goes to the process as one line; a lone message whose text has no line break as it came.
  const lines = !batch && !/[\r\n]/.test(text) ? [text] : raws.map((raw) => JSON.stringify(raw));

  const initialize = requests.find((request) => request.method === 'initialize');
  if (initialize !== undefined) {
    if (batch) throw refusal(400, 'Invalid Request: initialize must not be part of a batch', JsonRpcCode.InvalidRequest);
    return open(table, initialize, lines[0]!, signalOf(exchange));
  }

  const { id, session } = presentedSession(table, headers);
  if (batch && session.protocolVersion !== '2025-03-26') {
    throw refusal(400, 'Invalid Request: batches are only allowed with protocol version 2025-03-26', JsonRpcCode.InvalidRequest);
  }
  const ids = new Set(requests.map((request) => request.id));
  if (ids.size < requests.length || requests.some((request) => session.routes.pending(request.id))) {
    throw refusal(400, 'Invalid Request: a request id is already in flight in this session', JsonRpcCode.InvalidRequest);
  }
  const answer = await session.forward(lines, requests.length > 0 ? requests : undefined, exchange.onAbandon, !batch);
  // The client gave up on a request: its stream no longer waits for an answer the server need not send.
  for (const message of messages) {
    const cancelled = message.kind === 'notification' && message.method === 'notifications/cancelled' ? message.params?.['requestId'] : undefined;
    if (typeof cancelled === 'string' || typeof cancelled === 'number') session.routes.cancel(cancelled);
  }
  if (answer === undefined) return emptyAnswer(202, id);
  const alone = await answer.alone;
  return alone !== undefined ? jsonAnswer(200, alone, id) : eventStreamAnswer(answer.body, id);
}

/** A body the gateway did not parse for us: 400 + -32700 when it is not JSON. */
function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw refusal(400, 'Parse error: the body is not JSON', JsonRpcCode.ParseError);
  }
}

/** GET: the session's standalone stream, starting with what was buffered for it. */
export function stdioGet(table: StdioSessionTable, exchange: BackendRequest): BackendResponse {
  if (!accepts(exchange.headers['accept'], 'text/event-stream')) throw refusal(406, 'Not Acceptable: Accept must include text/event-stream');
  const { id, session } = presentedSession(table, exchange.headers);
  const body = session.routes.openStandalone(exchange.onAbandon);
  if (body === undefined) throw refusal(409, 'Conflict: a GET stream is already open for this session');
  return eventStreamAnswer(body, id);
}

/** DELETE: ends the session; answers once its process is gone. */
export async function stdioDelete(table: StdioSessionTable, exchange: BackendRequest): Promise<BackendResponse> {
  const { id } = presentedSession(table, exchange.headers);
  await table.remove(id)?.stop();
  return emptyAnswer(204);
}

/** `initialize`: a new session, its process started and asked; its answer is the process's own. */
async function open(table: StdioSessionTable, initialize: Request, line: string, signal: AbortSignal): Promise<BackendResponse> {
  const created = table.create();
  if (created === undefined) throw refusal(503, 'Service Unavailable: too many backend processes, try again later');
  const { id, session } = created;
  try {
    const { response, json } = await session.open(initialize, line, signal);
    if (response.error === undefined) return jsonAnswer(200, json, id);
    // The server refused (an unsupported protocol version, say): no session, and its answer as it is.
    table.remove(id);
    await session.stop();
    return jsonAnswer(200, json);
  } catch (error) {
    table.remove(id);
    await session.stop();
    throw error;
  }
}

/**
 * The session `Mcp-Session-Id` names, checked: 400 without one, 404 for an unknown one, 400 for an
 * `MCP-Protocol-Version` the gateway does not speak. A version it speaks other than the one the process
 * agreed to passes, as the gateway's own core treats it: the header describes the HTTP hop, and the
 * process keeps the version of its `initialize` (the conformance suite sends 2025-03-26 on a 2025-11-25
 * session and expects an answer).
 */
function presentedSession(table: StdioSessionTable, headers: BackendRequest['headers']): { id: string; session: StdioSession } {
  const id = headers['mcp-session-id'];
  if (typeof id !== 'string' || id === '') throw refusal(400, 'Bad Request: Mcp-Session-Id header is required');
  const session = table.find(id);
  if (session === undefined) throw refusal(404, 'Session not found');
  const version = headers['mcp-protocol-version'];
  if (typeof version === 'string' && !SUPPORTED.has(version)) {
    throw refusal(400, `Bad Request: unsupported MCP-Protocol-Version (supported: ${PROTOCOL_VERSIONS.join(', ')})`);
  }
  return { id, session };
}

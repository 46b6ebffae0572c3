/**
 * POST on the MCP endpoint (spec 2025-11-25, basic/transports, "Sending Messages to the Server").
 *
 * Checked in this order: 406 unless `Accept` admits both application/json and text/event-stream; 415 unless
 * the body is application/json; 413 past the body limit; 400 + -32700 for bad JSON; 400 + -32600 for
 * something that is not JSON-RPC; 400 for an unsupported `MCP-Protocol-Version` (except on initialize,
 * whose body negotiates the version); then the session (400/404, see transport.ts); 400 + -32600 for a
 * batch unless the session negotiated 2025-03-26. Then scopes: a request for
 * an item whose scopes the token lacks rejects with `insufficient_scope` before anything runs or is
 * written. Notifications and responses get 202; requests run and are answered through an Exchange (JSON,
 * or SSE once a handler sends something first).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '../core/auth.js';
import { insufficientScope, JsonRpcCode, JsonRpcError } from '../core/errors.js';
import { mediaType } from '../core/http.js';
import type { RequestLog } from '../core/log.js';
import { endAtTurnEnd } from '../core/turn-end.js';
import { hasScopes, requireBatchScopes, targetOf } from './catalog.js';
import { Exchange } from './exchange.js';
import { classify, resultFrame, type Message, type Request } from './jsonrpc.js';
import { answer, handleInSession, initializeResult, negotiate, notify, run } from './requests.js';
import { badVersionHeader, findSession, readJsonRpcBody, REFUSED, refuse, type TransportCore } from './transport.js';

/**
 * Whether `Accept` admits both application/json and text/event-stream, as a POST must (spec 2025-11-25
 * transports, "Sending Messages to the Server" 2); wildcards count. One pass over the header.
 */
function acceptsJsonAndSse(header: string | undefined): boolean {
  if (header === undefined) return false;
  if (header === lastAccepted) return true; // clients send the same header every time
  let json = false;
  let sse = false;
  for (const part of header.split(',')) {
    const media = mediaType(part);
    if (media === '*/*') json = sse = true;
    else if (media === 'application/json' || media === 'application/*') json = true;
    else if (media === 'text/event-stream' || media === 'text/*') sse = true;
  }
  if (json && sse) lastAccepted = header;
  return json && sse;
}

let lastAccepted = 'application/json, text/event-stream';

function accepted(res: ServerResponse): void {
  res.writeHead(202);
  endAtTurnEnd(res);
}

export async function handlePost(core: TransportCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  const headers = req.headers;
  if (!acceptsJsonAndSse(headers.accept)) {
    return refuse(res, log, 406, 'not_acceptable', JsonRpcCode.ConnectionClosed, 'Not Acceptable: Accept must include application/json and text/event-stream');
  }
  const value = await readJsonRpcBody(req, res, log, core.maxBodyBytes);
  if (value === REFUSED) return;
  if (Array.isArray(value)) {
    if (badVersionHeader(req, res, log)) return;
    return handleBatch(core, value, req, res, auth, log);
  }

  const message = classify(value);
  if (message.kind === 'invalid') return refuse(res, log, 400, 'invalid_request', message.error.code, message.error.message, message.id);
  if (message.kind !== 'response') log.method = message.method;
  // The version is negotiated in initialize's body; the header matters only on the requests after it.
  if (message.kind === 'request' && message.method === 'initialize') return initialize(core, message, res, auth, log);
  if (badVersionHeader(req, res, log)) return;

  const found = findSession(core, req, res, auth, log);
  // Only a session this process must look up in the shared store costs a turn of the event loop.
  const session = found instanceof Promise ? await found : found;
  if (session === undefined) return;
  if (message.kind === 'notification') return notify(session, message), accepted(res);
  if (message.kind === 'response') return answer(session, message), accepted(res);

  log.target = targetOf(message.method, message.params);
  const scopes = core.catalog.requiredScopes(message.method, message.params);
  if (!hasScopes(auth.scopes, scopes)) {
    log.decision = 'insufficient_scope';
    throw insufficientScope(scopes ?? []);
  }
  const exchange = new Exchange(res, session, false, core);
  exchange.expect();
  await run(core, exchange, session, auth, message, log);
}

/** A JSON array: JSON-RPC batching, part of protocol 2025-03-26 only (removed in 2025-06-18). */
async function handleBatch(core: TransportCore, values: unknown[], req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  log.method = 'batch';
  if (values.length === 0) return refuse(res, log, 400, 'invalid_request', JsonRpcCode.InvalidRequest, 'Invalid Request: empty batch');
  const session = await findSession(core, req, res, auth, log);
  if (session === undefined) return;
  if (session.version !== '2025-03-26') {
    return refuse(res, log, 400, 'invalid_request', JsonRpcCode.InvalidRequest, `Invalid Request: JSON-RPC batches are not part of protocol version ${session.version}`);
  }
  const messages: Message[] = values.map(classify);
  requireBatchScopes(auth.scopes, messages.map((m) => (m.kind === 'request' ? core.catalog.requiredScopes(m.method, m.params) : undefined)), log);

  const exchange = new Exchange(res, session, true, core);
  let expected = 0;
  for (const message of messages) if (message.kind === 'request' || message.kind === 'invalid') expected++;
  if (expected === 0) {
    for (const message of messages) if (message.kind === 'notification') notify(session, message);
    for (const message of messages) if (message.kind === 'response') answer(session, message);
    return accepted(res);
  }
  for (let i = 0; i < expected; i++) exchange.expect();
  const runs: Promise<void>[] = [];
  for (const message of messages) {
    const running = handleInSession(core, session, auth, message, exchange);
    if (running !== undefined) runs.push(running);
  }
  await Promise.all(runs);
}

async function initialize(core: TransportCore, request: Request, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  let asked: ReturnType<typeof negotiate>;
  try {
    asked = negotiate(request.params);
  } catch (error) {
    return refuse(res, log, 400, 'invalid_params', JsonRpcCode.InvalidParams, (error as JsonRpcError).message, request.id);
  }
  const session = await core.sessions.create(auth, asked.version, asked.capabilities);
  if (session === undefined) {
    return refuse(res, log, 503, 'too_many_sessions', JsonRpcCode.ConnectionClosed, 'Service Unavailable: too many sessions, try again later', request.id, { 'retry-after': '60' });
  }
  log.session = session.id;
  const body = resultFrame(request.id, initializeResult(core, asked.version));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'mcp-session-id': session.id });
  res.end(body);
}

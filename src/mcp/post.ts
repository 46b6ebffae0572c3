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
import { insufficientScope, JsonRpcCode, JsonRpcError, OAuthError } from '../core/errors.js';
import { mediaType } from '../core/http.js';
import type { RequestLog } from '../core/log.js';
import { isStoreUnavailable, reportStoreUnavailable } from '../stores/outage.js';
import { hasScopes, requireBatchScopes, targetOf } from './catalog.js';
import { RequestContext } from './context.js';
import { dispatch } from './dispatch.js';
import { Exchange } from './exchange.js';
import { classify, errorFrame, resultFrame, type Message, type Notification, type Request, type RequestId, type Response } from './jsonrpc.js';
import { Capability, type Session } from './session.js';
import { badVersionHeader, findSession, readJsonRpcBody, REFUSED, refuse, SUPPORTED, type TransportCore } from './transport.js';
import { LATEST_PROTOCOL_VERSION, type ProtocolVersion } from './types.js';

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
  res.end();
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
    if (message.kind === 'notification') notify(session, message);
    else if (message.kind === 'response') answer(session, message);
    else if (message.kind === 'invalid') exchange.reply(errorFrame(message.id, message.error));
    else if (message.method === 'initialize') exchange.reply(errorFrame(message.id, new JsonRpcError(JsonRpcCode.InvalidRequest, 'Invalid Request: initialize cannot be part of a batch')));
    else runs.push(run(core, exchange, session, auth, message, undefined));
  }
  await Promise.all(runs);
}

function progressTokenOf(request: Request): RequestId | undefined {
  const meta = request.params?.['_meta'];
  if (typeof meta !== 'object' || meta === null) return undefined;
  const token = (meta as Record<string, unknown>)['progressToken'];
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

/**
 * Runs one request and delivers its response. `log` is given for a lone request: an OAuthError its
 * handler throws before anything was written then rejects handle() (an HTTP 403/401), like the scope check,
 * and so does a store that cannot serve (the HTTP layer answers 503 `temporarily_unavailable` with
 * `Retry-After`, as it does for REST calls and `initialize`).
 */
async function run(core: TransportCore, exchange: Exchange, session: Session, auth: AuthInfo, request: Request, log: RequestLog | undefined): Promise<void> {
  const ctx = new RequestContext(auth, core, session, exchange, progressTokenOf(request));
  let frame: string;
  try {
    let result = dispatch(core, request.method, request.params, ctx, session);
    if (result instanceof Promise) result = await whileRunning(session, request.id, ctx, result);
    frame = resultFrame(request.id, result);
  } catch (error) {
    if (log !== undefined && (error instanceof OAuthError || isStoreUnavailable(error)) && !exchange.started && !ctx.cancelled) {
      exchange.abandon();
      if (error instanceof OAuthError) log.decision = error.code;
      throw error;
    }
    frame = errorFrame(request.id, toJsonRpcError(core, error, request.method));
  }
  exchange.reply(ctx.cancelled ? undefined : frame);
}

/**
 * Keeps a request in `session.inflight` (where `notifications/cancelled` and the session's end find it)
 * while its handler's promise runs. A handler that returned at once has nothing left to cancel: no
 * other message can be handled before it returns, so it is never registered.
 */
async function whileRunning<T>(session: Session, id: RequestId, ctx: RequestContext, running: Promise<T>): Promise<T> {
  const inflight = (session.inflight ??= new Map());
  inflight.set(id, ctx);
  try {
    return await running;
  } finally {
    if (inflight.get(id) === ctx) inflight.delete(id);
  }
}

/**
 * A thrown JsonRpcError is the response; a store that cannot serve (in a batch, or once the response
 * streams) is -32603 with `data.error` `temporarily_unavailable`, a warning; anything else is logged as an
 * error and answered with a generic -32603.
 */
function toJsonRpcError(core: TransportCore, error: unknown, method: string): JsonRpcError {
  if (error instanceof JsonRpcError) return error;
  if (error instanceof OAuthError) {
    return new JsonRpcError(JsonRpcCode.InvalidRequest, error.description, { error: error.code, scope: error.scopes?.join(' ') });
  }
  if (isStoreUnavailable(error)) {
    reportStoreUnavailable(core.logger, error);
    return new JsonRpcError(JsonRpcCode.InternalError, 'Temporarily unavailable: the server cannot reach its store; try again later', { error: 'temporarily_unavailable' });
  }
  core.logger.error({ err: error, method }, 'MCP handler failed');
  return new JsonRpcError(JsonRpcCode.InternalError, 'Internal error');
}

async function initialize(core: TransportCore, request: Request, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  const params = request.params ?? {};
  const requested = params['protocolVersion'];
  if (typeof requested !== 'string') {
    return refuse(res, log, 400, 'invalid_params', JsonRpcCode.InvalidParams, 'initialize needs a string protocolVersion', request.id);
  }
  // Spec 2025-11-25 lifecycle: answer the client's version when supported, else the latest we speak.
  const version = SUPPORTED.has(requested) ? (requested as ProtocolVersion) : LATEST_PROTOCOL_VERSION;
  const declared = params['capabilities'];
  let capabilities = 0;
  if (typeof declared === 'object' && declared !== null) {
    const caps = declared as Record<string, unknown>;
    if (caps['sampling'] !== undefined) capabilities |= Capability.Sampling;
    if (caps['elicitation'] !== undefined) capabilities |= Capability.Elicitation;
    if (caps['roots'] !== undefined) capabilities |= Capability.Roots;
  }
  const session = await core.sessions.create(auth, version, capabilities);
  if (session === undefined) {
    return refuse(res, log, 503, 'too_many_sessions', JsonRpcCode.ConnectionClosed, 'Service Unavailable: too many sessions, try again later', request.id, { 'retry-after': '60' });
  }
  log.session = session.id;
  const result: Record<string, unknown> = { protocolVersion: version, capabilities: core.capabilities, serverInfo: core.serverInfo };
  if (core.instructions !== undefined) result['instructions'] = core.instructions;
  const body = resultFrame(request.id, result);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'mcp-session-id': session.id });
  res.end(body);
}

/** Client notifications: `cancelled` stops a running request; `initialized`, `progress` and the rest need nothing. */
function notify(session: Session, notification: Notification): void {
  if (notification.method !== 'notifications/cancelled') return;
  const id = notification.params?.['requestId'];
  if (typeof id === 'string' || typeof id === 'number') session.inflight?.get(id)?.cancel('The client cancelled the request');
}

/** A client's response to a server-to-client request goes back to the handler awaiting it. */
function answer(session: Session, response: Response): void {
  if (typeof response.id !== 'number') return;
  const waiting = session.outbound?.get(response.id);
  if (waiting === undefined) return;
  if (response.error !== undefined) waiting.reject(new JsonRpcError(response.error.code, response.error.message, response.error.data));
  else waiting.resolve(typeof response.result === 'object' && response.result !== null ? (response.result as Record<string, unknown>) : {});
}


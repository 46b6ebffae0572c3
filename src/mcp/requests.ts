/**
 * The messages of an MCP session, whatever carries them (Streamable HTTP in post.ts, stdio in stdio.ts):
 * `initialize`'s negotiation, running a request and delivering its response, and what the client's
 * notifications and responses do.
 */
import type { AuthInfo } from '../core/auth.js';
import { JsonRpcCode, JsonRpcError, OAuthError } from '../core/errors.js';
import type { RequestLog } from '../core/log.js';
import { isStoreUnavailable, reportStoreUnavailable } from '../stores/outage.js';
import { type Channel, RequestContext } from './context.js';
import { dispatch, type Core } from './dispatch.js';
import { errorFrame, resultFrame, type Message, type Notification, type Params, type Request, type RequestId, type Response } from './jsonrpc.js';
import { Capability, type Session } from './session.js';
import { SUPPORTED, type TransportCore } from './transport.js';
import { LATEST_PROTOCOL_VERSION, type ProtocolVersion } from './types.js';

/** Where one request's response goes (besides what its handler sends through the {@link Channel}). */
export interface Answer extends Channel {
  /** Whether anything was written yet (until then a refusal can still become an HTTP status). */
  readonly started: boolean;
  /** Delivers the response; `frame` is undefined when there is none (the request was cancelled). */
  reply(frame: string | undefined): void;
  /** Abandons the answer without writing anything more (the caller rethrows the error instead). */
  abandon(): void;
}

/**
 * What `initialize`'s params ask for: the version to answer (the client's when supported, else the latest
 * this server speaks: spec 2025-11-25 lifecycle) and the client capabilities the server acts on. Throws
 * -32602 without a string `protocolVersion`.
 */
export function negotiate(params: Params | undefined): { version: ProtocolVersion; capabilities: number } {
  const requested = params?.['protocolVersion'];
  if (typeof requested !== 'string') throw new JsonRpcError(JsonRpcCode.InvalidParams, 'initialize needs a string protocolVersion');
  const version = SUPPORTED.has(requested) ? (requested as ProtocolVersion) : LATEST_PROTOCOL_VERSION;
  const declared = params?.['capabilities'];
  let capabilities = 0;
  if (typeof declared === 'object' && declared !== null) {
    const caps = declared as Record<string, unknown>;
    if (caps['sampling'] !== undefined) capabilities |= Capability.Sampling;
    if (caps['elicitation'] !== undefined) capabilities |= Capability.Elicitation;
    if (caps['roots'] !== undefined) capabilities |= Capability.Roots;
  }
  return { version, capabilities };
}

/** The `initialize` result for a session of `version`. */
export function initializeResult(core: TransportCore, version: ProtocolVersion): Record<string, unknown> {
  const result: Record<string, unknown> = { protocolVersion: version, capabilities: core.capabilities, serverInfo: core.serverInfo };
  if (core.instructions !== undefined) result['instructions'] = core.instructions;
  return result;
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
export async function run(core: Core, exchange: Answer, session: Session, auth: AuthInfo, request: Request, log: RequestLog | undefined): Promise<void> {
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
function toJsonRpcError(core: Core, error: unknown, method: string): JsonRpcError {
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


/**
 * Handles one message of an open session (a lone message, or an item of a batch): a notification or a
 * client's response takes effect at once; an invalid message, or an `initialize` (which opens a session and
 * so never comes inside one), is answered with its error through `reply`; a request runs, answered through
 * `reply`, and its run is returned.
 */
export function handleInSession(core: Core, session: Session, auth: AuthInfo, message: Message, reply: Answer): Promise<void> | undefined {
  if (message.kind === 'notification') return void notify(session, message);
  if (message.kind === 'response') return void answer(session, message);
  if (message.kind === 'invalid') return void reply.reply(errorFrame(message.id, message.error));
  if (message.method === 'initialize') {
    return void reply.reply(errorFrame(message.id, new JsonRpcError(JsonRpcCode.InvalidRequest, 'Invalid Request: initialize cannot be part of a batch')));
  }
  return run(core, reply, session, auth, message, undefined);
}

/** Client notifications: `cancelled` stops a running request; `initialized`, `progress` and the rest need nothing. */
export function notify(session: Session, notification: Notification): void {
  if (notification.method !== 'notifications/cancelled') return;
  const id = notification.params?.['requestId'];
  if (typeof id === 'string' || typeof id === 'number') session.inflight?.get(id)?.cancel('The client cancelled the request');
}

/** A client's response to a server-to-client request goes back to the handler awaiting it. */
export function answer(session: Session, response: Response): void {
  if (typeof response.id !== 'number') return;
  const waiting = session.outbound?.get(response.id);
  if (waiting === undefined) return;
  if (response.error !== undefined) waiting.reject(new JsonRpcError(response.error.code, response.error.message, response.error.data));
  else waiting.resolve(typeof response.result === 'object' && response.result !== null ? (response.result as Record<string, unknown>) : {});
}


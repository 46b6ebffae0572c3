/**
 * POST through the gateway (spec 2025-11-25 transports, "Sending Messages to the Server").
 *
 * In this order: 415 unless the body is application/json; 413 past the body limit; 400 + -32700 for bad
 * JSON; 400 for a lone message that is not JSON-RPC, or an empty batch (the same answers as `serve`); the
 * session (404 for an id that is not the caller's; an `initialize` opens a new one and ignores any id);
 * then the scopes: a `tools/call` whose tool needs scopes the token lacks rejects with
 * `insufficient_scope` before anything is forwarded (the HTTP layer renders the step-up 403). Then every
 * request gets the caller's identity in `_meta` (`identity.ts`), the body is re-serialized and forwarded,
 * and the answer relayed (`relay.ts`). Accept and the protocol version are the backend's to check.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '../core/auth.js';
import { JsonRpcCode } from '../core/errors.js';
import type { RequestLog } from '../core/log.js';
import { requireBatchScopes } from '../mcp/catalog.js';
import { classify, type Request, type RequestId } from '../mcp/jsonrpc.js';
import { readJsonRpcBody, REFUSED, refuse } from '../mcp/transport.js';
import { backendHeaders } from './headers.js';
import { callerIdentity, stampCaller } from './identity.js';
import { presentedSession, sendToBackend, type GatewayCore } from './context.js';
import { relay } from './relay.js';
import type { GatewaySession } from './sessions.js';

/**
 * Forwards one POST for an authenticated caller (see the module comment for the order of checks). Rejects
 * with `insufficient_scope` before writing or forwarding anything; every other outcome is written to `res`.
 */
export async function forwardPost(core: GatewayCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  const value = await readJsonRpcBody(req, res, log, core.maxBodyBytes);
  if (value === REFUSED) return;
  const batch = Array.isArray(value);
  const messages: unknown[] = batch ? (value as unknown[]) : [value];
  if (messages.length === 0) return refuse(res, log, 400, 'invalid_request', JsonRpcCode.InvalidRequest, 'Invalid Request: empty batch');
  const requests: { raw: Record<string, unknown>; request: Request }[] = [];
  for (const raw of messages) {
    const message = classify(raw);
    if (message.kind === 'request') requests.push({ raw: raw as Record<string, unknown>, request: message });
    else if (message.kind === 'invalid' && !batch) return refuse(res, log, 400, 'invalid_request', message.error.code, message.error.message, message.id);
    if (!batch && message.kind !== 'invalid' && message.kind !== 'response') log.method = message.method;
  }
  if (batch) log.method = 'batch';
  const initialize = requests.some(({ request }) => request.method === 'initialize');

  let session: GatewaySession | null = null;
  if (!initialize) {
    const found = presentedSession(core, req, res, auth, log);
    if (found === undefined) return;
    session = found;
  } else if (!core.sessions.hasRoom()) {
    return refuse(res, log, 503, 'too_many_sessions', JsonRpcCode.ConnectionClosed, 'Service Unavailable: too many sessions, try again later', null, { 'retry-after': '60' });
  }

  checkScopes(core, requests.map(({ request }) => request), batch, auth, log);

  const caller = callerIdentity(auth);
  const pending = new Set<RequestId>();
  const toolsList = session?.toolsList ?? new Set<RequestId>();
  for (const { raw, request } of requests) {
    stampCaller(raw, caller);
    pending.add(request.id);
    if (request.method !== 'tools/list') continue;
    if (session !== null) session.expectToolsList(request.id);
    else toolsList.add(request.id);
  }

  const errorId = !batch && requests.length === 1 ? requests[0]!.request.id : null;
  const headers = backendHeaders(req.headers, session?.backendId, true);
  const answer = await sendToBackend(core, { method: 'POST', headers, body: JSON.stringify(value), message: value, caller: auth }, session, res, log, errorId);
  if (answer === undefined) return;

  // The backend's session id never reaches the client: an initialize gets a gateway id mapped to it.
  const backendSession = answer.headers['mcp-session-id'];
  let sessionId: string | undefined;
  if (initialize && answer.status < 300 && typeof backendSession === 'string' && backendSession !== '') {
    const created = core.sessions.create(auth, backendSession);
    sessionId = created.id;
    log.session = created.id;
  } else if (session !== null && backendSession === session.backendId) {
    sessionId = session.id;
  }
  await relay({ res, log, logger: core.logger, toolScopes: core.toolScopes, sessionId, pending, toolsList, errorId }, answer);
}

/**
 * Refuses (throws `insufficient_scope`, nothing forwarded) when a `tools/call` names a tool whose scopes
 * the token lacks; for a batch, the challenge names the scopes of every call in it.
 */
function checkScopes(core: GatewayCore, requests: readonly Request[], batch: boolean, auth: AuthInfo, log: RequestLog): void {
  const toolScopes: (readonly string[] | undefined)[] = [];
  for (const request of requests) {
    const name = request.method === 'tools/call' ? request.params?.['name'] : undefined;
    if (typeof name !== 'string') continue;
    if (!batch) log.target = name;
    toolScopes.push(core.toolScopes.scopesFor(name));
  }
  requireBatchScopes(auth.scopes, toolScopes, log);
}

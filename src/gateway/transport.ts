/**
 * GET and DELETE through the gateway (spec 2025-11-25 transports): the standalone stream or a resumption
 * (`Last-Event-ID`), and the end of a session. Both map the caller's session to the backend's and relay
 * the answer; the backend checks `Accept`, the protocol version and the event id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '../core/auth.js';
import type { RequestLog } from '../core/log.js';
import { presentedSession, sendToBackend, type GatewayCore } from './context.js';
import { backendHeaders } from './headers.js';
import { relay } from './relay.js';

/** GET: a stream the backend sends on (its results for `tools/list` requests annotated on the way). */
export async function forwardGet(core: GatewayCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  log.method = 'GET';
  const session = presentedSession(core, req, res, auth, log);
  if (session === undefined) return;
  const answer = await sendToBackend(core, { method: 'GET', headers: backendHeaders(req.headers, session?.backendId, false), caller: auth }, session, res, log, null);
  if (answer === undefined) return;
  if (session !== null) {
    // A session with an open stream is not idle.
    session.streams++;
    res.once('close', () => session.streams--);
  }
  const toolsList = session !== null && session.toolsList.size > 0 ? session.toolsList : undefined;
  const sessionId = session !== null && answer.headers['mcp-session-id'] === session.backendId ? session.id : undefined;
  await relay({ res, log, logger: core.logger, toolScopes: core.toolScopes, sessionId, toolsList, errorId: null }, answer);
}

/** DELETE: the client ends its session, here and on the backend. */
export async function forwardDelete(core: GatewayCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  log.method = 'DELETE';
  const session = presentedSession(core, req, res, auth, log);
  if (session === undefined) return;
  const answer = await sendToBackend(core, { method: 'DELETE', headers: backendHeaders(req.headers, session?.backendId, false), caller: auth }, session, res, log, null);
  if (answer === undefined) return;
  if (session !== null && answer.status < 300) core.sessions.forget(session);
  await relay({ res, log, logger: core.logger, toolScopes: core.toolScopes, sessionId: undefined, errorId: null }, answer);
}

/**
 * What the gateway's method handlers share: the backend, the session map, the scope policy, and the two
 * steps every method takes (find the caller's session; send one exchange to the backend tied to the
 * client's connection, answering 502 when the backend cannot be reached).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '../core/auth.js';
import { JsonRpcCode } from '../core/errors.js';
import type { Logger, RequestLog } from '../core/log.js';
import type { RequestId } from '../mcp/jsonrpc.js';
import { refuse } from '../mcp/transport.js';
import type { Backend, BackendRequest, BackendResponse } from './backend.js';
import { badGateway } from './relay.js';
import type { GatewaySession, GatewaySessions } from './sessions.js';
import type { ToolScopes } from './tool-scopes.js';

/** The gateway's state, shared by its method handlers. */
export interface GatewayCore {
  readonly backend: Backend;
  readonly sessions: GatewaySessions;
  readonly toolScopes: ToolScopes;
  readonly logger: Logger;
  /** Largest request body (413 beyond). */
  readonly maxBodyBytes: number;
}

/**
 * The caller's session named by `Mcp-Session-Id`: the session; `null` when the request names none (the
 * backend decides what that means: a stateless backend needs none); undefined once a 404 was written for
 * an id that is unknown, expired or someone else's (spec 2025-11-25 transports: the client re-initializes).
 */
export function presentedSession(core: GatewayCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): GatewaySession | null | undefined {
  const id = req.headers['mcp-session-id'];
  if (typeof id !== 'string' || id === '') return null;
  const session = core.sessions.find(id, auth);
  if (session === undefined) {
    refuse(res, log, 404, 'unknown_session', JsonRpcCode.ConnectionClosed, 'Session not found');
    return undefined;
  }
  log.session = session.id;
  return session;
}

/**
 * Sends one exchange to the backend, aborted if the client goes away first. Resolves with the answer, or
 * undefined when there is none to relay: a 502 was written (the backend cannot be reached), or the client
 * left. A session the backend no longer knows (404) is forgotten here as well.
 */
export async function sendToBackend(
  core: GatewayCore,
  request: Omit<BackendRequest, 'onAbandon'>,
  session: GatewaySession | null,
  res: ServerResponse,
  log: RequestLog,
  errorId: RequestId | null,
): Promise<BackendResponse | undefined> {
  let abandoned = false;
  const onAbandon = (stop: () => void): void => {
    res.once('close', () => {
      if (res.writableFinished) return;
      abandoned = true;
      stop();
    });
  };
  let answer: BackendResponse;
  try {
    answer = await core.backend.send({ ...request, onAbandon });
  } catch (error) {
    if (abandoned) return undefined;
    core.logger.warn({ backend: core.backend.location, reason: (error as Error).message }, 'the backend cannot be reached');
    badGateway({ res, log, errorId }, 'backend_unavailable', 'Bad Gateway: the backend MCP server cannot be reached');
    return undefined;
  }
  if (session !== null && answer.status === 404) core.sessions.forget(session);
  return answer;
}

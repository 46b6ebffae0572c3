/**
 * Streamable HTTP (spec 2025-11-25, basic/transports): what the MCP endpoint shares across methods (the
 * session lookup, the protocol-version check, refusals), and what GET and DELETE do. POST is in post.ts.
 *
 * Refusals carry a JSON-RPC error body with `id: null` (the spec's "MAY comprise a JSON-RPC error response
 * that has no id") and set `log.decision`. A session that is unknown, expired, deleted or not the caller's
 * is 404 (the client re-initializes); no `Mcp-Session-Id` on anything but initialize is 400; an
 * `MCP-Protocol-Version` this server does not speak is 400 (absent: the version negotiated for the
 * session, else 2025-03-26, so nothing to refuse).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '../core/auth.js';
import { HttpError, JsonRpcCode, JsonRpcError } from '../core/errors.js';
import { accepts, mediaType, readBody } from '../core/http.js';
import type { RequestLog } from '../core/log.js';
import type { Core } from './dispatch.js';
import { errorFrame, type RequestId } from './jsonrpc.js';
import type { Session } from './session.js';
import { parseEventId, Stream } from './sse.js';
import { PROTOCOL_VERSIONS, type ServerCapabilities } from './types.js';

export interface TransportCore extends Core {
  readonly maxBodyBytes: number;
  /** The static part of the `initialize` result. */
  readonly serverInfo: { name: string; version: string; title?: string };
  readonly capabilities: ServerCapabilities;
  readonly instructions: string | undefined;
}

export const SUPPORTED: ReadonlySet<string> = new Set(PROTOCOL_VERSIONS);
/** Events the standalone GET stream keeps for a client that reconnects with `Last-Event-ID`. */
const STANDALONE_EVENTS = 64;

/** Writes a refusal: HTTP `status` with a JSON-RPC error body, and the decision in the request log. */
export function refuse(res: ServerResponse, log: RequestLog, status: number, decision: string, code: number, message: string, id: RequestId | null = null, headers: Record<string, string> = {}): void {
  log.decision = decision;
  const body = errorFrame(id, new JsonRpcError(code, message));
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * The caller's session named by `Mcp-Session-Id`, or a 400/404 already written. A promise only when the
 * shared session store had to be asked (see `SessionStore.find`).
 */
export function findSession(core: TransportCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Session | undefined | Promise<Session | undefined> {
  const id = req.headers['mcp-session-id'];
  if (typeof id !== 'string' || id === '') {
    refuse(res, log, 400, 'missing_session', JsonRpcCode.ConnectionClosed, 'Bad Request: Mcp-Session-Id header is required');
    return undefined;
  }
  const found = core.sessions.find(id, auth);
  return found instanceof Promise ? found.then((session) => reportLookup(session, res, log)) : reportLookup(found, res, log);
}

function reportLookup(session: Session | undefined, res: ServerResponse, log: RequestLog): Session | undefined {
  if (session === undefined) {
    refuse(res, log, 404, 'unknown_session', JsonRpcCode.ConnectionClosed, 'Session not found');
    return undefined;
  }
  log.session = session.id;
  return session;
}

/** What {@link readJsonRpcBody} gives when it has answered the request itself. */
export const REFUSED: unique symbol = Symbol('refused');

/**
 * The parsed JSON body of a POST on an MCP endpoint, or {@link REFUSED} when the answer is written already:
 * 415 unless the body is application/json, 413 past `maxBodyBytes` (the body is drained, so the client
 * really receives it), 400 + -32700 for bad JSON; also REFUSED, with nothing written, when the client went
 * away mid-body.
 */
export async function readJsonRpcBody(req: IncomingMessage, res: ServerResponse, log: RequestLog, maxBodyBytes: number): Promise<unknown> {
  const contentType = req.headers['content-type'];
  if (contentType !== 'application/json' && mediaType(contentType) !== 'application/json') {
    refuse(res, log, 415, 'unsupported_media_type', JsonRpcCode.ConnectionClosed, 'Unsupported Media Type: the body must be application/json');
    return REFUSED;
  }
  let body: Buffer;
  try {
    body = await readBody(req, maxBodyBytes);
  } catch (error) {
    if (error instanceof HttpError) {
      refuse(res, log, error.status, 'payload_too_large', JsonRpcCode.InvalidRequest, error.message, null, { ...error.headers });
      return REFUSED;
    }
    if (req.destroyed) return REFUSED; // the client went away mid-body
    throw error;
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    refuse(res, log, 400, 'parse_error', JsonRpcCode.ParseError, 'Parse error: the body is not valid JSON');
    return REFUSED;
  }
}

export function badVersionHeader(req: IncomingMessage, res: ServerResponse, log: RequestLog): boolean {
  const version = req.headers['mcp-protocol-version'];
  if (version === undefined || (typeof version === 'string' && SUPPORTED.has(version))) return false;
  refuse(res, log, 400, 'bad_protocol_version', JsonRpcCode.ConnectionClosed, `Bad Request: unsupported MCP-Protocol-Version (supported: ${PROTOCOL_VERSIONS.join(', ')})`);
  return true;
}

/**
 * GET: the session's standalone stream for server-initiated notifications (one at a time: 409 for a
 * second), or with `Last-Event-ID` the resumption of the stream that id belongs to.
 */
export async function handleGet(core: TransportCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  log.method = 'GET';
  if (!accepts(req.headers.accept, 'text/event-stream')) {
    return refuse(res, log, 406, 'not_acceptable', JsonRpcCode.ConnectionClosed, 'Not Acceptable: Accept must include text/event-stream');
  }
  if (badVersionHeader(req, res, log)) return;
  const session = await findSession(core, req, res, auth, log);
  if (session === undefined) return;
  const streams = (session.streams ??= new Map());
  const last = parseEventId(req.headers['last-event-id'] as string | undefined);
  const resumed = last === undefined ? undefined : streams.get(last.stream);
  if (last !== undefined && resumed !== undefined) {
    resumed.attach(res, {}, last.seq);
    if (resumed.done && resumed.key !== 0) streams.delete(resumed.key);
    return;
  }
  let standalone = streams.get(0);
  if (standalone?.connected === true) {
    return refuse(res, log, 409, 'conflict', JsonRpcCode.ConnectionClosed, 'Conflict: this session already has an open GET stream');
  }
  if (standalone === undefined) {
    standalone = new Stream(0, STANDALONE_EVENTS, core.retryMs);
    streams.set(0, standalone);
  }
  standalone.attach(res, {});
}

/** DELETE: the client ends its session (spec 2025-11-25 transports, session management 5). */
export async function handleDelete(core: TransportCore, req: IncomingMessage, res: ServerResponse, auth: AuthInfo, log: RequestLog): Promise<void> {
  log.method = 'DELETE';
  if (badVersionHeader(req, res, log)) return;
  const session = await findSession(core, req, res, auth, log);
  if (session === undefined) return;
  await core.sessions.terminate(session);
  res.writeHead(204);
  res.end();
}

export function handleOther(res: ServerResponse, log: RequestLog): void {
  refuse(res, log, 405, 'method_not_allowed', JsonRpcCode.ConnectionClosed, 'Method Not Allowed', null, { allow: 'GET, POST, DELETE' });
}

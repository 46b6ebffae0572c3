/**
 * The gateway's header policy, both directions: an allow-list, so what is not named here never crosses.
 *
 * To the backend: `Content-Type`, `Accept`, `MCP-Protocol-Version`, `Last-Event-ID`, and `Mcp-Session-Id`
 * (the backend's own id, set by the gateway, never the client's value). Never `Authorization`, `Cookie`,
 * `Proxy-Authorization`, `Forwarded`/`X-Forwarded-*`, nor any hop-by-hop header (RFC 9110 §7.6.1:
 * `Connection` and the headers it names, `Keep-Alive`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`).
 *
 * To the client: `Content-Type`, `Content-Length` (only when the body passes unchanged), `Cache-Control`,
 * `MCP-Protocol-Version`, `Allow`, `Retry-After`, and `Mcp-Session-Id` mapped to the gateway's id. Never
 * `Set-Cookie`, `WWW-Authenticate` (the challenge the client sees is the gateway's own), CORS headers (the
 * HTTP layer sets them for the gateway's origin policy), nor anything hop-by-hop.
 */
import type { IncomingHttpHeaders } from 'node:http';

const TO_BACKEND = ['accept', 'mcp-protocol-version', 'last-event-id'] as const;
const TO_CLIENT = ['content-type', 'cache-control', 'mcp-protocol-version', 'allow', 'retry-after'] as const;

/** Headers the `Connection` header names: hop-by-hop even when allow-listed (RFC 9110 §7.6.1). */
function connectionNamed(headers: IncomingHttpHeaders): ReadonlySet<string> | undefined {
  const connection = headers.connection;
  // The usual values name no header (and building a set for them was ~1% of the gateway's profile).
  if (connection === undefined || connection === 'keep-alive' || connection === 'close') return undefined;
  return new Set(connection.split(',').map((name) => name.trim().toLowerCase()));
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The headers of a request to the backend, from the client's request.
 *
 * @example
 * backendHeaders(req.headers, session?.backendId, true); // { accept, 'mcp-protocol-version', 'content-type', 'mcp-session-id' }
 */
export function backendHeaders(client: IncomingHttpHeaders, backendSessionId: string | undefined, json: boolean): Record<string, string> {
  const named = connectionNamed(client);
  const out: Record<string, string> = {};
  for (const name of TO_BACKEND) {
    const value = single(client[name]);
    if (value !== undefined && named?.has(name) !== true) out[name] = value;
  }
  if (json) out['content-type'] = 'application/json';
  if (backendSessionId !== undefined) out['mcp-session-id'] = backendSessionId;
  return out;
}

/**
 * The headers of the response to the client, from the backend's. `sessionId` is what goes out as
 * `Mcp-Session-Id` (the gateway's id for the backend's session), if anything; `keepLength` keeps
 * `Content-Length` for a body relayed byte for byte.
 */
export function clientHeaders(backend: IncomingHttpHeaders, sessionId: string | undefined, keepLength: boolean): Record<string, string> {
  const named = connectionNamed(backend);
  const out: Record<string, string> = {};
  for (const name of TO_CLIENT) {
    const value = single(backend[name]);
    if (value !== undefined && named?.has(name) !== true) out[name] = value;
  }
  if (keepLength && backend['content-length'] !== undefined) out['content-length'] = backend['content-length'];
  if (sessionId !== undefined) out['mcp-session-id'] = sessionId;
  return out;
}

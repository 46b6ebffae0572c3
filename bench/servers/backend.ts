/**
 * The backend of the `gateway-http` row, and the `backend` row itself: a lean MCP server with no
 * authentication, so that what the gateway adds in front of it shows. Portcullis's own MCP core
 * (`McpServer` with the registry of `lib/backend-core.ts`: the one `add` tool) served over plain
 * Streamable HTTP at `/mcp` by Node's `http` module: no bearer guard, no Host/Origin checks, no request
 * log. Every caller is the same anonymous one; the token the bench sends (the same bytes as the other
 * rows) is ignored, and so is the caller the gateway stamps into `_meta`.
 *
 * Run: `node backend.js --dist /path/to/portcullis/dist` → prints
 * `{"msg":"listening","url":"http://127.0.0.1:PORT/mcp"}`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AuthInfo } from '../../src/core/auth.js';
import { announce, exitOnSignal } from './lib/announce.js';
import { loadBackendCore } from './lib/backend-core.js';

const { McpServer, registry } = await loadBackendCore('backend');
const mcp = new McpServer({ registry, info: { name: 'portcullis-bench-backend', version: '0.1.0' } });

/** Who every request is from: there is no authentication here. */
const ANONYMOUS: AuthInfo = { subject: 'anonymous', clientId: 'anonymous', scopes: [], audience: [], issuer: '', expiresAt: Number.MAX_SAFE_INTEGER, claims: {} };

const server = http.createServer((req, res) => {
  if (req.url !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  mcp.handle(req, res, ANONYMOUS, {}).catch(() => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});

server.listen(0, '127.0.0.1', () => {
  announce(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
});
exitOnSignal(() => {
  mcp.close();
  server.close();
});

/**
 * The backend of the `gateway-stdio` row: the same server as `backend.ts` (Portcullis's MCP core with the
 * registry of `lib/backend-core.ts`: the one `add` tool), over stdio instead of HTTP (`McpServer.serveStdio`:
 * one JSON-RPC message per line on stdin and stdout), run by `portcullis proxy -- node backend-stdio.js
 * --dist DIR`, one process per gateway session. Every caller is the same anonymous one; it exits when
 * the gateway closes its stdin.
 *
 * Run: `node backend-stdio.js --dist /path/to/portcullis/dist`, then speak MCP on its stdin.
 */
import type { AuthInfo } from '../../src/core/auth.js';
import { exitOnSignal } from './lib/announce.js';
import { loadBackendCore } from './lib/backend-core.js';

const { McpServer, registry } = await loadBackendCore('backend-stdio');
const mcp = new McpServer({ registry, info: { name: 'portcullis-bench-backend', version: '0.1.0' } });

/** Who every request is from: there is no authentication here. */
const ANONYMOUS: AuthInfo = { subject: 'anonymous', clientId: 'anonymous', scopes: [], audience: [], issuer: '', expiresAt: Number.MAX_SAFE_INTEGER, claims: {} };

exitOnSignal(() => mcp.close());
await mcp.serveStdio({ input: process.stdin, output: process.stdout, auth: ANONYMOUS });
mcp.close();
process.exit(0);

/**
 * The backend of the `gateway-stdio` row: the same `add` tool (`lib/backend-core.ts`) as an MCP server over
 * stdio (spec 2025-11-25, basic/transports, "stdio": one JSON-RPC message per line on stdin and stdout),
 * run by `portcullis proxy -- node backend-stdio.js --dist DIR`, one process per gateway session.
 *
 * Portcullis's MCP core has no stdio transport, so the loop here is the least a stdio server does, with
 * the core's own pieces where it has them (message classification, `tools/list` descriptors, argument
 * checks, result frames): `initialize` (the client's protocol version when supported, else the latest),
 * `ping`, `tools/list`, `tools/call`; notifications and responses are ignored; any other method gets
 * -32601. Nothing else is written to stdout.
 *
 * Run: `node backend-stdio.js --dist /path/to/portcullis/dist`, then speak MCP on its stdin.
 */
import type { AuthInfo } from '../../src/core/auth.js';
import type { CallContext } from '../../src/mcp/registry.js';
import { exitOnSignal } from './lib/announce.js';
import { loadBackendCore } from './lib/backend-core.js';

const { registry, schemas, jsonrpc, protocolVersions } = await loadBackendCore('backend-stdio');
const INFO = { name: 'portcullis-bench-backend', version: '0.1.0' };
const TOOLS = { tools: [...registry.tools.values()].map((tool) => schemas.toolDescriptor(tool)) };

/** What a tool sees of its caller: nothing (no authentication), and no client to talk back to. */
const CONTEXT: CallContext = {
  auth: { subject: 'anonymous', clientId: 'anonymous', scopes: [], audience: [], issuer: '', expiresAt: Number.MAX_SAFE_INTEGER, claims: {} } satisfies AuthInfo,
  sessionId: undefined,
  signal: new AbortController().signal,
  progress: async () => {},
  log: async () => {},
  request: async () => {
    throw new Error('this backend sends no requests to the client');
  },
};

type Id = string | number | null;
const errorFrame = (id: Id, code: number, message: string): string => JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });

async function answer(line: string): Promise<string | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return errorFrame(null, -32700, 'Parse error');
  }
  const message = jsonrpc.classify(value);
  if (message.kind === 'invalid') return errorFrame(message.id, message.error.code, message.error.message);
  if (message.kind !== 'request') return undefined; // notifications/initialized, cancellations, responses
  const { id, method, params } = message;
  switch (method) {
    case 'initialize': {
      const asked = params?.['protocolVersion'];
      const protocolVersion = (protocolVersions as readonly unknown[]).includes(asked) ? asked : protocolVersions[0];
      return jsonrpc.resultFrame(id, { protocolVersion, capabilities: { tools: { listChanged: false } }, serverInfo: INFO });
    }
    case 'ping':
      return jsonrpc.resultFrame(id, {});
    case 'tools/list':
      return jsonrpc.resultFrame(id, TOOLS);
    case 'tools/call': {
      const name = params?.['name'];
      const tool = typeof name === 'string' ? registry.tools.get(name) : undefined;
      if (tool === undefined) return errorFrame(id, -32602, `Unknown tool: ${String(name)}`);
      const args = (params?.['arguments'] ?? {}) as Record<string, unknown>;
      const checked = schemas.checkArguments(tool.name, schemas.isZodInput(tool.input) ? tool.input : undefined, args);
      if (!checked.ok) return jsonrpc.resultFrame(id, { content: [{ type: 'text', text: checked.message }], isError: true });
      return jsonrpc.resultFrame(id, await tool.run(checked.value, CONTEXT));
    }
    default:
      return errorFrame(id, -32601, `Method not found: ${method}`);
  }
}

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  let newline;
  while ((newline = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    if (line.trim() === '') continue;
    // Writes to a pipe are synchronous on Linux, so answers leave in the order they are ready.
    void answer(line).then((frame) => frame !== undefined && process.stdout.write(`${frame}\n`));
  }
});
// The gateway closes stdin to stop the process: answers already under way go out first.
process.stdin.once('end', () => setImmediate(() => process.exit(0)));
exitOnSignal(() => {});

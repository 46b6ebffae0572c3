/**
 * What the bench's two backends share (`backend.ts` over Streamable HTTP, `backend-stdio.ts` over stdio):
 * Portcullis's own MCP core (`McpServer`), and the registry with the one `add` tool every MCP row of the table answers.
 *
 * The core comes from the built `dist/`, whose place is given at run time (`--dist`): these files are
 * transpiled into `.cache/bench/servers/` before they run, where a relative import would not find it.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

type ServerModule = typeof import('../../../src/mcp/server.js');
type RegistryModule = typeof import('../../../src/mcp/registry.js');

/** The parts of the core the backends use, loaded from `dist/`. */
export interface BackendCore {
  McpServer: ServerModule['McpServer'];
  /** A registry holding the `add` tool. */
  registry: InstanceType<RegistryModule['Registry']>;
}

/**
 * Reads `--dist DIR` from the command line and loads the core from there; exits with a usage line without it.
 *
 * @example
 * const { McpServer, registry } = await loadBackendCore('backend');
 */
export async function loadBackendCore(name: string): Promise<BackendCore> {
  const { values } = parseArgs({ options: { dist: { type: 'string' } } });
  const dist = values.dist;
  if (dist === undefined) {
    process.stderr.write(`usage: ${name} --dist PORTCULLIS_DIST_DIR\n`);
    process.exit(2);
  }
  const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(dist, path)).href)) as T;
  const [{ McpServer }, { Registry }] = await Promise.all([load<ServerModule>('mcp/server.js'), load<RegistryModule>('mcp/registry.js')]);
  const registry = new Registry().tool({
    name: 'add',
    description: 'Adds two numbers.',
    input: z.object({ a: z.number(), b: z.number() }),
    run: ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }),
  });
  return { McpServer, registry };
}

/**
 * The rows of the table: how each server is started and which request loads it. Every row answers the
 * same `tools/call` of `add` (body {@link CALL_BODY}, answer `3`) over 127.0.0.1, carrying the same
 * kind of token (ES256, `at+jwt`, audience = that server's resource URL) from the local issuer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type ServerProcess } from './lib/child.js';
import { checkCall, initializeSession, mcpHeaders } from './lib/mcp-client.js';
import type { RowId } from './lib/options.js';
import type { Issuer } from './issuer.js';

export interface Target {
  url: string;
  headers: Record<string, string>;
}

export interface Row {
  id: RowId;
  label: string;
  start(): Promise<ServerProcess>;
  /** Opens whatever session the row needs, checks one call, and returns what the load sends. */
  prepare(server: ServerProcess): Promise<Target>;
}

export interface RowContext {
  root: string;
  /** Where `bench/servers` was compiled to. */
  serversDir: string;
  issuer: Issuer;
  /** Extra `node` flags for the Portcullis process (e.g. `--cpu-prof`). */
  portcullisNodeFlags: readonly string[];
}

/** Environment for children: none of the caller's Portcullis/OAuth settings leak into a row. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(OAUTH_|OKTA_|MCP_|PORTCULLIS_)|^(PORT|HOST|PUBLIC_URL|LOG_LEVEL|NODE_OPTIONS)$/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** Arguments of the `portcullis serve` process the benchmark measures. */
export function portcullisArgs(context: RowContext): string[] {
  return [...context.portcullisNodeFlags, 'bin/portcullis.js', 'serve', '--port', '0', '--issuer', context.issuer.url, '--store', 'memory:', '--log-level', process.env.BENCH_LOG_LEVEL ?? 'info'];
}

/** Why Portcullis cannot run yet, or undefined when it can. */
export function portcullisMissing(root: string): string | undefined {
  return existsSync(join(root, 'dist/cli/main.js')) ? undefined : 'dist/cli/main.js is missing: run `npm run build` first';
}

export function startPortcullis(context: RowContext): Promise<ServerProcess> {
  return startServer('portcullis', process.execPath, portcullisArgs(context), { cwd: context.root, env: cleanEnv() });
}

async function sessionTarget(server: ServerProcess, issuer: Issuer): Promise<Target> {
  const token = await issuer.sign({ audience: server.url });
  const sessionId = await initializeSession(server.url, token);
  const headers = mcpHeaders(token, sessionId);
  await checkCall(server.url, headers);
  return { url: server.url, headers };
}

export function defineRows(context: RowContext): Row[] {
  const { issuer, serversDir, root } = context;
  const node = (name: string, file: string, args: readonly string[] = []) => (): Promise<ServerProcess> =>
    startServer(name, process.execPath, [join(serversDir, file), ...args], { cwd: root, env: cleanEnv() });
  const anchorArgs = (mode: string) => ['--mode', mode, '--issuer', issuer.url, '--jwks-uri', issuer.jwksUri];

  return [
    {
      id: 'floor',
      label: 'Node `http` floor (JSON echo, no auth)',
      start: node('floor', 'floor.js'),
      async prepare(server) {
        // the same bytes as the other rows, token included; the floor ignores it
        const headers = mcpHeaders(await issuer.sign({ audience: server.url }));
        await checkCall(server.url, headers);
        return { url: server.url, headers };
      },
    },
    {
      id: 'sdk-stateful',
      label: 'SDK v2 anchor, stateful (one session)',
      start: node('sdk-stateful', 'sdk-anchor.js', anchorArgs('stateful')),
      prepare: (server) => sessionTarget(server, issuer),
    },
    {
      id: 'sdk-stateless',
      label: 'SDK v2 anchor, stateless (server + transport per request)',
      start: node('sdk-stateless', 'sdk-anchor.js', anchorArgs('stateless')),
      async prepare(server) {
        const headers = mcpHeaders(await issuer.sign({ audience: server.url }));
        await checkCall(server.url, headers);
        return { url: server.url, headers };
      },
    },
    {
      id: 'portcullis',
      label: 'Portcullis `serve` (JWT, memory store, info logs)',
      start: () => startPortcullis(context),
      prepare: (server) => sessionTarget(server, issuer),
    },
  ];
}

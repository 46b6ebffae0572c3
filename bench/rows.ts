/**
 * The rows of the table: how each server is started and which request loads it, over 127.0.0.1.
 *
 * - `tools/call` rows answer the same `tools/call` of `add` (body {@link CALL_BODY}, answer `3`) with the
 *   same kind of token (ES256, `at+jwt`, audience = that server's resource URL): from the local issuer
 *   for the floor, the SDK anchor, `portcullis` (JWT mode, memory store), the backend and the gateways
 *   (JWT mode, memory store, like `portcullis`); from the server's own embedded authorization server for
 *   `serve-<store>`. The floor and the backend ignore the token (no auth).
 * - `token-<store>` rows load the token endpoint of `portcullis serve` on that store with one
 *   `client_credentials` request (`lib/token-client.ts`), which reads the client from the store each time.
 * - `gateway-http` starts its own backend (`servers/backend.ts`, the `backend` row's server) before the
 *   gateway and stops it after; `gateway-stdio` gives the gateway the command of `servers/backend-stdio.ts`
 *   (the same tool over stdio), which the gateway spawns for the bench's session and stops with itself.
 *   The backend's CPU is reported beside the gateway's (`Row.others`). `forwarder` is the same HTTP
 *   set-up with a bare 30-line forwarder (`servers/forwarder.ts`) in the gateway's place: what the extra
 *   hop alone costs on this machine.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, startServer, withCompanions, type ServerProcess } from './lib/child.js';
import { CALL_BODY, CALL_EXPECT, checkCall, initializeSession, mcpHeaders } from './lib/mcp-client.js';
import { STORE_KINDS, type RowId, type StoreKind } from './lib/options.js';
import { childPids, cpuMicrosOf } from './lib/proc.js';
import { TOKEN_EXPECT, clientCredentialsRequest, requestToken } from './lib/token-client.js';
import { RowUnavailable } from './lib/unavailable.js';
import type { Issuer } from './issuer.js';
import type { BenchStores } from './stores.js';

export interface Target {
  url: string;
  headers: Record<string, string>;
  /** The loaded request body; `[<id>]` becomes a unique id per request. */
  body: string;
  /** What every successful response body contains. */
  expect: string;
}

/** What a row's requests do: the MCP call every server answers, or a token request. */
export type Operation = 'tools/call' | 'token';

/** What the other processes working for a row are, in the report: a store server, or the backend behind a gateway. */
export type OtherKind = 'store' | 'backend';

/**
 * Processes other than the row's server that work for its requests (Redis, PostgreSQL backends, the MCP
 * server behind a gateway). Their CPU is reported beside the server's, never added to it.
 */
export interface OtherProcesses {
  readonly kind: OtherKind;
  /** Their CPU time (µs) by process; undefined when there is none to read now. */
  cpu(): Promise<Map<number, number> | undefined>;
}

export interface Row {
  id: RowId;
  label: string;
  operation: Operation;
  /** Starts the server; rejects with {@link RowUnavailable} when something outside the bench is missing. */
  start(): Promise<ServerProcess>;
  /** Opens whatever session the row needs, checks one request, and returns what the load sends. */
  prepare(server: ServerProcess): Promise<Target>;
  /** The other processes working for this row; absent when there are none. */
  others?: OtherProcesses;
}

export interface RowContext {
  root: string;
  /** Where `bench/servers` was compiled to. */
  serversDir: string;
  issuer: Issuer;
  /** Extra `node` flags for the Portcullis process of the `portcullis` and `gateway-*` rows (e.g. `--cpu-prof`). */
  portcullisNodeFlags: readonly string[];
  /** The places of the `serve-*` and `token-*` rows. */
  stores: BenchStores;
  /** `PORTCULLIS_SECRET` of the `serve-*` and `token-*` servers (those on one store share its keys). */
  secret: string;
}

const logLevel = (): string => process.env.BENCH_LOG_LEVEL ?? 'info';

/** Arguments of the `portcullis serve` process the benchmark measures. */
export function portcullisArgs(context: RowContext): string[] {
  return [...context.portcullisNodeFlags, 'bin/portcullis.js', 'serve', '--port', '0', '--issuer', context.issuer.url, '--store', 'memory:', '--log-level', logLevel()];
}

/** Why Portcullis cannot run yet, or undefined when it can. */
export function portcullisMissing(root: string): string | undefined {
  return existsSync(join(root, 'dist/cli/main.js')) ? undefined : 'dist/cli/main.js is missing: run `npm run build` first';
}

export function startPortcullis(context: RowContext): Promise<ServerProcess> {
  const missing = portcullisMissing(context.root);
  if (missing) return Promise.reject(new RowUnavailable(missing));
  return startServer('portcullis', process.execPath, portcullisArgs(context), { cwd: context.root, env: cleanEnv() });
}

/** `portcullis serve` with its embedded authorization server on the bench's place of `kind`, for `rowId`. */
async function startServe(context: RowContext, kind: StoreKind, rowId: RowId): Promise<ServerProcess> {
  const missing = portcullisMissing(context.root);
  if (missing) throw new RowUnavailable(missing);
  const place = await context.stores.place(kind);
  const args = ['bin/portcullis.js', 'serve', '--port', '0', '--store', place.urlFor(rowId), '--log-level', logLevel()];
  return startServer(rowId, process.execPath, args, { cwd: context.root, env: cleanEnv({ PORTCULLIS_SECRET: context.secret }) });
}

/** An MCP session opened with `token`, checked with one call. */
async function sessionTarget(server: ServerProcess, token: string): Promise<Target> {
  const sessionId = await initializeSession(server.url, token);
  const headers = mcpHeaders(token, sessionId);
  await checkCall(server.url, headers);
  return { url: server.url, headers, body: CALL_BODY, expect: CALL_EXPECT };
}

/** An MCP session opened with a token `issuer` signed for the server (the rows whose servers check JWTs, and their anchors). */
async function signedSessionTarget(server: ServerProcess, issuer: Issuer): Promise<Target> {
  return sessionTarget(server, await issuer.sign({ audience: server.url }));
}

/** No session (the floor, the stateless anchor): the token's headers, checked with one call. */
async function sessionlessTarget(server: ServerProcess, issuer: Issuer): Promise<Target> {
  const headers = mcpHeaders(await issuer.sign({ audience: server.url }));
  await checkCall(server.url, headers);
  return { url: server.url, headers, body: CALL_BODY, expect: CALL_EXPECT };
}

const STORE_NAMES: Readonly<Record<StoreKind, string>> = { sqlite: 'SQLite', redis: 'Redis', postgres: 'PostgreSQL' };

/** The two rows of one store: `tools/call` with a token of the server's own, and the token endpoint. */
function storeRows(context: RowContext, kind: StoreKind): [Row, Row] {
  const name = STORE_NAMES[kind];
  const store = (rowId: RowId): OtherProcesses => ({ kind: 'store', cpu: async () => (await context.stores.place(kind)).cpu(rowId) });
  const call: Row = {
    id: `serve-${kind}`,
    label: `Portcullis \`serve\` (embedded AS, ${name} store, info logs): \`tools/call\``,
    operation: 'tools/call',
    start: () => startServe(context, kind, call.id),
    async prepare(server) {
      const { client } = await context.stores.place(kind);
      return sessionTarget(server, await requestToken(await clientCredentialsRequest(server.url, client)));
    },
    others: store(`serve-${kind}`),
  };
  const token: Row = {
    id: `token-${kind}`,
    label: `Portcullis \`serve\` (embedded AS, ${name} store, info logs): token endpoint, \`client_credentials\``,
    operation: 'token',
    start: () => startServe(context, kind, token.id),
    async prepare(server) {
      const { client } = await context.stores.place(kind);
      const request = await clientCredentialsRequest(server.url, client);
      await requestToken(request);
      return { ...request, expect: TOKEN_EXPECT };
    },
    others: store(`token-${kind}`),
  };
  return [call, token];
}

/** The bench's backend MCP server (`servers/backend.ts`: Portcullis's MCP core from `dist/`, no auth). */
function startBackend(context: RowContext, name: string): Promise<ServerProcess> {
  const missing = portcullisMissing(context.root);
  if (missing) return Promise.reject(new RowUnavailable(missing));
  const args = [join(context.serversDir, 'backend.js'), '--dist', join(context.root, 'dist')];
  return startServer(name, process.execPath, args, { cwd: context.root, env: cleanEnv() });
}

/** `portcullis proxy` configured like the `portcullis` row (the local issuer, memory store), then `backendArgs`. */
function proxyArgs(context: RowContext, backendArgs: readonly string[]): string[] {
  return [...context.portcullisNodeFlags, 'bin/portcullis.js', 'proxy', '--port', '0', '--issuer', context.issuer.url, '--store', 'memory:', '--log-level', logLevel(), ...backendArgs];
}

/** Why this build cannot run a stdio backend, or undefined when it can. */
function stdioMissing(root: string): string | undefined {
  return existsSync(join(root, 'dist/gateway/backends/stdio.js')) ? undefined : 'this build of Portcullis has no stdio backend (dist/gateway/backends/stdio.js)';
}

/**
 * A `gateway-<transport>` row: `portcullis proxy` in front of a backend of its own. `backend()` starts it
 * before the gateway and says how the gateway reaches it (it may start nothing: a stdio backend is the
 * gateway's child); it stops with the row. `backendPids` names the backend's processes, whose CPU is
 * reported beside the gateway's.
 */
function gatewayRow(
  context: RowContext,
  transport: 'http' | 'stdio',
  backend: () => Promise<{ args: string[]; process?: ServerProcess }>,
  backendPids: (gateway: ServerProcess) => number[],
): Row {
  let running: ServerProcess | undefined;
  const row: Row = {
    id: `gateway-${transport}`,
    label: `Portcullis \`proxy\` (JWT, memory store, info logs) → backend over ${transport === 'http' ? 'HTTP' : 'stdio'}`,
    operation: 'tools/call',
    async start() {
      const { args, process: started } = await backend();
      try {
        const gateway = await startServer(row.id, process.execPath, proxyArgs(context, args), { cwd: context.root, env: cleanEnv() });
        running = started ? withCompanions(gateway, [started]) : gateway;
        return running;
      } catch (error) {
        await started?.stop();
        throw error;
      }
    },
    prepare: (server) => signedSessionTarget(server, context.issuer),
    others: { kind: 'backend', cpu: async () => (running === undefined ? undefined : cpuMicrosOf(backendPids(running))) },
  };
  return row;
}

/** A bare forwarder (`servers/forwarder.ts`) in front of a backend of its own: the `gateway-http` row's anchor. */
function forwarderRow(context: RowContext): Row {
  let backend: ServerProcess | undefined;
  return {
    id: 'forwarder',
    label: 'Bare forwarder (30 lines of `node:http`, no auth) → backend over HTTP',
    operation: 'tools/call',
    async start() {
      backend = await startBackend(context, 'forwarder backend');
      try {
        const args = [join(context.serversDir, 'forwarder.js'), '--target', backend.url];
        return withCompanions(await startServer('forwarder', process.execPath, args, { cwd: context.root, env: cleanEnv() }), [backend]);
      } catch (error) {
        await backend.stop();
        throw error;
      }
    },
    // the same bytes as the gateway rows, token included; neither the forwarder nor the backend reads it
    prepare: (server) => signedSessionTarget(server, context.issuer),
    others: { kind: 'backend', cpu: async () => (backend === undefined ? undefined : cpuMicrosOf([backend.pid])) },
  };
}

/** The command of the stdio backend (`servers/backend-stdio.ts`, the `backend` row's server over stdio). */
function stdioBackendCommand(context: RowContext): string[] {
  return [process.execPath, join(context.serversDir, 'backend-stdio.js'), '--dist', join(context.root, 'dist')];
}

/**
 * A bare stdio bridge (`servers/stdio-forwarder.ts`) spawning the `gateway-stdio` row's backend command:
 * that row's anchor, what the stdio hop costs without anything the gateway adds.
 */
function stdioForwarderRow(context: RowContext): Row {
  const { root, serversDir } = context;
  let running: ServerProcess | undefined;
  return {
    id: 'stdio-forwarder',
    label: 'Bare stdio bridge (60 lines of `node:http`, no auth) → backend over stdio',
    operation: 'tools/call',
    async start() {
      const missing = portcullisMissing(root);
      if (missing) throw new RowUnavailable(missing);
      const args = [join(serversDir, 'stdio-forwarder.js'), '--', ...stdioBackendCommand(context)];
      running = await startServer('stdio-forwarder', process.execPath, args, { cwd: root, env: cleanEnv() });
      return running;
    },
    // the same bytes as the gateway rows, token included; neither the bridge nor the backend reads it
    prepare: (server) => signedSessionTarget(server, context.issuer),
    others: { kind: 'backend', cpu: async () => (running === undefined ? undefined : cpuMicrosOf(childPids(running.pid))) },
  };
}

/** The backend called directly, and over HTTP and over stdio a bare bridge to it and `portcullis proxy` in front of it. */
function gatewayRows(context: RowContext): Row[] {
  const { root } = context;
  let httpBackend: ServerProcess | undefined;
  return [
    {
      id: 'backend',
      label: 'Bench backend (Portcullis MCP core, no auth), called directly',
      operation: 'tools/call',
      start: () => startBackend(context, 'backend'),
      // the same bytes as the gateway rows, token included; the backend ignores it
      prepare: (server) => signedSessionTarget(server, context.issuer),
    },
    forwarderRow(context),
    gatewayRow(
      context,
      'http',
      async () => {
        httpBackend = await startBackend(context, 'gateway-http backend');
        return { args: ['--backend-url', httpBackend.url], process: httpBackend };
      },
      () => (httpBackend === undefined ? [] : [httpBackend.pid]),
    ),
    stdioForwarderRow(context),
    gatewayRow(
      context,
      'stdio',
      async () => {
        const missing = portcullisMissing(root) ?? stdioMissing(root);
        if (missing) throw new RowUnavailable(missing);
        // One process per gateway session, spawned by the gateway when the bench initializes its session.
        return { args: ['--', ...stdioBackendCommand(context)] };
      },
      (gateway) => childPids(gateway.pid),
    ),
  ];
}

export function defineRows(context: RowContext): Row[] {
  const { issuer, serversDir, root } = context;
  const node = (name: string, file: string, args: readonly string[] = []) => (): Promise<ServerProcess> =>
    startServer(name, process.execPath, [join(serversDir, file), ...args], { cwd: root, env: cleanEnv() });
  const anchorArgs = (mode: string) => ['--mode', mode, '--issuer', issuer.url, '--jwks-uri', issuer.jwksUri];

  const stores = STORE_KINDS.map((kind) => storeRows(context, kind));

  return [
    {
      id: 'floor',
      label: 'Node `http` floor (JSON echo, no auth)',
      operation: 'tools/call',
      start: node('floor', 'floor.js'),
      // the same bytes as the other rows, token included; the floor ignores it
      prepare: (server) => sessionlessTarget(server, issuer),
    },
    {
      id: 'sdk-stateful',
      label: 'SDK v2 anchor, stateful (one session)',
      operation: 'tools/call',
      start: node('sdk-stateful', 'sdk-anchor.js', anchorArgs('stateful')),
      prepare: (server) => signedSessionTarget(server, issuer),
    },
    {
      id: 'sdk-stateless',
      label: 'SDK v2 anchor, stateless (server + transport per request)',
      operation: 'tools/call',
      start: node('sdk-stateless', 'sdk-anchor.js', anchorArgs('stateless')),
      prepare: (server) => sessionlessTarget(server, issuer),
    },
    {
      id: 'portcullis',
      label: 'Portcullis `serve` (JWT, memory store, info logs)',
      operation: 'tools/call',
      start: () => startPortcullis(context),
      prepare: (server) => signedSessionTarget(server, issuer),
    },
    ...stores.map(([call]) => call),
    ...stores.map(([, token]) => token),
    ...gatewayRows(context),
  ];
}

/**
 * The stores under the `serve-*` and `token-*` rows: one fresh place per store per run — a SQLite file in
 * a new temporary directory, a random Redis key prefix, a random PostgreSQL schema — shared by that
 * store's two rows (two instances on one store, as in a deployment). A place is made when a row first
 * asks for it: the server is reached first (an unreachable Redis or PostgreSQL is {@link RowUnavailable},
 * so its rows are skipped, not failed), then the confidential client the rows use is added with
 * `portcullis clients add`, as an operator would. `cleanup()` removes every place made.
 *
 * For Redis and PostgreSQL on this machine the store server's own CPU is read from `/proc` as well: the
 * whole redis-server process (other users of that Redis count too), or the PostgreSQL backends of one
 * row's connections, found by the `application_name` its store URL carries.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { cleanEnv } from './lib/child.js';
import type { StoreKind } from './lib/options.js';
import { cpuMicrosOf } from './lib/proc.js';
import { RowUnavailable } from './lib/unavailable.js';

/** The confidential `client_credentials` client added to each store. */
export interface BenchClient {
  id: string;
  secret: string;
}

export interface StorePlace {
  kind: StoreKind;
  client: BenchClient;
  /** The `--store` URL for the server of `rowId`. */
  urlFor(rowId: string): string;
  /** CPU time (µs) by process of the store server working for `rowId`; undefined when it runs in the server's process or elsewhere. */
  cpu(rowId: string): Promise<Map<number, number> | undefined>;
}

export interface BenchStores {
  /** The place of `kind`, made on first call; rejects with {@link RowUnavailable} when its server cannot be reached. */
  place(kind: StoreKind): Promise<StorePlace>;
  /** Removes every place made; resolves with the problems (one line each) instead of throwing. */
  cleanup(): Promise<string[]>;
}

export interface BenchStoresOptions {
  root: string;
  redisUrl: string;
  postgresUrl: string;
  /** `PORTCULLIS_SECRET` of every process on these stores (they share the signing keys). */
  secret: string;
  /** Where a line saying what was made goes. */
  progress?: (line: string) => void;
}

interface Backend {
  description: string;
  urlFor(rowId: string): string;
  cpu(rowId: string): Promise<Map<number, number> | undefined>;
  cleanup(): Promise<void>;
}

const run = promisify(execFile);
/** Bounds the cleanup of a Redis prefix: 10,000 SCAN pages of 500 keys. */
const MAX_SCAN_PAGES = 10_000;

/**
 * @example
 * const stores = benchStores({ root, redisUrl, postgresUrl, secret });
 * const { client, urlFor } = await stores.place('redis');
 * // … start `portcullis serve --store ${urlFor('token-redis')}` …
 * await stores.cleanup();
 */
export function benchStores(options: BenchStoresOptions): BenchStores {
  const tag = randomBytes(6).toString('hex');
  const places = new Map<StoreKind, Promise<StorePlace>>();
  const backends: Backend[] = [];

  async function make(kind: StoreKind): Promise<StorePlace> {
    const backend = kind === 'sqlite' ? sqliteBackend() : kind === 'redis' ? await redisBackend(options.redisUrl, tag) : await postgresBackend(options.postgresUrl, tag);
    backends.push(backend);
    const client = await addClient(options, backend.urlFor('setup'));
    options.progress?.(`store ${kind}: ${backend.description}, client ${client.id}`);
    return { kind, client, urlFor: backend.urlFor, cpu: backend.cpu };
  }

  return {
    place(kind) {
      let place = places.get(kind);
      if (!place) places.set(kind, (place = make(kind)));
      return place;
    },
    async cleanup() {
      const problems: string[] = [];
      for (const backend of backends.splice(0)) {
        try {
          await backend.cleanup();
        } catch (error) {
          problems.push(`could not remove ${backend.description}: ${(error as Error).message}`);
        }
      }
      return problems;
    },
  };
}

/** `portcullis clients add` on the store: a confidential client for `client_credentials`, Basic auth. */
async function addClient(options: BenchStoresOptions, storeUrl: string): Promise<BenchClient> {
  const args = ['bin/portcullis.js', 'clients', 'add', '--store', storeUrl, '--name', 'portcullis-bench', '--grant-types', 'client_credentials', '--auth-method', 'client_secret_basic', '--json'];
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, args, { cwd: options.root, env: cleanEnv({ PORTCULLIS_SECRET: options.secret }), timeout: 30_000 }));
  } catch (error) {
    const { stderr, message } = error as Error & { stderr?: string };
    throw new Error(`portcullis clients add failed: ${(stderr || message).trim()}`);
  }
  const added = JSON.parse(stdout) as { client_id?: unknown; client_secret?: unknown };
  if (typeof added.client_id !== 'string' || typeof added.client_secret !== 'string') throw new Error(`portcullis clients add printed no client: ${stdout.slice(0, 200)}`);
  return { id: added.client_id, secret: added.client_secret };
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(os.tmpdir(), 'portcullis-bench-'));
  const file = join(dir, 'bench.db');
  return {
    description: `SQLite file ${file}`,
    urlFor: () => `sqlite:${file}`,
    // In the server's own process: its CPU is already in the row's CPU/req.
    cpu: async () => undefined,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const isLoopback = (host: string): boolean => ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host);

/** A process of this machine whose command name starts with `name`, or undefined. */
function localProcess(pid: number, name: string): number | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith(name) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function redisBackend(serverUrl: string, tag: string): Promise<Backend> {
  const prefix = `portcullis-bench:${tag}:`;
  const server = new URL(serverUrl);
  const admin = new Redis(serverUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  // The socket's error (ECONNREFUSED…) says more than the "Connection is closed" the command rejects with.
  let socketError: Error | undefined;
  admin.on('error', (error: Error) => (socketError ??= error));
  let pid: number | undefined;
  try {
    await admin.connect();
    const processId = /^process_id:(\d+)/m.exec(await admin.info('server'))?.[1];
    if (processId !== undefined && isLoopback(server.hostname)) pid = localProcess(Number(processId), 'redis');
  } catch (error) {
    admin.disconnect();
    throw new RowUnavailable(`Redis at ${server.host} cannot be reached: ${(socketError ?? (error as Error)).message}`);
  }
  const url = new URL(serverUrl);
  url.searchParams.set('prefix', prefix);
  return {
    description: `Redis keys ${prefix}* at ${server.host}`,
    urlFor: () => url.href,
    cpu: async () => (pid === undefined ? undefined : cpuMicrosOf([pid])),
    async cleanup() {
      try {
        let cursor = '0';
        for (let page = 0; page < MAX_SCAN_PAGES; page++) {
          const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length > 0) await admin.unlink(...keys);
          cursor = next;
          if (cursor === '0') return;
        }
        throw new Error(`more than ${MAX_SCAN_PAGES} SCAN pages`);
      } finally {
        admin.disconnect();
      }
    },
  };
}

async function postgresBackend(serverUrl: string, tag: string): Promise<Backend> {
  const schema = `portcullis_bench_${tag}`;
  const server = new URL(serverUrl);
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 3000 });
  admin.on('error', () => {}); // reported by the failing query
  try {
    await admin.connect();
  } catch (error) {
    await admin.end().catch(() => {});
    throw new RowUnavailable(`PostgreSQL at ${server.host}${server.pathname} cannot be reached: ${(error as Error).message}`);
  }
  const applicationName = (rowId: string): string => `portcullis-bench-${tag}-${rowId}`;
  const local = isLoopback(server.hostname);
  return {
    description: `PostgreSQL schema ${schema} at ${server.host}${server.pathname}`,
    urlFor(rowId) {
      const url = new URL(serverUrl);
      url.searchParams.set('schema', schema);
      url.searchParams.set('application_name', applicationName(rowId));
      return url.href;
    },
    async cpu(rowId) {
      if (!local) return undefined;
      const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName(rowId)]);
      return cpuMicrosOf(rows.map((row) => row.pid).filter((pid) => localProcess(pid, 'postgres') !== undefined));
    },
    async cleanup() {
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

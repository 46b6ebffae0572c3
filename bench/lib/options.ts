/**
 * `npm run bench -- [flags]`: the run's bounds. Defaults keep a full run (fifteen rows, three rounds, the
 * idle sessions) under about five minutes.
 */
import { parseArgs } from 'node:util';

/** The shared stores the `serve-*` and `token-*` rows run on (besides SQLite). */
export const STORE_KINDS = ['sqlite', 'redis', 'postgres'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/**
 * Every row, in table order. `serve-<store>`: `tools/call` on `portcullis serve` with its embedded
 * authorization server on that store; `token-<store>`: that server's token endpoint (`client_credentials`);
 * `backend`: the bench's MCP server without auth, called directly; `forwarder` and `stdio-forwarder`: bare
 * bridges to it over HTTP and stdio; `gateway-<transport>`: `portcullis proxy` in front of it over
 * Streamable HTTP or stdio.
 */
export const ROW_IDS = [
  'floor',
  'sdk-stateful',
  'sdk-stateless',
  'portcullis',
  ...STORE_KINDS.map((kind) => `serve-${kind}` as const),
  ...STORE_KINDS.map((kind) => `token-${kind}` as const),
  'backend',
  'forwarder',
  'gateway-http',
  'stdio-forwarder',
  'gateway-stdio',
] as const;
export type RowId = (typeof ROW_IDS)[number];

/** Where the Redis and PostgreSQL rows run unless `--redis-url` / `--postgres-url` say otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379/0';
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchOptions {
  rounds: number;
  /** Measured seconds per round. */
  seconds: number;
  /** Warm-up seconds before each measured round (not counted). */
  warmup: number;
  connections: number;
  /** Idle sessions to open against Portcullis; 0 skips that measurement. */
  sessions: number;
  only: readonly RowId[];
  /**
   * Run Portcullis (the `portcullis` and `gateway-*` rows) under `--cpu-prof` and print where the newest
   * profile's time goes (its numbers include the profiler): pick one of those rows with `--only`.
   */
  profile: boolean;
  /** Where the JSON results go. */
  out: string;
  /** The Redis server of the `*-redis` rows (a fresh `?prefix=` is added per run). */
  redisUrl: string;
  /** The PostgreSQL database of the `*-postgres` rows (a fresh `?schema=` is added per run). */
  postgresUrl: string;
}

export const USAGE = `usage: npm run bench -- [--rounds 3] [--seconds 5] [--warmup 1] [--connections 10]
                       [--sessions 10000] [--only ROW,ROW,…] [--profile] [--out bench/results.json]
                       [--redis-url ${DEFAULT_REDIS_URL}] [--postgres-url ${DEFAULT_POSTGRES_URL}]
rows (all by default): ${ROW_IDS.join(', ')}
  serve-STORE: tools/call on \`portcullis serve\` (embedded authorization server) on that store
  token-STORE: the token endpoint of such a server, grant_type=client_credentials (Basic auth)
  each run uses a fresh SQLite file, Redis key prefix and PostgreSQL schema, removed at the end;
  a Redis or PostgreSQL that cannot be reached skips its rows (reported, not a failure)
  backend: the bench's MCP server (our MCP core, one \`add\` tool, no auth), called directly
  forwarder: a bare 30-line node:http forwarder in front of that server (no auth): the gateway rows' anchor
  gateway-http, gateway-stdio: tools/call through \`portcullis proxy\` to that server over HTTP or stdio;
  the backend's CPU per request is reported beside the gateway's`;

function positive(name: string, value: string | undefined, fallback: number, min = 1, max = 600): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < min || number > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return number;
}

/** Parses and bounds the flags; throws one message per bad flag. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      sessions: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      out: { type: 'string' },
      'redis-url': { type: 'string' },
      'postgres-url': { type: 'string' },
    },
  });
  const only = values.only === undefined ? [...ROW_IDS] : values.only.split(',').map((id) => id.trim());
  for (const id of only) if (!(ROW_IDS as readonly string[]).includes(id)) throw new Error(`--only: unknown row "${id}" (rows: ${ROW_IDS.join(', ')})`);
  return {
    rounds: Math.round(positive('rounds', values.rounds, 3, 1, 20)),
    seconds: positive('seconds', values.seconds, 5, 1, 60),
    warmup: positive('warmup', values.warmup, 1, 0, 30),
    connections: Math.round(positive('connections', values.connections, 10, 1, 1000)),
    sessions: Math.round(positive('sessions', values.sessions, 10_000, 0, 100_000)),
    only: only as RowId[],
    profile: values.profile ?? false,
    out: values.out ?? 'bench/results.json',
    redisUrl: serverUrl('redis-url', values['redis-url'] ?? DEFAULT_REDIS_URL, ['redis', 'rediss'], 'prefix'),
    postgresUrl: serverUrl('postgres-url', values['postgres-url'] ?? DEFAULT_POSTGRES_URL, ['postgres', 'postgresql'], 'schema'),
  };
}

/** A store server's URL: the right scheme, and without the parameter the bench sets itself. */
function serverUrl(name: string, value: string, schemes: readonly string[], ownParameter: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`--${name} must be a URL`);
  }
  if (!schemes.includes(url.protocol.slice(0, -1))) throw new Error(`--${name} must start with ${schemes.map((s) => `${s}://`).join(' or ')}`);
  if (url.searchParams.has(ownParameter)) throw new Error(`--${name}: leave out ?${ownParameter}=, the bench makes a fresh one per run`);
  return value;
}

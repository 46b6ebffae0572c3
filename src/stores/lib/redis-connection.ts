/**
 * The Redis store's one connection (ioredis): where it goes (the URL), how it fails, and how scripts run
 * on it. Behaviour the product relies on:
 *
 * - Opening connects and PINGs, so a wrong URL, password or port fails at start-up with one
 *   `StoreError('unavailable')` line naming host:port — never the credentials.
 * - While Redis is unreachable, every call fails at once with `StoreError('unavailable')` (a server
 *   answers 503): nothing is queued offline, a command in flight when the connection drops is rejected,
 *   not resent (a consume or a rate-limit hit that may have run must not run twice), and a command that
 *   gets no reply within `commandTimeoutMs` drops the connection (a hung server or half-open socket).
 * - ioredis reconnects in the background with capped exponential backoff; the store works again as soon
 *   as Redis is back. The outage is logged once when it starts and once when it ends, not per retry.
 *
 * Every store operation is one Lua script (see `redis-layout.ts`), defined here with `defineCommand`:
 * ioredis runs it with EVALSHA and loads it again (EVAL) on a connection that does not know it yet, such
 * as one to a restarted server.
 */
import { Redis, ReplyError } from 'ioredis';
import type { Logger } from '../../core/log.js';
import { StoreError } from '../errors.js';
import { PRELUDE } from './redis-layout.js';

/** The key prefix when the URL names none. */
const DEFAULT_PREFIX = 'portcullis:';
/** Characters of a prefix: safe in keys, in `SCAN MATCH` patterns (no glob characters) and in logs. */
const PREFIX_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;
const URL_FORM = 'redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?prefix=NAME] (rediss:// for TLS)';

export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** Reconnection backoff: 100 ms, doubling, at most 2 s between attempts. */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_CAP_MS = 2000;
/** Replies that mean "this server cannot serve now" (loading, busy script, failover, paused, out of memory): retry later. */
const RETRY_LATER = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'TRYAGAIN', 'CLUSTERDOWN', 'NOREPLICAS', 'OOM', 'NOAUTH', 'WRONGPASS']);

/** Where a `redis://` URL points. */
export interface RedisLocation {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  /** Every key starts with it (`?prefix=`, default `portcullis:`). */
  readonly prefix: string;
  /** `host:port`, for messages and logs: never the credentials. */
  readonly address: string;
}

/**
 * Parses `redis://` / `rediss://` URLs: credentials percent-decoded, port default 6379, the path a
 * database number (default 0), `?prefix=` the only query parameter. Anything else rejects with
 * `StoreError('invalid_url')`, whose message never repeats the URL (it may hold a password).
 *
 * @example
 * parseRedisUrl('redis://:s3cret@cache.internal:6380/2?prefix=prod:portcullis:').address; // 'cache.internal:6380'
 */
export function parseRedisUrl(url: string): RedisLocation {
  const refuse = (why: string) => new StoreError('invalid_url', `Invalid Redis store URL: ${why}; use ${URL_FORM}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refuse('it does not parse as a URL');
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') throw refuse('the scheme is not redis: or rediss:');
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw refuse('it names no host');
  const dbText = parsed.pathname.replace(/^\//, '');
  if (!/^\d{0,5}$/.test(dbText)) throw refuse('the path must be a database number');
  if (parsed.hash !== '') throw refuse('it has a #fragment');
  if ([...parsed.searchParams.keys()].some((name) => name !== 'prefix')) throw refuse('prefix is the only query parameter');
  const prefix = parsed.searchParams.get('prefix') ?? DEFAULT_PREFIX;
  if (!PREFIX_PATTERN.test(prefix)) throw refuse('the prefix must be 1-100 of A-Z a-z 0-9 . _ : -');
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(parsed.username);
    password = decodeURIComponent(parsed.password);
  } catch {
    throw refuse('the credentials are not percent-encoded correctly');
  }
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  return {
    host,
    port,
    tls: scheme === 'rediss',
    username: username === '' ? undefined : username,
    password: password === '' ? undefined : password,
    db: dbText === '' ? 0 : Number(dbText),
    prefix,
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
  };
}

export type ScriptArg = string | number;
/** Runs one script atomically; the prefix is passed as `ARGV[1]`, `args` follow. */
export type ScriptCall = (...args: ScriptArg[]) => Promise<unknown>;

/** What the Redis record stores share. */
export interface RedisConnection {
  readonly address: string;
  readonly prefix: string;
  /** The store clock in milliseconds. */
  readonly nowMs: () => number;
  /**
   * Defines Lua scripts (each prefixed with the layout's prelude) and returns a caller for each. Calls
   * reject with `closed` after `close()`, `unavailable` when Redis cannot serve.
   */
  scripts<N extends string>(group: string, sources: Record<N, string>): Record<N, ScriptCall>;
  /** One `PING`: rejects with `closed` after `close()`, `unavailable` when Redis cannot answer. */
  ping(): Promise<void>;
  /** Quits the connection; closing twice is harmless. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  readonly nowMs: () => number;
  readonly logger: Logger | undefined;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

/** Connects and PINGs; rejects with one `unavailable` line naming host:port when that fails. */
export async function connectRedis(location: RedisLocation, options: ConnectOptions): Promise<RedisConnection> {
  const { address, prefix } = location;
  const { logger } = options;
  const state = { opened: false, closed: false, down: false, lastError: undefined as unknown };
  const redis = new Redis({
    host: location.host,
    port: location.port,
    username: location.username,
    password: location.password,
    db: location.db,
    ...(location.tls ? { tls: {} } : {}),
    connectionName: 'portcullis',
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs,
    // A command unanswered this long destroys the socket: in-flight calls reject, reconnection starts.
    socketTimeout: options.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // Before the store is open, one failure is the answer (start-up must fail fast); afterwards, retry forever.
    retryStrategy: (attempt) => (state.opened && !state.closed ? Math.min(BACKOFF_FIRST_MS * 2 ** (attempt - 1), BACKOFF_CAP_MS) : null),
  });
  const reason = (err: unknown) => scrub(err instanceof Error ? err.message : String(err), location.password);

  // Without an 'error' listener a connection error would crash the process.
  redis.on('error', (err: unknown) => {
    state.lastError = err;
    if (!state.opened || state.closed || state.down) return;
    state.down = true;
    logger?.warn({ store: 'redis', address, reason: reason(err) }, 'Redis is unreachable: store calls fail (503) until it is back; reconnecting in the background');
  });
  redis.on('ready', () => {
    if (!state.down) return;
    state.down = false;
    logger?.info({ store: 'redis', address }, 'Redis is reachable again');
  });

  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new StoreError('unavailable', `Cannot connect to Redis at ${address} (${reason(state.lastError ?? err)})`, { cause: err });
  }
  state.opened = true;

  const translate = (err: unknown): unknown => {
    if (err instanceof StoreError) return err;
    if (state.closed) return new StoreError('closed', 'The store is closed', { cause: err });
    if (err instanceof ReplyError) {
      const code = /^[A-Z]+/.exec((err as Error).message)?.[0];
      if (code !== undefined && RETRY_LATER.has(code)) return new StoreError('unavailable', `Redis at ${address} cannot serve now (${code}); try again`, { cause: err });
      return err; // a script or data error: a bug to see, not a retry
    }
    return new StoreError('unavailable', `Redis is unreachable at ${address}; try again`, { cause: err });
  };
  const commands = redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<unknown>>;

  return {
    address,
    prefix,
    nowMs: options.nowMs,
    scripts<N extends string>(group: string, sources: Record<N, string>): Record<N, ScriptCall> {
      const calls = {} as Record<N, ScriptCall>;
      for (const name of Object.keys(sources) as N[]) {
        const command = `portcullis_${group}_${name}`;
        redis.defineCommand(command, { lua: PRELUDE + sources[name], numberOfKeys: 0 });
        calls[name] = async (...args) => {
          if (state.closed) throw new StoreError('closed', 'The store is closed');
          try {
            return await commands[command]!(prefix, ...args);
          } catch (err) {
            throw translate(err);
          }
        };
      }
      return calls;
    },
    async ping() {
      if (state.closed) throw new StoreError('closed', 'The store is closed');
      try {
        await redis.ping();
      } catch (err) {
        throw translate(err);
      }
    },
    async close() {
      if (state.closed) return;
      state.closed = true;
      if (redis.status === 'ready') {
        try {
          await redis.quit();
          return;
        } catch {
          // the connection broke while quitting: drop it below
        }
      }
      redis.disconnect();
    },
  };
}

/** An error message for the log or a StoreError: one line, bounded, without the password even if a library echoed it. */
function scrub(message: string, password: string | undefined): string {
  const line = (password ? message.split(password).join('…') : message).replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

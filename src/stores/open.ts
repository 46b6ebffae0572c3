import { resolve } from 'node:path';
import type { Logger } from '../core/log.js';
import { StoreError } from './errors.js';
import { createMemoryStore } from './memory.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

/** The store URL the CLI uses when none is configured. */
export const DEFAULT_STORE_URL = 'sqlite:./data/portcullis.db';

const ACCEPTED = '"memory:", "sqlite:PATH" (e.g. sqlite:./data/portcullis.db), "redis://HOST:PORT[/DB][?prefix=NAME]" or "postgres://USER@HOST:PORT/DB[?schema=NAME]"';

export interface OpenStoreOptions {
  logger?: Logger;
}

/**
 * Opens the store a URL names:
 * - `memory:` — this process only; everything is lost on restart (logged as a warning).
 * - `sqlite:PATH` — a SQLite file; a relative PATH is resolved against the current directory, and
 *   `sqlite:///abs/path` is accepted for `/abs/path`. Created, with its directory, when missing.
 *
 * - `redis://…`, `rediss://…` — a Redis server shared by every instance (`?prefix=` namespaces the keys).
 * - `postgres://…`, `postgresql://…` — a PostgreSQL database shared by every instance (`?schema=`,
 *   `?pool_max=`).
 *
 * The network stores connect (and PostgreSQL migrates) before this resolves, so a wrong URL fails at
 * start-up with one `unavailable` line that names the host but never a password. Anything else rejects
 * with `StoreError('invalid_url')` naming the accepted forms.
 *
 * @example
 * const store = await openStore(process.env.PORTCULLIS_STORE ?? DEFAULT_STORE_URL, { logger });
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const { logger } = options;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();

  if (scheme === 'memory') {
    if (url.length > 'memory:'.length && url !== 'memory://') {
      throw new StoreError('invalid_url', `The memory store takes no path: use "memory:" (got "${describe(url)}")`);
    }
    warnMemory(logger);
    return createMemoryStore();
  }

  if (scheme === 'sqlite') {
    // sqlite:///abs/path → /abs/path, the usual URL spelling of an absolute path.
    const rest = url.slice('sqlite:'.length);
    const path = rest.startsWith('///') ? rest.slice(2) : rest;
    if (path === '' || path.startsWith('//')) throw new StoreError('invalid_url', `The sqlite store needs a file: use ${ACCEPTED}, or sqlite:///ABSOLUTE/PATH`);
    const file = path === ':memory:' ? path : resolve(path);
    let store: Store;
    try {
      store = openSqliteStore(file);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      // Permissions, a directory in the way, a file that is not a database: one clear line for the operator.
      throw new StoreError('unavailable', `Cannot open the SQLite store at ${file}: ${(err as Error).message}`, { cause: err });
    }
    logger?.info({ store: 'sqlite', file }, 'store opened');
    return store;
  }

  if (scheme === 'redis' || scheme === 'rediss') {
    // Loaded on demand, so a deployment on another store never loads the Redis driver. Opening connects and
    // PINGs: an unreachable Redis or a wrong password is one `unavailable` line naming host:port.
    const { openRedisStore } = await import('./redis.js');
    const store = await openRedisStore(url, { logger });
    logger?.info({ store: 'redis', address: store.address, db: store.db, prefix: store.prefix }, 'store opened');
    return store;
  }

  if (scheme === 'postgres' || scheme === 'postgresql') {
    // Loaded on demand, so a deployment on another store never loads the PostgreSQL driver.
    const { openPostgresStore } = await import('./postgres.js');
    const store = await openPostgresStore(url, { logger });
    logger?.info({ store: 'postgres', target: store.target, schema: store.schema }, 'store opened');
    return store;
  }

  throw new StoreError('invalid_url', `Unsupported store "${describe(url)}": use ${ACCEPTED}`);
}

function warnMemory(logger: Logger | undefined): void {
  const message =
    'USING THE MEMORY STORE: incidents, users, clients and tokens live in this process only and are ALL LOST on restart. ' +
    'Use --store sqlite:PATH for anything but tests.';
  if (logger) logger.warn({ store: 'memory' }, message);
  else process.emitWarning(message, { code: 'PORTCULLIS_MEMORY_STORE' });
}

/** The URL for an error message: only its scheme and a short prefix, never credentials it might carry. */
function describe(url: string): string {
  const withoutCredentials = url.replace(/\/\/[^/@]*@/, '//…@');
  return withoutCredentials.length > 40 ? `${withoutCredentials.slice(0, 40)}…` : withoutCredentials;
}

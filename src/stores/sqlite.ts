import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import { createIncidentIdGenerator, type IdGenerator } from './lib/ids.js';
import { SqliteIncidentStore } from './lib/sqlite-incidents.js';
import { migrate } from './lib/sqlite-migrations.js';
import type { Store } from './types.js';

/** Options of {@link openSqliteStore}; the defaults are what production uses. */
export interface SqliteStoreOptions {
  /** How long a write waits for another connection's write lock before failing with `unavailable`. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** The store's clock for records created without `createdAt`. */
  now?: () => number;
  /** Id generator (tests pass one that collides to exercise the retry). */
  newId?: IdGenerator;
}

/**
 * Opens (creating it and its parent directory when missing) the SQLite database at `file` and migrates it
 * to the current schema. Several processes may open the same file: WAL lets readers run beside the one
 * writer, `busy_timeout` makes writers queue instead of failing, and every multi-step write is a
 * `BEGIN IMMEDIATE` transaction. `synchronous = FULL`: an acknowledged write survives a power cut, not
 * only a crashed process.
 *
 * better-sqlite3 is synchronous; the async methods exist so that network stores share the interface.
 *
 * @example
 * const store = openSqliteStore('./data/portcullis.db');
 * const open = await store.incidents.list({ status: 'open' });
 * await store.close();
 */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): Store {
  const inMemory = file === ':memory:';
  if (!inMemory) mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    // busy_timeout first: switching to WAL and migrating both need locks another process may hold.
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
    if (!inMemory) {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new StoreError('unavailable', `SQLite refused WAL mode (got ${String(mode)}) for ${file}`);
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    guard(() => migrate(db));
  } catch (err) {
    db.close();
    throw err;
  }
  const incidents = new SqliteIncidentStore(db, options.now ?? Date.now, options.newId ?? createIncidentIdGenerator(), guard);
  return {
    kind: 'sqlite',
    incidents,
    async close() {
      if (db.open) db.close();
    },
  };
}

/** Runs a driver call, turning the errors callers act on into StoreErrors. */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
      throw new StoreError('unavailable', 'The SQLite database stayed locked by another writer; try again', { cause: err });
    }
    if (err instanceof TypeError && /connection is not open/i.test(err.message)) {
      throw new StoreError('closed', 'The store is closed', { cause: err });
    }
    throw err;
  }
}

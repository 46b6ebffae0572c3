import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import { createIncidentIdGenerator, type IdGenerator } from './lib/ids.js';
import { SqliteClientStore, SqliteConsentStore, SqliteUserStore } from './lib/sqlite-accounts.js';
import { createSqliteAuthContext } from './lib/sqlite-auth-shared.js';
import { SqliteCodeStore } from './lib/sqlite-codes.js';
import { SqliteGrantStore } from './lib/sqlite-grants.js';
import { SqliteIncidentStore } from './lib/sqlite-incidents.js';
import { SqliteKeyStore } from './lib/sqlite-keys.js';
import { SqliteCimdCacheStore, SqliteRateLimitStore } from './lib/sqlite-limits.js';
import { migrate } from './lib/sqlite-migrations.js';
import { SqliteSessionStore } from './lib/sqlite-sessions.js';
import { SqliteUpstreamGrantStore } from './lib/sqlite-upstream.js';
import type { Store } from './types.js';

/** Options of {@link openSqliteStore}; the defaults are what production uses. */
export interface SqliteStoreOptions {
  /** How long a write waits for another connection's write lock before failing with `unavailable`. Default 5000 ms. */
  busyTimeoutMs?: number;
  /**
   * The store's clock in milliseconds: for incidents created without `createdAt`, the times of users and
   * consents, and wherever an authorization method takes no `now`.
   */
  now?: () => number;
  /** Id generator (tests pass one that collides to exercise the retry). */
  newId?: IdGenerator;
}

/**
 * Opens (creating it and its parent directory when missing) the SQLite database at `file` and migrates it
 * to the current schema. Several processes may open the same file: WAL lets readers run beside the one
 * writer, `busy_timeout` makes writers queue instead of failing, and every multi-step write is a
 * `BEGIN IMMEDIATE` transaction (consuming a code, rotating a refresh token, creating the first key,
 * removing a user with everything granted on their behalf). `synchronous = FULL`: an acknowledged write
 * survives a power cut, not only a crashed process.
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
  const now = options.now ?? Date.now;
  const incidents = new SqliteIncidentStore(db, now, options.newId ?? createIncidentIdGenerator(), guard);
  const auth = createSqliteAuthContext(db, guard, now);
  return {
    kind: 'sqlite',
    incidents,
    users: new SqliteUserStore(auth),
    clients: new SqliteClientStore(auth),
    codes: new SqliteCodeStore(auth),
    grants: new SqliteGrantStore(auth),
    consents: new SqliteConsentStore(auth),
    keys: new SqliteKeyStore(auth),
    rateLimits: new SqliteRateLimitStore(auth),
    cimdCache: new SqliteCimdCacheStore(auth),
    upstreamGrants: new SqliteUpstreamGrantStore(auth),
    sessions: new SqliteSessionStore(auth),
    async ping() {
      guard(() => db.prepare('SELECT 1').get());
    },
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

import type { Logger } from '../core/log.js';
import { createIncidentIdGenerator, type IdGenerator } from './lib/ids.js';
import { PostgresClientStore, PostgresConsentStore, PostgresUserStore } from './lib/postgres-accounts.js';
import { PostgresCodeStore } from './lib/postgres-codes.js';
import { PostgresConnection } from './lib/postgres-connection.js';
import { PostgresGrantStore } from './lib/postgres-grants.js';
import { PostgresIncidentStore } from './lib/postgres-incidents.js';
import { PostgresKeyStore } from './lib/postgres-keys.js';
import { PostgresCimdCacheStore, PostgresRateLimitStore } from './lib/postgres-limits.js';
import { migrateLocation } from './lib/postgres-migrations.js';
import { PostgresSessionStore } from './lib/postgres-sessions.js';
import { PostgresUpstreamGrantStore } from './lib/postgres-upstream.js';
import { parsePostgresUrl } from './lib/postgres-url.js';
import type { Store } from './types.js';

/** Options of {@link openPostgresStore}; the defaults are what production uses. */
export interface PostgresStoreOptions {
  /**
   * The store's clock in milliseconds: for incidents created without `createdAt`, the times of users and
   * consents, and wherever an authorization method takes no `now`.
   */
  now?: () => number;
  /** Id generator (tests pass one that collides to exercise the retry). */
  newId?: IdGenerator;
  /** Where a connection the server dropped while idle is reported (a warning; the store carries on). */
  logger?: Logger;
}

/** A PostgreSQL {@link Store}, with where it lives (for the start-up log: no credentials). */
export interface PostgresStore extends Store {
  readonly kind: 'postgres';
  /** `host:port/database`. */
  readonly target: string;
  /** The schema holding the tables. */
  readonly schema: string;
}

/**
 * Opens the PostgreSQL store at `url` (`postgres://` or `postgresql://`, see `lib/postgres-url.ts`:
 * `?schema=NAME` namespaces the tables, default `public`; `?pool_max=N` bounds the pool, default 10), and
 * migrates its schema — created when missing — before returning, so a wrong URL, a server that is down or
 * a schema migrated by a newer Portcullis fails here, with one line naming host:port/database and never
 * the password (`StoreError` `invalid_url`, `unavailable` or `incompatible`).
 *
 * Several processes may share one schema: migrations take an advisory lock, and every operation whose
 * result depends on a read is one statement or one transaction with the lock it needs (a code is consumed
 * once, a refresh token rotates once, a key and the server secret are created once; see
 * docs/storage-schema.md). Calls fail fast with `unavailable` while the server is unreachable and work
 * again, on new connections, once it is back. Commits are synchronous (the server's default): an
 * acknowledged write survives a crash of the database.
 *
 * @example
 * const store = await openPostgresStore('postgres://portcullis@db.internal:5432/portcullis?schema=portcullis');
 * const open = await store.incidents.list({ status: 'open' });
 * await store.close();
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const location = parsePostgresUrl(url);
  await migrateLocation(location);
  const now = options.now ?? Date.now;
  const connection = new PostgresConnection(location, now, options.logger);
  return {
    kind: 'postgres',
    target: location.target,
    schema: location.schema,
    incidents: new PostgresIncidentStore(connection, options.newId ?? createIncidentIdGenerator()),
    users: new PostgresUserStore(connection),
    clients: new PostgresClientStore(connection),
    codes: new PostgresCodeStore(connection),
    grants: new PostgresGrantStore(connection),
    consents: new PostgresConsentStore(connection),
    keys: new PostgresKeyStore(connection),
    rateLimits: new PostgresRateLimitStore(connection),
    cimdCache: new PostgresCimdCacheStore(connection),
    upstreamGrants: new PostgresUpstreamGrantStore(connection),
    sessions: new PostgresSessionStore(connection),
    ping: () => connection.ping(),
    close: () => connection.close(),
  };
}

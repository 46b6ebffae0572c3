/**
 * The SQLite schema as a numbered list of migrations. A database records what it has applied in
 * `schema_migrations`; opening it applies the missing ones, in order, inside one `BEGIN IMMEDIATE`
 * transaction, so two processes opening the same file at once migrate it exactly once (the second waits
 * for the write lock, then finds nothing left to do) and a failed migration leaves the file as it was.
 *
 * Rules for adding one: append with the next version, never edit or reorder an applied one, and describe
 * the change in `docs/storage-schema.md`.
 */
import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'incidents',
    sql: `
      CREATE TABLE incidents (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        id           TEXT    NOT NULL UNIQUE,
        title        TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
        description  TEXT    NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
        severity     TEXT    NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
        status       TEXT    NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'closed')),
        service      TEXT    NOT NULL CHECK (length(service) BETWEEN 1 AND 100),
        reported_by  TEXT    NOT NULL CHECK (length(reported_by) BETWEEN 1 AND 256),
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX incidents_newest ON incidents (created_at DESC, seq DESC);
      CREATE INDEX incidents_service ON incidents (service, created_at DESC);
    `,
  },
];

/** Version of the newest migration this code knows. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Brings `db` up to {@link SCHEMA_VERSION}. Refuses (StoreError `incompatible`) a database that a newer
 * Portcullis has migrated further, rather than writing records it does not understand.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): { applied: number[] } {
  checkOrder(migrations);
  const run = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at TEXT    NOT NULL
    ) STRICT`);
    const current = (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new StoreError('incompatible', `The database is at schema version ${current}; this Portcullis knows up to ${latest}. Upgrade Portcullis.`);
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: number[] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
      applied.push(migration.version);
    }
    return applied;
  });
  return { applied: run.immediate() };
}

/** Versions must be 1, 2, 3, …: a gap or duplicate is a programming error caught at the first open. */
function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`Migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
  });
}

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
  {
    version: 2,
    name: 'authorization server',
    // Times in epoch seconds. Lists and objects are JSON text. No column holds a token or secret in clear
    // except signing_keys.private_jwk (an envelope: encrypted when PORTCULLIS_SECRET is set) and
    // server_secret.secret (only used when PORTCULLIS_SECRET is not set). See docs/storage-schema.md.
    sql: `
      CREATE TABLE users (
        id             TEXT    PRIMARY KEY,
        username       TEXT    NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
        password_hash  TEXT    NOT NULL CHECK (length(password_hash) >= 1),
        scopes         TEXT    NOT NULL CHECK (json_type(scopes) = 'array'),
        created_at     INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE clients (
        seq                         INTEGER PRIMARY KEY AUTOINCREMENT,
        client_id                   TEXT    NOT NULL UNIQUE,
        secret_hash                 TEXT,
        name                        TEXT    NOT NULL,
        redirect_uris               TEXT    NOT NULL CHECK (json_type(redirect_uris) = 'array'),
        grant_types                 TEXT    NOT NULL CHECK (json_type(grant_types) = 'array'),
        response_types              TEXT    NOT NULL CHECK (json_type(response_types) = 'array'),
        token_endpoint_auth_method  TEXT    NOT NULL CHECK (token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post')),
        scope                       TEXT,
        origin                      TEXT    NOT NULL CHECK (origin IN ('dynamic', 'admin')),
        metadata                    TEXT    NOT NULL CHECK (json_type(metadata) = 'object'),
        created_at                  INTEGER NOT NULL,
        CHECK ((token_endpoint_auth_method = 'none') = (secret_hash IS NULL))
      ) STRICT;

      CREATE TABLE authorization_codes (
        hash            TEXT    PRIMARY KEY,
        client_id       TEXT    NOT NULL,
        user_id         TEXT    NOT NULL,
        redirect_uri    TEXT    NOT NULL,
        code_challenge  TEXT    NOT NULL,
        scopes          TEXT    NOT NULL CHECK (json_type(scopes) = 'array'),
        resource        TEXT    NOT NULL,
        expires_at      INTEGER NOT NULL,
        used_at         INTEGER,
        grant_id        TEXT
      ) STRICT;
      CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);
      CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
      CREATE INDEX authorization_codes_client ON authorization_codes (client_id);

      CREATE TABLE grants (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        id          TEXT    NOT NULL UNIQUE,
        client_id   TEXT    NOT NULL,
        user_id     TEXT    NOT NULL,
        scopes      TEXT    NOT NULL CHECK (json_type(scopes) = 'array'),
        resource    TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL CHECK (expires_at > created_at),
        revoked_at  INTEGER
      ) STRICT;
      CREATE INDEX grants_user ON grants (user_id, created_at DESC);
      CREATE INDEX grants_client ON grants (client_id, created_at DESC);
      CREATE INDEX grants_expiry ON grants (expires_at);

      CREATE TABLE refresh_tokens (
        hash            TEXT    PRIMARY KEY,
        grant_id        TEXT    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        state           TEXT    NOT NULL CHECK (state IN ('current', 'retired')),
        issued_at       INTEGER NOT NULL,
        rotated_at      INTEGER,
        successor_hash  TEXT,
        CHECK ((state = 'current') = (rotated_at IS NULL AND successor_hash IS NULL))
      ) STRICT;
      CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
      CREATE UNIQUE INDEX refresh_tokens_one_current ON refresh_tokens (grant_id) WHERE state = 'current';

      CREATE TABLE consents (
        user_id     TEXT    NOT NULL,
        client_id   TEXT    NOT NULL,
        scopes      TEXT    NOT NULL CHECK (json_type(scopes) = 'array'),
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (user_id, client_id)
      ) STRICT;
      CREATE INDEX consents_client ON consents (client_id);

      CREATE TABLE signing_keys (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        kid           TEXT    NOT NULL UNIQUE,
        alg           TEXT    NOT NULL CHECK (alg = 'ES256'),
        public_jwk    TEXT    NOT NULL CHECK (json_type(public_jwk) = 'object' AND json_type(public_jwk, '$.d') IS NULL),
        private_jwk   TEXT    NOT NULL CHECK (private_jwk GLOB 'plain:*' OR private_jwk GLOB 'aes256gcm:*'),
        created_at    INTEGER NOT NULL,
        activates_at  INTEGER NOT NULL,
        retires_at    INTEGER
      ) STRICT;

      CREATE TABLE server_secret (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        secret      TEXT    NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE rate_limits (
        key             TEXT    NOT NULL,
        window_seconds  INTEGER NOT NULL CHECK (window_seconds > 0),
        window_start    INTEGER NOT NULL,
        expires_at      INTEGER NOT NULL,
        count           INTEGER NOT NULL CHECK (count >= 1),
        PRIMARY KEY (key, window_seconds)
      ) STRICT;
      CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);

      CREATE TABLE cimd_cache (
        url         TEXT    PRIMARY KEY,
        document    TEXT    NOT NULL CHECK (json_type(document) = 'object'),
        expires_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX cimd_cache_expiry ON cimd_cache (expires_at);
    `,
  },
  {
    version: 3,
    name: 'mcp sessions',
    // The session id is stored as its SHA-256 only. Times in epoch seconds.
    sql: `
      CREATE TABLE mcp_sessions (
        hash          TEXT    PRIMARY KEY,
        subject       TEXT    NOT NULL,
        client_id     TEXT    NOT NULL,
        version       TEXT    NOT NULL,
        capabilities  INTEGER NOT NULL CHECK (capabilities BETWEEN 0 AND 255),
        log_level     INTEGER NOT NULL CHECK (log_level BETWEEN 0 AND 7),
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX mcp_sessions_expiry ON mcp_sessions (expires_at);
    `,
  },
  {
    version: 4,
    name: 'upstream grants',
    // Federated login: one row per (user, MCP client). The upstream tokens only ever as an AES-256-GCM
    // envelope (sealed_tokens); the CHECK refuses anything else. Times in epoch seconds.
    sql: `
      CREATE TABLE upstream_grants (
        user_id            TEXT    NOT NULL,
        client_id          TEXT    NOT NULL,
        issuer             TEXT    NOT NULL,
        subject            TEXT    NOT NULL,
        sealed_tokens      TEXT    NOT NULL CHECK (sealed_tokens GLOB 'aes256gcm:*'),
        access_expires_at  INTEGER NOT NULL,
        refreshing_until   INTEGER,
        version            INTEGER NOT NULL CHECK (version >= 1),
        created_at         INTEGER NOT NULL,
        updated_at         INTEGER NOT NULL,
        expires_at         INTEGER NOT NULL CHECK (expires_at > created_at),
        PRIMARY KEY (user_id, client_id)
      ) STRICT;
      CREATE INDEX upstream_grants_client ON upstream_grants (client_id);
      CREATE INDEX upstream_grants_expiry ON upstream_grants (expires_at);
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
export function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`Migration "${migration.name}" has version ${migration.version}, expected ${index + 1}`);
  });
}

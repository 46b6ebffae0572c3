/**
 * The PostgreSQL schema as a numbered list of migrations, table for table and column for column the
 * SQLite schema (`sqlite-migrations.ts`) in PostgreSQL's dialect: `bigint` for times and counts, `json`
 * for lists and objects, identity columns for `seq`, the same `CHECK` constraints.
 *
 * A schema records what it has applied in `schema_migrations`. Opening a store applies the missing ones in
 * order, in one transaction that first takes a transaction-level advisory lock of its own per schema
 * (`pg_advisory_xact_lock`): instances starting together queue on the lock, the first migrates, the others
 * then find nothing left to do; a failing migration leaves the schema as it was (PostgreSQL's DDL is
 * transactional).
 *
 * Rules for adding one: append with the next version, never edit or reorder an applied one, mirror it in
 * `sqlite-migrations.ts`, and describe the change in `docs/storage-schema.md`.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { StoreError } from '../errors.js';
import { connectionConfig, inTransaction, toStoreError, type Sql } from './postgres-connection.js';
import type { PostgresLocation } from './postgres-url.js';
import { checkOrder, type Migration } from './sqlite-migrations.js';

// `json`, not `jsonb`: the text is kept exactly as written (member order, `\u0000` escapes), so records read
// back as they do from SQLite; nothing queries inside these documents.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'incidents',
    sql: `
      CREATE TABLE incidents (
        seq          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id           text    NOT NULL UNIQUE,
        title        text    NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
        description  text    NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
        severity     text    NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
        status       text    NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'closed')),
        service      text    NOT NULL CHECK (length(service) BETWEEN 1 AND 100),
        reported_by  text    NOT NULL CHECK (length(reported_by) BETWEEN 1 AND 256),
        created_at   bigint  NOT NULL,
        updated_at   bigint  NOT NULL
      );
      CREATE INDEX incidents_newest ON incidents (created_at DESC, seq DESC);
      CREATE INDEX incidents_service ON incidents (service, created_at DESC);
    `,
  },
  {
    version: 2,
    name: 'authorization server',
    // Times in epoch seconds. No column holds a token or secret in clear except signing_keys.private_jwk
    // (an envelope: encrypted when PORTCULLIS_SECRET is set) and server_secret.secret (only used when
    // PORTCULLIS_SECRET is not set). See docs/storage-schema.md.
    sql: `
      CREATE TABLE users (
        id             text    PRIMARY KEY,
        username       text    NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
        password_hash  text    NOT NULL CHECK (length(password_hash) >= 1),
        scopes         json    NOT NULL CHECK (json_typeof(scopes) = 'array'),
        created_at     bigint  NOT NULL,
        updated_at     bigint  NOT NULL
      );

      CREATE TABLE clients (
        seq                         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        client_id                   text    NOT NULL UNIQUE,
        secret_hash                 text,
        name                        text    NOT NULL,
        redirect_uris               json    NOT NULL CHECK (json_typeof(redirect_uris) = 'array'),
        grant_types                 json    NOT NULL CHECK (json_typeof(grant_types) = 'array'),
        response_types              json    NOT NULL CHECK (json_typeof(response_types) = 'array'),
        token_endpoint_auth_method  text    NOT NULL CHECK (token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post')),
        scope                       text,
        origin                      text    NOT NULL CHECK (origin IN ('dynamic', 'admin')),
        metadata                    json    NOT NULL CHECK (json_typeof(metadata) = 'object'),
        created_at                  bigint  NOT NULL,
        CHECK ((token_endpoint_auth_method = 'none') = (secret_hash IS NULL))
      );

      CREATE TABLE authorization_codes (
        hash            text    PRIMARY KEY,
        client_id       text    NOT NULL,
        user_id         text    NOT NULL,
        redirect_uri    text    NOT NULL,
        code_challenge  text    NOT NULL,
        scopes          json    NOT NULL CHECK (json_typeof(scopes) = 'array'),
        resource        text    NOT NULL,
        expires_at      bigint  NOT NULL,
        used_at         bigint,
        grant_id        text
      );
      CREATE INDEX authorization_codes_expiry ON authorization_codes (expires_at);
      CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
      CREATE INDEX authorization_codes_client ON authorization_codes (client_id);

      CREATE TABLE grants (
        seq         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id          text    NOT NULL UNIQUE,
        client_id   text    NOT NULL,
        user_id     text    NOT NULL,
        scopes      json    NOT NULL CHECK (json_typeof(scopes) = 'array'),
        resource    text    NOT NULL,
        created_at  bigint  NOT NULL,
        expires_at  bigint  NOT NULL CHECK (expires_at > created_at),
        revoked_at  bigint
      );
      CREATE INDEX grants_user ON grants (user_id, created_at DESC);
      CREATE INDEX grants_client ON grants (client_id, created_at DESC);
      CREATE INDEX grants_expiry ON grants (expires_at);

      CREATE TABLE refresh_tokens (
        hash            text    PRIMARY KEY,
        grant_id        text    NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
        state           text    NOT NULL CHECK (state IN ('current', 'retired')),
        issued_at       bigint  NOT NULL,
        rotated_at      bigint,
        successor_hash  text,
        CHECK ((state = 'current') = (rotated_at IS NULL AND successor_hash IS NULL))
      );
      CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
      CREATE UNIQUE INDEX refresh_tokens_one_current ON refresh_tokens (grant_id) WHERE state = 'current';

      CREATE TABLE consents (
        user_id     text    NOT NULL,
        client_id   text    NOT NULL,
        scopes      json    NOT NULL CHECK (json_typeof(scopes) = 'array'),
        updated_at  bigint  NOT NULL,
        PRIMARY KEY (user_id, client_id)
      );
      CREATE INDEX consents_client ON consents (client_id);

      CREATE TABLE signing_keys (
        seq           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kid           text    NOT NULL UNIQUE,
        alg           text    NOT NULL CHECK (alg = 'ES256'),
        public_jwk    json    NOT NULL CHECK (json_typeof(public_jwk) = 'object' AND public_jwk -> 'd' IS NULL),
        private_jwk   text    NOT NULL CHECK (starts_with(private_jwk, 'plain:') OR starts_with(private_jwk, 'aes256gcm:')),
        created_at    bigint  NOT NULL,
        activates_at  bigint  NOT NULL,
        retires_at    bigint
      );

      CREATE TABLE server_secret (
        id          integer PRIMARY KEY CHECK (id = 1),
        secret      text    NOT NULL,
        created_at  bigint  NOT NULL
      );

      CREATE TABLE rate_limits (
        key             text    NOT NULL,
        window_seconds  bigint  NOT NULL CHECK (window_seconds > 0),
        window_start    bigint  NOT NULL,
        expires_at      bigint  NOT NULL,
        count           bigint  NOT NULL CHECK (count >= 1),
        PRIMARY KEY (key, window_seconds)
      );
      CREATE INDEX rate_limits_expiry ON rate_limits (expires_at);

      CREATE TABLE cimd_cache (
        url         text    PRIMARY KEY,
        document    json    NOT NULL CHECK (json_typeof(document) = 'object'),
        expires_at  bigint  NOT NULL
      );
      CREATE INDEX cimd_cache_expiry ON cimd_cache (expires_at);
    `,
  },
  {
    version: 3,
    name: 'mcp sessions',
    // The session id is stored as its SHA-256 only. Times in epoch seconds.
    sql: `
      CREATE TABLE mcp_sessions (
        hash          text     PRIMARY KEY,
        subject       text     NOT NULL,
        client_id     text     NOT NULL,
        version       text     NOT NULL,
        capabilities  integer  NOT NULL CHECK (capabilities BETWEEN 0 AND 255),
        log_level     integer  NOT NULL CHECK (log_level BETWEEN 0 AND 7),
        created_at    bigint   NOT NULL,
        expires_at    bigint   NOT NULL
      );
      CREATE INDEX mcp_sessions_expiry ON mcp_sessions (expires_at);
    `,
  },
  {
    version: 4,
    name: 'upstream grants',
    // Federated login: one row per (user, MCP client); the upstream tokens only as an AES-256-GCM envelope.
    sql: `
      CREATE TABLE upstream_grants (
        user_id            text    NOT NULL,
        client_id          text    NOT NULL,
        issuer             text    NOT NULL,
        subject            text    NOT NULL,
        sealed_tokens      text    NOT NULL CHECK (starts_with(sealed_tokens, 'aes256gcm:')),
        access_expires_at  bigint  NOT NULL,
        refreshing_until   bigint,
        version            bigint  NOT NULL CHECK (version >= 1),
        created_at         bigint  NOT NULL,
        updated_at         bigint  NOT NULL,
        expires_at         bigint  NOT NULL CHECK (expires_at > created_at),
        PRIMARY KEY (user_id, client_id)
      );
      CREATE INDEX upstream_grants_client ON upstream_grants (client_id);
      CREATE INDEX upstream_grants_expiry ON upstream_grants (expires_at);
    `,
  },
];

/** Version of the newest migration this code knows. */
export const SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/**
 * Connects to `location` on a connection of its own — without the statement timeouts of the pool, since a
 * future migration may rebuild an index on a large table — and migrates its schema in one transaction.
 * Every failure is a StoreError naming host:port/database (never the password): a server that is down,
 * a missing database or a newer schema fails here, at start-up, in one line.
 */
export async function migrateLocation(location: PostgresLocation): Promise<{ applied: number[] }> {
  const client = new pg.Client(connectionConfig(location, { statementTimeouts: false }));
  const state = { broken: false };
  client.on('error', () => (state.broken = true)); // the next statement fails, and is reported
  try {
    await client.connect();
    return await inTransaction(client, state, (tx) => migrate(tx, location.schema));
  } catch (err) {
    const failure = toStoreError(err, location.target);
    if (failure instanceof StoreError) throw failure;
    // TLS refused, a migration PostgreSQL rejects, …: still one clear line for the operator.
    throw new StoreError('unavailable', `Cannot open the PostgreSQL store at ${location.target}: ${(err as Error).message}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Brings `schema` up to {@link SCHEMA_VERSION} inside `tx` (one transaction), creating the schema when it is
 * missing. Refuses (StoreError `incompatible`) a schema that a newer Portcullis has migrated further,
 * rather than writing records it does not understand.
 */
export async function migrate(tx: Sql, schema: string, migrations: readonly Migration[] = MIGRATIONS): Promise<{ applied: number[] }> {
  checkOrder(migrations);
  await tx.run('SELECT pg_advisory_xact_lock($1)', [migrationLockKey(schema)]);
  // Checked before creating: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even
  // when the schema exists, which a deployment's role may rightly lack.
  if (!(await tx.get('SELECT 1 AS one FROM pg_namespace WHERE nspname = $1', [schema]))) await tx.run(`CREATE SCHEMA "${schema}"`);
  // The connection's search_path names the schema (see postgres-url.ts); unqualified names resolve in it.
  await tx.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer      PRIMARY KEY,
    name        text         NOT NULL,
    applied_at  timestamptz  NOT NULL
  )`);
  const current = (await tx.get<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations'))?.v ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new StoreError('incompatible', `The PostgreSQL schema "${schema}" is at version ${current}; this Portcullis knows up to ${latest}. Upgrade Portcullis.`);
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    await tx.run(migration.sql);
    await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())', [migration.version, migration.name]);
    applied.push(migration.version);
  }
  return { applied };
}

/**
 * The advisory-lock key of a schema's migrations: 64 bits of SHA-256 of a Portcullis-specific string, so it
 * collides neither with other applications' locks nor with another schema's migrations in the same database.
 */
function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`portcullis schema migrations: ${schema}`).digest().readBigInt64BE(0).toString();
}

/**
 * The PostgreSQL store against a real server (trust authentication on 127.0.0.1): both contract suites, each
 * target in a fresh random schema dropped at cleanup, with writers and racers in other processes; then what
 * only PostgreSQL has — migrations under concurrency, URL parameters, and connections that fail or die.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { StoreError } from '../../src/stores/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/stores/lib/postgres-migrations.js';
import { openStore } from '../../src/stores/open.js';
import { openPostgresStore } from '../../src/stores/postgres.js';
import type { Store } from '../../src/stores/types.js';
import { authStoreContract } from './auth-contract.js';
import { code, grant, newToken, PASSWORD_HASH, serverSecretCandidate } from './auth-fixtures.js';
import { sample, storeContract } from './contract.js';
import { startRacers, startWriter } from './processes.js';

const SERVER = 'postgres://postgres@127.0.0.1:5432/test';

/** The test's own connections: creating nothing, inspecting and dropping the schemas the stores create. */
const admin = new pg.Pool({ connectionString: SERVER, max: 2 });
after(() => admin.end());

/** Every value as the server's text (JSON included), for the search for raw tokens. */
const AS_TEXT = { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig;

interface Target {
  readonly schema: string;
  /** The store URL, `?schema=` included. */
  readonly url: string;
  cleanup(): Promise<void>;
}

/** A schema no test has used; the store creates it on open, cleanup drops it with everything in it. */
function freshTarget(): Target {
  const schema = `portcullis_test_${randomBytes(6).toString('hex')}`;
  return {
    schema,
    url: `${SERVER}?schema=${schema}`,
    cleanup: async () => {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
  };
}

storeContract('postgres', async () => {
  const target = freshTarget();
  return {
    durable: true,
    open: (options) => openPostgresStore(target.url, options),
    startWriterProcess: (count, service) => startWriter(target.url, count, service),
    cleanup: () => target.cleanup(),
  };
});

authStoreContract('postgres', async () => {
  const target = freshTarget();
  return {
    durable: true,
    open: (options) => openPostgresStore(target.url, options),
    startRacers: (spec, processes) => startRacers(target.url, spec, processes),
    inspect: () => inspectSchema(target.schema),
    cleanup: () => target.cleanup(),
  };
});

/** Every table's columns, every stored text or JSON value, and row counts, read over the test's own connection. */
async function inspectSchema(schema: string): Promise<{ columns: Record<string, string[]>; texts: string[]; rows: Record<string, number> }> {
  const tables = await admin.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY table_name",
    [schema],
  );
  const columns: Record<string, string[]> = {};
  const rows: Record<string, number> = {};
  const texts: string[] = [];
  for (const { table_name: table } of tables.rows) {
    const described = await admin.query<{ column_name: string; data_type: string }>(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [schema, table],
    );
    columns[table] = described.rows.map((c) => c.column_name);
    const textual = described.rows.filter((c) => ['text', 'json', 'jsonb', 'character varying'].includes(c.data_type)).map((c) => c.column_name);
    const all = await admin.query<Record<string, string | null>>({ text: `SELECT * FROM "${schema}"."${table}"`, types: AS_TEXT });
    rows[table] = all.rows.length;
    for (const row of all.rows) for (const column of textual) if (row[column] !== null) texts.push(row[column]!);
  }
  return { columns, texts, rows };
}

/** Runs `fn` on a fresh target and cleans up. */
async function withTarget(fn: (target: Target) => Promise<void>): Promise<void> {
  const target = freshTarget();
  try {
    await fn(target);
  } finally {
    await target.cleanup();
  }
}

/** Polls `condition` every 20 ms, 200 times at most; fails the test if it never holds. */
async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('the condition never held');
}

const isCode = (code: string) => (err: unknown) => err instanceof StoreError && err.code === code;

describe('postgres schema and migrations', () => {
  it('creates the schema, records the applied migrations, and does not re-apply them on reopen', () => withTarget(async (target) => {
    await (await openPostgresStore(target.url)).close();
    await (await openPostgresStore(target.url)).close();
    const applied = await admin.query(`SELECT version, name FROM "${target.schema}".schema_migrations ORDER BY version`);
    assert.deepEqual(applied.rows, MIGRATIONS.map(({ version, name }) => ({ version, name })));
    const types = await admin.query<{ data_type: string }>(
      "SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'grants' AND column_name IN ('created_at', 'scopes') ORDER BY column_name",
      [target.schema],
    );
    assert.deepEqual(types.rows.map((r) => r.data_type), ['bigint', 'json']);
  }));

  it('refuses a schema migrated by a newer Portcullis, leaving it untouched', () => withTarget(async (target) => {
    const store = await openPostgresStore(target.url);
    await store.incidents.create(sample());
    await store.close();
    await admin.query(`INSERT INTO "${target.schema}".schema_migrations (version, name, applied_at) VALUES ($1, 'future', now())`, [SCHEMA_VERSION + 1]);
    await assert.rejects(openPostgresStore(target.url), (err: unknown) => {
      assert.ok(isCode('incompatible')(err));
      assert.match((err as Error).message, new RegExp(`"${target.schema}" is at version ${SCHEMA_VERSION + 1}`));
      return true;
    });
    assert.equal((await admin.query(`SELECT count(*)::int AS n FROM "${target.schema}".incidents`)).rows[0].n, 1);
  }));

  it('migrates once when several processes open a new schema at the same time', () => withTarget(async (target) => {
    const services = ['first', 'second', 'third'];
    const writers = await Promise.all(services.map((service) => startWriter(target.url, 20, service)));
    await Promise.all(writers.map((w) => w.finished));
    const store = await openPostgresStore(target.url);
    try {
      for (const service of services) assert.equal(await store.incidents.count({ service }), 20);
    } finally {
      await store.close();
    }
    const applied = await admin.query(`SELECT version FROM "${target.schema}".schema_migrations ORDER BY version`);
    assert.deepEqual(applied.rows.map((r: { version: number }) => r.version), MIGRATIONS.map((m) => m.version));
  }));

  it('keeps schemas of one database apart', () => withTarget(async (a) => withTarget(async (b) => {
    const [first, second] = [await openPostgresStore(a.url), await openPostgresStore(b.url)];
    try {
      await first.incidents.create(sample());
      await first.users.create({ username: 'alice', passwordHash: PASSWORD_HASH, scopes: [] });
      assert.equal(await first.incidents.count(), 1);
      assert.equal(await second.incidents.count(), 0);
      assert.equal(await second.users.getByUsername('alice'), undefined);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  })));
});

describe('postgres connection', () => {
  it('refuses a malformed URL or parameter with invalid_url, never echoing the password', async () => {
    const urls = [
      'postgres://user:hunter2@[not-a-host/db',
      `${SERVER.replace('postgres@', 'postgres:hunter2@')}?schema=Upper`,
      `${SERVER.replace('postgres@', 'postgres:hunter2@')}?schema=pg_catalog`,
      `${SERVER.replace('postgres@', 'postgres:hunter2@')}?schema=a-b`,
      `${SERVER.replace('postgres@', 'postgres:hunter2@')}?pool_max=0`,
      `${SERVER.replace('postgres@', 'postgres:hunter2@')}?pool_max=1.5`,
    ];
    for (const url of urls) {
      await assert.rejects(openStore(url), (err: unknown) => {
        assert.ok(isCode('invalid_url')(err), `${url}: ${String(err)}`);
        assert.doesNotMatch((err as Error).message, /hunter2/);
        return true;
      });
    }
  });

  it('fails at open with one unavailable line naming host:port/database, without the password', async () => {
    const cases: [string, RegExp][] = [
      ['postgres://postgres:hunter2@127.0.0.1:1/test', /^PostgreSQL is unreachable at 127\.0\.0\.1:1\/test: /],
      ['postgresql://postgres:hunter2@127.0.0.1:5432/portcullis_no_such_database', /^PostgreSQL at 127\.0\.0\.1:5432\/portcullis_no_such_database refused the connection: .*does not exist/],
    ];
    for (const [url, message] of cases) {
      await assert.rejects(openStore(url), (err: unknown) => {
        assert.ok(isCode('unavailable')(err), String(err));
        assert.match((err as Error).message, message);
        assert.doesNotMatch((err as Error).message, /hunter2/);
        assert.ok(!(err as Error).message.includes('\n'), 'one line');
        return true;
      });
    }
  });

  it('openStore opens postgres:// and postgresql:// URLs and logs where, without credentials', () => withTarget(async (target) => {
    const lines: unknown[] = [];
    const logger = { info: (...args: unknown[]) => lines.push(args), warn: (...args: unknown[]) => lines.push(args) } as never;
    for (const url of [target.url.replace('postgres@', 'postgres:hunter2@'), target.url.replace(/^postgres:/, 'postgresql:')]) {
      const store = await openStore(url, { logger });
      assert.equal(store.kind, 'postgres');
      await store.close();
    }
    const logged = JSON.stringify(lines);
    assert.match(logged, /store opened/);
    assert.ok(logged.includes(`"target":"127.0.0.1:5432/test","schema":"${target.schema}"`), logged);
    assert.doesNotMatch(logged, /hunter2/);
  }));

  it('refuses text PostgreSQL cannot hold (NUL) as invalid_record, storing nothing', () => withTarget(async (target) => {
    const store = await openPostgresStore(target.url);
    try {
      await assert.rejects(store.incidents.create(sample({ title: 'before\u0000after' })), isCode('invalid_record'));
      await assert.rejects(store.incidents.createIfEmpty([sample(), sample({ description: 'x\u0000' })]), isCode('invalid_record'));
      assert.equal(await store.incidents.count(), 0);
      const metadata = { client_uri: 'https://app.example', note: 'a\u0000b' }; // JSON escapes it: stored as written
      const client = await store.clients.create({ clientId: 'c-nul', name: 'n', redirectUris: [], grantTypes: [], responseTypes: [], tokenEndpointAuthMethod: 'none', origin: 'admin', metadata, createdAt: 1_748_768_400 });
      assert.deepEqual((await store.clients.get('c-nul'))?.metadata, client.metadata);
    } finally {
      await store.close();
    }
  }));

  it('when the server drops the store connections, each call succeeds on a new one or fails with unavailable; then calls work', () => withTarget(async (target) => {
    const app = `portcullis-test-${randomBytes(4).toString('hex')}`;
    const store = await openPostgresStore(`${target.url}&application_name=${app}&pool_max=6`);
    /** Ends every backend of the store; returns their pids. */
    const terminate = async () => (await admin.query<{ pid: number }>('SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app])).rows.map((r) => r.pid);
    /** Resolves with 'ok' or 'unavailable'; anything else fails the test. */
    const outcome = (call: Promise<unknown>) => call.then(() => 'ok', (err: unknown) => {
      assert.ok(isCode('unavailable')(err), String(err));
      assert.match((err as Error).message, /^PostgreSQL /);
      return 'unavailable';
    });
    try {
      const now = Math.floor(Date.now() / 1000);
      // Idle connections: the pool drops them when they die, without crashing the process.
      await Promise.all(Array.from({ length: 4 }, () => store.incidents.create(sample())));
      const idle = await terminate();
      assert.ok(idle.length >= 1);
      await outcome(store.incidents.count());
      await until(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)', [idle])).rows.length === 0);

      // Connections in the middle of statements and transactions: the test's own transaction holds the locks
      // they need, so they are provably waiting inside the server when their backends are ended.
      const t0 = newToken();
      const g = await store.grants.create(grant(now), t0.hash);
      const c = code(now);
      await store.codes.put(c);
      const blocker = await admin.connect();
      let busy: number[] = [];
      try {
        await blocker.query('BEGIN');
        await blocker.query(`LOCK TABLE "${target.schema}".incidents IN ACCESS EXCLUSIVE MODE`);
        await blocker.query(`SELECT 1 FROM "${target.schema}".grants WHERE id = $1 FOR UPDATE`, [g.id]);
        await blocker.query(`SELECT 1 FROM "${target.schema}".authorization_codes WHERE hash = $1 FOR UPDATE`, [c.hash]);
        await blocker.query(`INSERT INTO "${target.schema}".server_secret (id, secret, created_at) VALUES (1, $1, 0)`, [serverSecretCandidate()]);
        const rotate = () => store.grants.rotate(t0.hash, newToken().hash, { clientId: g.clientId, now, graceSeconds: 30 });
        const calls = [
          store.incidents.createIfEmpty([sample()]),
          store.incidents.count(),
          rotate(),
          rotate(),
          store.codes.consume(c.hash, now),
          store.keys.serverSecret(serverSecretCandidate()),
        ].map(outcome);
        await until(async () => (await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [app])).rows.length === calls.length);
        busy = await terminate();
        assert.deepEqual(await Promise.all(calls), Array(calls.length).fill('unavailable'));
      } finally {
        await blocker.query('ROLLBACK');
        blocker.release();
      }

      // Once the server has ended them, every call works, on new connections.
      await until(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)', [busy])).rows.length === 0);
      const before = await store.incidents.count();
      await store.incidents.create(sample());
      assert.equal(await store.incidents.count(), before + 1);
      assert.ok(await store.users.create({ username: 'after', passwordHash: PASSWORD_HASH, scopes: [] }));
    } finally {
      await store.close();
    }
  }));

  it('close() ends every connection of the store; later calls reject with closed', () => withTarget(async (target) => {
    const app = `portcullis-test-${randomBytes(4).toString('hex')}`;
    const store: Store = await openPostgresStore(`${target.url}&application_name=${app}`);
    await Promise.all(Array.from({ length: 3 }, () => store.incidents.count()));
    await store.close();
    await until(async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [app])).rows.length === 0);
    await assert.rejects(store.sessions.get(newToken().hash, 1_800_000_000), isCode('closed'));
  }));
});

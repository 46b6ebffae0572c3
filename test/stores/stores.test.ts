import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/stores/errors.js';
import { createIncidentIdGenerator, INCIDENT_ID_PATTERN } from '../../src/stores/lib/ids.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/stores/lib/sqlite-migrations.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { DEFAULT_STORE_URL, openStore } from '../../src/stores/open.js';
import { openSqliteStore } from '../../src/stores/sqlite.js';
import { authStoreContract } from './auth-contract.js';
import { sample, storeContract } from './contract.js';
import { startRacers, startWriter } from './processes.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'portcullis-store-'));

storeContract('memory', async () => ({
  durable: false,
  open: async (options) => createMemoryStore(options),
  cleanup: async () => {},
}));

storeContract('sqlite', async () => {
  const dir = await tempDir();
  const file = join(dir, 'nested', 'dir', 'portcullis.db'); // the store creates the parent directories
  return {
    durable: true,
    open: async (options) => openSqliteStore(file, options),
    startWriterProcess: (count, service) => startWriter(`sqlite:${file}`, count, service),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

authStoreContract('memory', async () => ({
  durable: false,
  open: async (options) => createMemoryStore(options),
  cleanup: async () => {},
}));

authStoreContract('sqlite', async () => {
  const dir = await tempDir();
  const file = join(dir, 'portcullis.db');
  return {
    durable: true,
    open: async (options) => openSqliteStore(file, options),
    startRacers: (spec, processes) => startRacers(`sqlite:${file}`, spec, processes),
    inspect: async () => inspectSqlite(file),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

/** Every table's columns, every stored text value, and row counts, read through a separate read-only connection. */
function inspectSqlite(file: string): { columns: Record<string, string[]>; texts: string[]; rows: Record<string, number> } {
  const db = new Database(file, { readonly: true });
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    const columns: Record<string, string[]> = {};
    const rows: Record<string, number> = {};
    const texts: string[] = [];
    for (const table of tables) {
      columns[table] = (db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
      const all = db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[];
      rows[table] = all.length;
      for (const row of all) for (const value of Object.values(row)) if (typeof value === 'string') texts.push(value);
    }
    return { columns, texts, rows };
  } finally {
    db.close();
  }
}


describe('incident ids', () => {
  it('are INC- + 13 Crockford base32 characters, increasing within a second and across seconds', () => {
    const next = createIncidentIdGenerator();
    const t = Date.parse('2025-06-01T09:00:00.000Z');
    const ids = [next(t), next(t + 1), next(t + 999), next(t + 1000), next(t + 60_000)];
    for (const id of ids) assert.match(id, INCIDENT_ID_PATTERN);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(next(t - 86_400_000) < ids[0]!, 'an earlier creation time sorts earlier');
  });
});

describe('sqlite schema and migrations', () => {
  it('records applied migrations, uses WAL, and does not re-apply on reopen', async () => {
    const dir = await tempDir();
    const file = join(dir, 'a.db');
    try {
      await openSqliteStore(file).close();
      await openSqliteStore(file).close();
      const db = new Database(file, { readonly: true });
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(rows, MIGRATIONS.map(({ version, name }) => ({ version, name })));
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database migrated by a newer Portcullis, leaving it untouched', async () => {
    const dir = await tempDir();
    const file = join(dir, 'b.db');
    try {
      const store = openSqliteStore(file);
      await store.incidents.create(sample());
      await store.close();
      const db = new Database(file);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', new Date().toISOString());
      db.close();
      assert.throws(() => openSqliteStore(file), (err: unknown) => err instanceof StoreError && err.code === 'incompatible');
      const check = new Database(file, { readonly: true });
      assert.equal((check.prepare('SELECT count(*) AS n FROM incidents').get() as { n: number }).n, 1);
      check.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('migrates once when two processes open a new file at the same time', async () => {
    const dir = await tempDir();
    const file = join(dir, 'c.db');
    try {
      const writers = await Promise.all([startWriter(`sqlite:${file}`, 40, 'first'), startWriter(`sqlite:${file}`, 40, 'second')]);
      await Promise.all(writers.map((w) => w.finished));
      const store = openSqliteStore(file);
      assert.equal(await store.incidents.count({ service: 'first' }), 40);
      assert.equal(await store.incidents.count({ service: 'second' }), 40);
      await store.close();
      const db = new Database(file, { readonly: true });
      assert.equal((db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n, MIGRATIONS.length);
      db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('openStore', () => {
  it('turns a file it cannot open into one clear StoreError line', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir, 'blocker'), 'a file where a directory should be');
      await writeFile(join(dir, 'garbage.db'), 'x'.repeat(4096));
      for (const url of [`sqlite:${join(dir, 'blocker', 'x.db')}`, `sqlite:${join(dir, 'garbage.db')}`]) {
        await assert.rejects(openStore(url), (err: unknown) => err instanceof StoreError && err.code === 'unavailable' && /^Cannot open the SQLite store at /.test(err.message));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('opens memory: (with a warning) and sqlite:PATH relative to the working directory', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args), info: () => {} } as never;
    const memory = await openStore('memory:', { logger });
    assert.equal(memory.kind, 'memory');
    assert.match(JSON.stringify(warnings), /LOST on restart/);
    await memory.close();

    const dir = await tempDir();
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      const sqlite = await openStore('sqlite:./data/x.db');
      assert.equal(sqlite.kind, 'sqlite');
      await sqlite.close();
      assert.ok(existsSync(join(dir, 'data', 'x.db')));
      const absolute = await openStore(`sqlite://${resolve(dir, 'abs.db')}`);
      await absolute.close();
      assert.ok(existsSync(join(dir, 'abs.db')));
    } finally {
      process.chdir(cwd);
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(DEFAULT_STORE_URL, 'sqlite:./data/portcullis.db');
  });

  it('refuses other URLs with a message naming the accepted forms, without echoing credentials', async () => {
    const cases: [string, RegExp][] = [
      ['redis://user:secret@localhost:6379/not-a-db', /Invalid Redis store URL: the path must be a database number; use redis:\/\//],
      ['postgres://user:secret@db/portcullis?schema=Tenant', /PostgreSQL \?schema= must be/],
      ['mysql://db', /Unsupported store.*memory:.*sqlite:PATH/],
      ['./data/portcullis.db', /Unsupported store.*memory:.*sqlite:PATH/],
      ['sqlite:', /needs a file/],
      ['memory:extra', /takes no path/],
    ];
    for (const [url, message] of cases) {
      await assert.rejects(openStore(url), (err: unknown) => {
        assert.ok(err instanceof StoreError && err.code === 'invalid_url');
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      });
    }
  });
});

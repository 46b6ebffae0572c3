/**
 * The Redis store: the shared contract suites against the real Redis on 127.0.0.1:6379 (each target under
 * a fresh random prefix, deleted afterwards), the cross-process races through other processes on the same
 * URL, and what only Redis has: URL handling, failing fast and recovering when the server goes away or
 * stops answering (on a throwaway redis-server this file starts on a free port), TTLs set from the
 * caller's clock, the key layout, and that no raw token is stored anywhere under the prefix.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { StoreError, type StoreErrorCode } from '../../src/stores/errors.js';
import { openStore } from '../../src/stores/open.js';
import { openRedisStore, type RedisStoreOptions } from '../../src/stores/redis.js';
import type { Store } from '../../src/stores/types.js';
import { freePort } from '../helpers/embedded-as.js';
import { deleteRedisPrefix } from '../helpers/shared-stores.js';
import { authStoreContract } from './auth-contract.js';
import { code, confidentialClient, grant, newToken, PASSWORD_HASH, rawTokens, serverSecretCandidate, signingKey, TestClock } from './auth-fixtures.js';
import { sample, storeContract } from './contract.js';
import { startRacers, startWriter } from './processes.js';
import { session } from './session-contract.js';
import { upstreamGrant } from './upstream-contract.js';

const HOST = '127.0.0.1';
const PORT = 6379;
/** The test's own connection to the shared Redis, for looking at and deleting what a store wrote. */
const admin = new Redis({ host: HOST, port: PORT, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
admin.on('error', () => {}); // failures surface as rejected commands
after(() => (admin.status === 'ready' ? admin.quit().then(() => undefined) : admin.disconnect()));

const freshPrefix = () => `portcullis-test:${randomBytes(6).toString('hex')}:`;
const urlOf = (prefix: string, port = PORT) => `redis://${HOST}:${port}/0?prefix=${encodeURIComponent(prefix)}`;

const dropPrefix = (prefix: string) => deleteRedisPrefix(admin, prefix);

/** Every key under `prefix`, without the prefix. */
async function keysOf(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  for (let round = 0; round < 10_000; round++) {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    out.push(...keys.map((k) => k.slice(prefix.length)));
    cursor = next;
    if (cursor === '0') return out.sort();
  }
  throw new Error(`could not list ${prefix}`);
}

/** Every text Redis holds under `prefix`: key names, string values, hash fields and values, set and sorted-set members. */
async function textsOf(prefix: string): Promise<string[]> {
  const texts: string[] = [];
  for (const name of await keysOf(prefix)) {
    const k = prefix + name;
    texts.push(name);
    const type = await admin.type(k);
    if (type === 'string') texts.push((await admin.get(k)) ?? '');
    else if (type === 'hash') texts.push(...Object.entries(await admin.hgetall(k)).flat());
    else if (type === 'set') texts.push(...(await admin.smembers(k)));
    else if (type === 'zset') texts.push(...(await admin.zrange(k, '0', '-1')));
    else assert.fail(`unexpected type ${type} of ${name}`);
  }
  return texts;
}

storeContract('redis', async () => {
  const url = urlOf(freshPrefix());
  return {
    durable: true,
    open: (options) => openRedisStore(url, options),
    startWriterProcess: (count, service) => startWriter(url, count, service),
    cleanup: () => dropPrefix(new URL(url).searchParams.get('prefix')!),
  };
});

authStoreContract('redis', async () => {
  const prefix = freshPrefix();
  const url = urlOf(prefix);
  return {
    durable: true,
    open: (options) => openRedisStore(url, options),
    startRacers: (spec, processes) => startRacers(url, spec, processes),
    // No `inspect`: the contract's review is of SQL columns. The Redis equivalents (every key family
    // reviewed, no raw token in any key or value, TTLs where records end) are the tests below.
    cleanup: () => dropPrefix(prefix),
  };
});

async function rejectsWith(code: StoreErrorCode, promise: Promise<unknown>, check: (message: string) => void = () => {}): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check(err.message);
    return true;
  });
}

/** Runs `fn` until it resolves, at most `attempts` times and until `deadlineMs` has passed; the last failure is thrown. */
async function eventually<T>(fn: () => Promise<T>, { attempts = 300, deadlineMs = 15_000 } = {}): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || Date.now() >= end) throw err;
      await delay(50);
    }
  }
}

/** A redis-server of the test's own on a free port, without persistence, that the test stops and starts. */
class ThrowawayRedis {
  #child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly extra: readonly string[],
  ) {}

  static async start(extra: readonly string[] = []): Promise<ThrowawayRedis> {
    const server = new ThrowawayRedis(await freePort(), extra);
    await server.start();
    return server;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', tmpdir(), ...this.extra];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.#child = child;
    await eventually(
      () =>
        new Promise<void>((resolve, reject) => {
          if (child.exitCode !== null) return reject(new Error(`redis-server exited ${child.exitCode}`));
          const socket = connect(this.port, HOST, () => socket.end(resolve));
          socket.on('error', reject);
        }),
    );
  }

  /** Kills the server (like a crash) and waits for it to be gone. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** A command on a connection of the test's own. */
  async command(...args: string[]): Promise<unknown> {
    const client = new Redis({ host: HOST, port: this.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      return await client.call(args[0]!, ...args.slice(1));
    } finally {
      client.disconnect();
    }
  }
}

/** A logger that remembers its lines. */
function recordingLogger(): { lines: { level: string; fields: Record<string, unknown>; message: string }[]; logger: never } {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => lines.push({ level, fields, message });
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as never };
}

describe('redis store: URLs and opening', () => {
  it('openStore opens redis:// and logs where it is, never the credentials', async () => {
    const prefix = freshPrefix();
    const { lines, logger } = recordingLogger();
    // The shared Redis has no password; a password it does not need is accepted by Redis 6+.
    const store = await openStore(`redis://:hunter2-unused@${HOST}:${PORT}/0?prefix=${prefix}`, { logger });
    try {
      assert.equal(store.kind, 'redis');
      assert.equal(await store.incidents.count(), 0);
      assert.deepEqual(lines.map((l) => [l.level, l.message]), [['info', 'store opened']]);
      assert.deepEqual(lines[0]!.fields, { store: 'redis', address: `${HOST}:${PORT}`, db: 0, prefix });
      assert.doesNotMatch(JSON.stringify(lines), /hunter2/);
    } finally {
      await store.close();
      await dropPrefix(prefix);
    }
  });

  it('refuses malformed URLs with invalid_url, repeating no credentials', async () => {
    const urls = [
      `redis://:hunter2@${HOST}:${PORT}/not-a-db`,
      `redis://:hunter2@${HOST}:${PORT}/0?prefix=has%20space`,
      `redis://:hunter2@${HOST}:${PORT}/0?prefix=glob*`,
      `redis://:hunter2@${HOST}:${PORT}/0?prefix=`,
      `redis://:hunter2@${HOST}:${PORT}/0?timeout=5`,
      `redis://:hunter2@${HOST}:${PORT}/0#fragment`,
      'redis://:hunter2@/0',
      'rediss:hunter2',
    ];
    for (const url of urls) {
      await rejectsWith('invalid_url', openStore(url), (message) => {
        assert.doesNotMatch(message, /hunter2/, url);
        assert.match(message, /redis:\/\/\[\[USER\]:PASSWORD@\]HOST/, url);
      });
    }
  });

  it('fails fast with one unavailable line naming host:port when nothing listens, never the password', async () => {
    const port = await freePort();
    for (const open of [() => openStore(`redis://admin:hunter2@${HOST}:${port}/0`), () => openRedisStore(`redis://admin:hunter2@${HOST}:${port}`)]) {
      await rejectsWith('unavailable', open(), (message) => {
        assert.match(message, new RegExp(`^Cannot connect to Redis at ${HOST}:${port} \\(.*ECONNREFUSED`));
        assert.doesNotMatch(message, /hunter2/);
        assert.doesNotMatch(message, /\n/);
      });
    }
  });

  it('refuses a wrong password at open with unavailable, never the password', async () => {
    const server = await ThrowawayRedis.start(['--requirepass', 'the-right-one']);
    try {
      await rejectsWith('unavailable', openRedisStore(`redis://:hunter2@${HOST}:${server.port}/0`), (message) => {
        assert.match(message, new RegExp(`^Cannot connect to Redis at ${HOST}:${server.port} \\(WRONGPASS`));
        assert.doesNotMatch(message, /hunter2/);
      });
      const store = await openRedisStore(`redis://:the-right-one@${HOST}:${server.port}/0`);
      assert.equal(await store.users.count(), 0);
      await store.close();
    } finally {
      await server.stop();
    }
  });

  it('refuses a prefix written by a newer layout (incompatible), leaving it untouched', async () => {
    const prefix = freshPrefix();
    try {
      await admin.set(`${prefix}layout`, '99');
      await rejectsWith('incompatible', openRedisStore(urlOf(prefix)), (message) => assert.match(message, /layout version 99/));
      assert.deepEqual(await keysOf(prefix), ['layout']);
    } finally {
      await dropPrefix(prefix);
    }
  });

  it('keeps prefixes apart: two deployments on one Redis', async () => {
    const [a, b] = [freshPrefix(), freshPrefix()];
    const [first, second] = await Promise.all([openRedisStore(urlOf(a)), openRedisStore(urlOf(b))]);
    try {
      await first.users.create({ username: 'alice', passwordHash: PASSWORD_HASH, scopes: [] });
      await second.users.create({ username: 'alice', passwordHash: PASSWORD_HASH, scopes: ['incidents:read'] });
      await first.incidents.create(sample());
      assert.equal(await second.incidents.count(), 0);
      assert.deepEqual((await second.users.getByUsername('alice'))?.scopes, ['incidents:read']);
      assert.ok((await keysOf(a)).length > 0);
    } finally {
      await Promise.all([first.close(), second.close()]);
      await Promise.all([dropPrefix(a), dropPrefix(b)]);
    }
  });
});

/** Runs `fn` on a store under a fresh prefix with a test clock, then closes it and deletes the prefix. */
const withPrefix = (fn: (store: Store, clock: TestClock, prefix: string) => Promise<void>) => async () => {
  const prefix = freshPrefix();
  const clock = new TestClock();
  const store = await openRedisStore(urlOf(prefix), { now: clock.now });
  try {
    await fn(store, clock, prefix);
  } finally {
    await store.close();
    await dropPrefix(prefix);
  }
};

/**
 * Every key family of the layout (src/stores/lib/redis-layout.ts), each one reviewed: whether it expires.
 * A new family fails the review until it is added here and to docs/storage-schema.md.
 */
const KEY_FAMILIES: readonly [RegExp, 'expires' | 'kept'][] = [
  [/^layout$/, 'kept'],
  [/^seq$/, 'kept'],
  [/^incident:INC-/, 'kept'],
  [/^incidents:(all|by-severity:.+|by-status:.+|by-service:.+)$/, 'kept'],
  [/^user:.+/, 'kept'],
  [/^user-id:.+/, 'kept'],
  [/^users$/, 'kept'],
  [/^client:.+/, 'kept'],
  [/^clients$/, 'kept'],
  [/^consents:.+/, 'kept'],
  [/^consenting-users:.+/, 'kept'],
  [/^code:[A-Za-z0-9_-]+$/, 'expires'],
  [/^codes:by-(user|client):.+/, 'expires'],
  [/^grant:.+/, 'expires'],
  [/^grant-tokens:.+/, 'expires'],
  [/^refresh:[A-Za-z0-9_-]+$/, 'expires'],
  [/^grants:(all|expiry|by-user:.+|by-client:.+)$/, 'kept'],
  [/^signing-key:.+/, 'kept'],
  [/^signing-keys$/, 'kept'],
  [/^server-secret$/, 'kept'],
  [/^rate:\d+:.+/, 'expires'],
  [/^rate-windows:.+/, 'expires'],
  [/^cimd:.+/, 'expires'],
  [/^session:[A-Za-z0-9_-]+$/, 'expires'],
  [/^upstream-grants:.+/, 'expires'],
  [/^upstream-grant-users:.+/, 'expires'],
];

describe('redis store: what is stored', () => {
  it('stores no raw token in any key or value; every key is of a reviewed family; records that end expire', withPrefix(async (store, clock, prefix) => {
    const now = clock.seconds;
    const user = await store.users.create({ username: 'alice', passwordHash: PASSWORD_HASH, scopes: ['incidents:read'] });
    const client = await store.clients.create(confidentialClient());
    await store.consents.put(user.id, client.clientId, ['incidents:read']);
    const c = code(now, { userId: user.id, clientId: client.clientId });
    await store.codes.put(c);
    await store.codes.consume(c.hash, now);
    const first = newToken();
    const g = await store.grants.create(grant(now, { userId: user.id, clientId: client.clientId }), first.hash);
    await store.codes.linkGrant(c.hash, g.id);
    let presented = first;
    for (let i = 0; i < 3; i++) {
      const next = newToken();
      await store.grants.rotate(presented.hash, next.hash, { clientId: g.clientId, now: now + i, graceSeconds: 30 });
      presented = next;
    }
    await store.keys.createIfNone(signingKey(now), now);
    await store.keys.serverSecret(serverSecretCandidate());
    await store.rateLimits.hit('login:alice', 60, now);
    await store.cimdCache.put('https://app.example/c.json', { client_id: 'https://app.example/c.json' }, now + 300);
    await store.sessions.create(session(now));
    await store.upstreamGrants.put(upstreamGrant(now, { userId: user.id, clientId: client.clientId }));
    await store.incidents.create(sample());

    const keys = await keysOf(prefix);
    for (const name of keys) {
      const family = KEY_FAMILIES.find(([pattern]) => pattern.test(name));
      assert.ok(family, `key ${name} is of no reviewed family`);
      const ttl = await admin.pttl(prefix + name);
      if (family[1] === 'expires') assert.ok(ttl > 0, `${name} expires`);
      else assert.equal(ttl, -1, `${name} is kept`);
    }
    for (const [pattern] of KEY_FAMILIES) assert.ok(keys.some((name) => pattern.test(name)), `the flow above writes ${pattern}`);
    const texts = await textsOf(prefix);
    assert.ok(rawTokens.length > 5);
    for (const raw of rawTokens) assert.ok(!texts.some((text) => text.includes(raw)), 'a raw token was stored');
    assert.ok(texts.includes(c.hash), 'the hash is what is stored');
  }));

  it('sets TTLs from the caller clock: a clock far from Redis\'s keeps records as long as it considers them live', withPrefix(async (store, clock, prefix) => {
    // The test clock is 2025-06-01, long before the Redis server's time: absolute expiry times would
    // already have passed. TTLs are the remaining time by the caller's clock, plus a minute.
    const now = clock.seconds;
    const c = code(now, { expiresAt: now + 60 });
    await store.codes.put(c);
    const s = session(now, { expiresAt: now + 3600 });
    await store.sessions.create(s);
    const g = await store.grants.create(grant(now, { expiresAt: now + 86_400 }), newToken().hash);
    const ttl = async (name: string) => Math.round((await admin.pttl(prefix + name)) / 1000);
    assert.ok((await ttl(`code:${c.hash}`)) > 60 && (await ttl(`code:${c.hash}`)) <= 120);
    assert.ok((await ttl(`session:${s.hash}`)) > 3600 && (await ttl(`session:${s.hash}`)) <= 3660);
    assert.ok((await ttl(`grant:${g.id}`)) > 86_400 && (await ttl(`grant:${g.id}`)) <= 86_460);
    await store.sessions.touch(s.hash, { expiresAt: now + 7200 }, now + 10);
    assert.ok((await ttl(`session:${s.hash}`)) > 7190 && (await ttl(`session:${s.hash}`)) <= 7250, 'touch moves the TTL too');

    // Reads compare with the `now` they are given, whatever Redis still holds.
    assert.equal(await store.codes.consume(c.hash, now + 60), undefined);
    assert.equal(await admin.exists(`${prefix}code:${c.hash}`), 1);
    assert.equal(await store.sessions.get(s.hash, now + 7200), undefined);
    assert.equal(await admin.exists(`${prefix}session:${s.hash}`), 1);
    assert.deepEqual((await store.codes.consume(c.hash, now + 59))?.firstUse, true);
  }));

  it('sweeps an expired grant with its tokens and index entries on the write path, even after its hash expired', withPrefix(async (store, clock, prefix) => {
    const now = clock.seconds;
    const t0 = newToken();
    const old = await store.grants.create(grant(now, { expiresAt: now + 100, userId: 'user-old', clientId: 'client-old' }), t0.hash);
    const gone = await store.grants.create(grant(now, { expiresAt: now + 100 }), newToken().hash);
    await store.grants.rotate(t0.hash, newToken().hash, { clientId: 'client-old', now, graceSeconds: 30 });
    await admin.del(`${prefix}grant:${gone.id}`); // as its TTL would
    assert.deepEqual((await store.grants.list()).map((x) => x.id), [old.id], 'an index entry without its grant is skipped');
    const later = clock.advance(600);
    const fresh = await store.grants.create(grant(later), newToken().hash);
    assert.deepEqual((await store.grants.list()).map((x) => x.id), [fresh.id]);
    const keys = await keysOf(prefix);
    assert.deepEqual(keys.filter((name) => /^(grant|grant-tokens|refresh):/.test(name)).length, 3, 'the fresh grant, its token set, its token');
    assert.deepEqual(keys.filter((name) => /user-old|client-old/.test(name)), []);
    assert.equal(await admin.zcard(`${prefix}grants:all`), 1);
    assert.equal(await admin.zcard(`${prefix}grants:expiry`), 1);
  }));
});

describe('redis store: when Redis goes away', () => {
  const openOn = (server: ThrowawayRedis, options: RedisStoreOptions = {}) => openRedisStore(`redis://${HOST}:${server.port}/0`, options);

  it('fails calls at once with unavailable while Redis is down, logs the outage once, and recovers by itself', async () => {
    const server = await ThrowawayRedis.start();
    const { lines, logger } = recordingLogger();
    const store = await openOn(server, { logger });
    try {
      await store.users.create({ username: 'before', passwordHash: PASSWORD_HASH, scopes: [] });
      await server.stop();
      for (let i = 0; i < 20; i++) {
        await rejectsWith('unavailable', store.users.count(), (message) => assert.match(message, new RegExp(`${HOST}:${server.port}`)));
        await rejectsWith('unavailable', store.codes.consume(newToken().hash, 1_800_000_000));
      }
      await eventually(async () => assert.ok(lines.some((l) => l.level === 'warn')));
      await server.start();
      await eventually(() => store.users.count()); // a fresh server without persistence: empty, scripts loaded again
      const user = await store.users.create({ username: 'after', passwordHash: PASSWORD_HASH, scopes: [] });
      assert.deepEqual(await store.users.get(user.id), user);
      const outage = lines.filter((l) => l.level === 'warn');
      assert.equal(outage.length, 1, 'one line per outage, not per retry or per call');
      assert.match(outage[0]!.message, /Redis is unreachable/);
      assert.deepEqual(outage[0]!.fields.address, `${HOST}:${server.port}`);
      assert.deepEqual(lines.filter((l) => l.level === 'info').map((l) => l.message), ['Redis is reachable again']);
    } finally {
      await store.close();
      await server.stop();
    }
    await rejectsWith('closed', store.users.count());
  });

  it('fails calls with unavailable when Redis stops answering, and works again once it answers', async () => {
    const server = await ThrowawayRedis.start();
    const store = await openOn(server, { commandTimeoutMs: 300 });
    try {
      assert.equal(await store.rateLimits.hit('k', 60, 1_800_000_000), 1);
      await server.command('CLIENT', 'PAUSE', '1500', 'ALL');
      await rejectsWith('unavailable', store.rateLimits.hit('k', 60, 1_800_000_000));
      assert.ok((await eventually(() => store.rateLimits.hit('k', 60, 1_800_000_000))) >= 2);
    } finally {
      await store.close();
      await server.stop();
    }
  });

  it('closing while Redis is down is harmless, and later calls reject closed', async () => {
    const server = await ThrowawayRedis.start();
    const store = await openOn(server);
    await server.stop();
    await rejectsWith('unavailable', store.keys.list(1_800_000_000));
    await store.close();
    await store.close();
    await rejectsWith('closed', store.keys.list(1_800_000_000));
  });
});

/**
 * Sessions shared through a store: two SessionStores on one store behave as two instances of the server
 * behind a load balancer. The store is the memory store (its contract is the same as every other's).
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import { hashOf, SessionStore } from '../../src/mcp/session.js';
import { Stream } from '../../src/mcp/sse.js';
import { StoreError } from '../../src/stores/errors.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import type { McpSessionStore } from '../../src/stores/types.js';
import { caller } from './helpers.js';

const IDLE = 60_000;
const RECHECK = 5_000;

function instances(shared: McpSessionStore, clock: { now: number }) {
  const make = () => new SessionStore({ idleMs: IDLE, maxSessions: 10, now: () => clock.now, shared, recheckMs: RECHECK });
  return [make(), make()] as const;
}

test('a session created on one instance is served by another, only to its owner, and stored by hash only', async () => {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const store = createMemoryStore({ now: () => clock.now });
  const [a, b] = instances(store.sessions, clock);
  try {
    const alice = caller('alice', 'app', []);
    const session = (await a.create(alice, '2025-06-18', 3))!;
    assert.match(session.id, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(await store.sessions.get(session.id, clock.now / 1000), undefined, 'the raw id is not a key');
    const record = await store.sessions.get(hashOf(session.id), clock.now / 1000);
    assert.deepEqual({ ...record }, { hash: hashOf(session.id), subject: 'alice', clientId: 'app', version: '2025-06-18', capabilities: 3, logLevel: 0, createdAt: clock.now / 1000, expiresAt: (clock.now + IDLE) / 1000 });

    assert.equal(await b.find(session.id, caller('mallory', 'app', [])), undefined, 'another subject');
    assert.equal(await b.find(session.id, caller('alice', 'other-app', [])), undefined, 'another client');
    assert.equal(b.find(session.id, caller('mallory', 'app', [])), undefined, 'nor once the owner\'s session is cached here');
    const [adopted, again] = await Promise.all([b.find(session.id, alice), b.find(session.id, alice)]);
    assert.ok(adopted && adopted === again, 'concurrent first requests adopt one session');
    assert.deepEqual([adopted.subject, adopted.clientId, adopted.version, adopted.capabilities], ['alice', 'app', '2025-06-18', 3]);
    assert.equal(b.find(session.id, alice), adopted, 'then served from the cache, without a promise');
    assert.equal(await b.find('not-a-session-anyone-made', alice), undefined);
  } finally {
    a.close();
    b.close();
  }
});

test('DELETE on one instance ends the session on the others within the recheck interval; the idle deadline moves with use', async () => {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const store = createMemoryStore({ now: () => clock.now });
  const [a, b] = instances(store.sessions, clock);
  try {
    const alice = caller('alice', 'app', []);
    const session = (await a.create(alice, '2025-11-25', 0))!;
    const onB = (await b.find(session.id, alice))!;
    await a.terminate(session);
    assert.equal(await a.find(session.id, alice), undefined, 'gone at once where it was deleted');
    assert.equal(b.find(session.id, alice), onB, 'the other instance serves its copy until the recheck is due');
    clock.now += RECHECK;
    assert.equal(await b.find(session.id, alice), undefined, 'then it asks the store and forgets it');
    assert.equal(b.size, 0);

    // Use keeps a session alive past the idle time: every recheck moves the deadline in the store.
    const busy = (await a.create(alice, '2025-11-25', 0))!;
    for (let i = 0; i < 30; i++) {
      clock.now += RECHECK;
      assert.ok(await (i % 2 === 0 ? a : b).find(busy.id, alice), `still alive after ${(i + 1) * RECHECK} ms of use`);
    }
    clock.now += IDLE;
    assert.equal(await a.find(busy.id, alice), undefined, 'idle past the deadline: expired in the store');
  } finally {
    a.close();
    b.close();
  }
});

test('logging/setLevel on one instance reaches the others at their next check; a restart keeps the session', async () => {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const store = createMemoryStore({ now: () => clock.now });
  const [a, b] = instances(store.sessions, clock);
  const alice = caller('alice', 'app', []);
  const session = (await a.create(alice, '2025-11-25', 0))!;
  const onB = (await b.find(session.id, alice))!;
  await a.setLogLevel(session, 4);
  assert.equal(onB.logLevel, 0);
  clock.now += RECHECK;
  assert.equal((await b.find(session.id, alice))?.logLevel, 4);
  a.close();
  b.close();

  const [restarted] = instances(store.sessions, clock);
  try {
    const found = await restarted.find(session.id, alice);
    assert.equal(found?.logLevel, 4, 'a new process adopts the session with its state');
  } finally {
    restarted.close();
  }
});

test('a store that cannot answer fails the lookup (the server answers 503), and nothing is cached', async () => {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const store = createMemoryStore({ now: () => clock.now });
  let down = false;
  const flaky: McpSessionStore = {
    create: (s) => (down ? Promise.reject(new StoreError('unavailable', 'down')) : store.sessions.create(s)),
    get: (h, n) => (down ? Promise.reject(new StoreError('unavailable', 'down')) : store.sessions.get(h, n)),
    touch: (h, c, n) => (down ? Promise.reject(new StoreError('unavailable', 'down')) : store.sessions.touch(h, c, n)),
    remove: (h) => (down ? Promise.reject(new StoreError('unavailable', 'down')) : store.sessions.remove(h)),
  };
  const [a, b] = instances(flaky, clock);
  try {
    const alice = caller('alice', 'app', []);
    down = true;
    await assert.rejects(a.create(alice, '2025-11-25', 0), (err: unknown) => err instanceof StoreError && err.code === 'unavailable');
    assert.equal(a.size, 0, 'no session exists that the store does not know');
    down = false;
    const session = (await a.create(alice, '2025-11-25', 0))!;
    down = true;
    await assert.rejects(Promise.resolve(b.find(session.id, alice)), (err: unknown) => err instanceof StoreError);
    assert.equal(b.size, 0);
    clock.now += RECHECK;
    await assert.rejects(Promise.resolve(a.find(session.id, alice)), (err: unknown) => err instanceof StoreError, 'a due check fails closed');
    down = false;
    assert.ok(await b.find(session.id, alice), 'served again once the store is back');
    assert.ok(await a.find(session.id, alice));
  } finally {
    a.close();
    b.close();
  }
});

test('a session kept busy by its GET stream stays alive in the store, and a DELETE elsewhere ends the stream', async () => {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  const store = createMemoryStore({ now: () => clock.now });
  const [a, b] = instances(store.sessions, clock);
  try {
    const alice = caller('alice', 'app', []);
    const session = (await a.create(alice, '2025-11-25', 0))!;
    const written: string[] = [];
    const res = { destroyed: false, writeHead: () => res, write: (chunk: string) => written.push(chunk), end: () => res };
    const stream = new Stream(0, 8, 1_000);
    stream.attach(res as unknown as ServerResponse, {});
    (session.streams = new Map()).set(0, stream);

    // Two idle periods with no request: the sweep moves the deadline in the store.
    for (let i = 0; i < 2 * (IDLE / RECHECK); i++) {
      clock.now += RECHECK;
      a.sweep();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(await store.sessions.get(hashOf(session.id), clock.now / 1000), 'still in the store');

    await b.terminate((await b.find(session.id, alice))!);
    clock.now += RECHECK;
    a.sweep();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(a.size, 0, 'the sweep found the session gone');
    assert.equal(stream.connected, false, 'and ended its stream');
  } finally {
    a.close();
    b.close();
  }
});

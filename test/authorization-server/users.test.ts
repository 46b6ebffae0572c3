import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { hashPassword, verifyPassword } from '../../src/authorization-server/passwords.js';
import { ADMIN_SCOPE, authenticateUser, bootstrapAdmin, LOGIN_LIMITS, LOGIN_WINDOW_SECONDS, type LoginResult } from '../../src/authorization-server/users.js';
import { captureLogger, memoryStore, SecondsClock } from './core-fixtures.js';

const SCOPES = ['incidents:read', 'incidents:write'];
const PASSWORD = 'right-password-1';

async function storeWithAlice() {
  const store = await memoryStore();
  await store.users.create({ username: 'alice', passwordHash: await hashPassword(PASSWORD), scopes: ['incidents:read'] });
  return store;
}

const reason = (result: LoginResult): string => (result.ok ? 'ok' : result.reason);

describe('users: the first admin', () => {
  it('creates admin with a random password on an empty store, returns it once and never logs it', async () => {
    const store = await memoryStore();
    const log = captureLogger();
    const result = await bootstrapAdmin({ store, logger: log.logger, scopes: SCOPES });
    assert.ok(result.created);
    assert.equal(result.username, 'admin');
    assert.equal(result.generated, true);
    assert.match(result.password, /^[A-Za-z0-9_-]{24}$/);
    const admin = await store.users.getByUsername('admin');
    assert.deepEqual([...admin!.scopes], [...SCOPES, ADMIN_SCOPE].sort());
    assert.equal(await verifyPassword(result.password, admin!.passwordHash), true);
    assert.ok(!admin!.passwordHash.includes(result.password));
    assert.ok(!log.text().includes(result.password), 'the password is not in the log');
    assert.ok(log.lines.some((l) => l.msg === 'created the first user'));

    assert.deepEqual(await bootstrapAdmin({ store, logger: log.logger, scopes: SCOPES, password: 'another-password' }), { created: false });
    assert.equal(await store.users.count(), 1);
  });

  it('uses PORTCULLIS_ADMIN_PASSWORD when given, refuses a short one, and creates one admin when instances race', async () => {
    const store = await memoryStore();
    const { logger } = captureLogger();
    await assert.rejects(bootstrapAdmin({ store, logger, scopes: SCOPES, password: 'short' }), /PORTCULLIS_ADMIN_PASSWORD: a password needs at least 8 characters/);
    const results = await Promise.all([1, 2].map(() => bootstrapAdmin({ store, logger, scopes: SCOPES, password: 'chosen-password' })));
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.deepEqual(results.find((r) => r.created), { created: true, username: 'admin', password: 'chosen-password', generated: false });
    assert.equal(await store.users.count(), 1);
  });
});

describe('users: login', () => {
  it('accepts the right password and refuses a wrong one or an unknown user alike', async () => {
    const store = await storeWithAlice();
    const clock = new SecondsClock();
    const at = { address: '192.0.2.1', now: clock.value };
    const ok = await authenticateUser(store, 'alice', PASSWORD, at);
    assert.ok(ok.ok);
    assert.equal(ok.user.username, 'alice');
    assert.deepEqual(await authenticateUser(store, 'alice', 'wrong-password', at), { ok: false, reason: 'invalid_credentials' });
    assert.deepEqual(await authenticateUser(store, 'mallory', PASSWORD, at), { ok: false, reason: 'invalid_credentials' });
    assert.deepEqual(await authenticateUser(store, 'not a valid name!', PASSWORD, at), { ok: false, reason: 'invalid_credentials' });
  });

  it('spends the scrypt time on unknown users too, so names cannot be probed by timing', async () => {
    const store = await storeWithAlice();
    const clock = new SecondsClock();
    const time = async (username: string): Promise<number> => {
      // CPU time of the whole process (scrypt runs on the thread pool), not wall time: it measures the work
      // done, which other processes on the machine do not inflate.
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const start = process.cpuUsage();
        await authenticateUser(store, username, 'wrong-password', { address: `198.51.100.${i}`, now: clock.value });
        const used = process.cpuUsage(start);
        best = Math.min(best, (used.user + used.system) / 1000);
      }
      return best;
    };
    const known = await time('alice');
    const unknown = await time('nobody');
    // A hash lookup alone costs microseconds; scrypt costs tens of milliseconds. Same order = same work.
    assert.ok(unknown > known * 0.5 && known > unknown * 0.5, `known ${known.toFixed(1)} ms CPU, unknown ${unknown.toFixed(1)} ms CPU`);
  });

  it(`refuses for the rest of the window after ${LOGIN_LIMITS.perUserAndAddress} failures, even the right password`, async () => {
    const store = await storeWithAlice();
    const clock = new SecondsClock(1_800_000_000 - (1_800_000_000 % LOGIN_WINDOW_SECONDS) + 100);
    const log = captureLogger();
    const at = () => ({ address: '192.0.2.7', now: clock.value, logger: log.logger });
    for (let i = 0; i < LOGIN_LIMITS.perUserAndAddress; i++) assert.equal(reason(await authenticateUser(store, 'alice', `wrong-${i}`, at())), 'invalid_credentials');
    const refused = await authenticateUser(store, 'alice', PASSWORD, at());
    assert.deepEqual(refused, { ok: false, reason: 'throttled', retryAfter: LOGIN_WINDOW_SECONDS - 100 });
    assert.ok(log.lines.some((l) => l.msg === 'login throttled'));
    assert.ok(!log.text().includes('wrong-') && !log.text().includes(PASSWORD), 'no password in the log');

    assert.equal(reason(await authenticateUser(store, 'alice', PASSWORD, { address: '203.0.113.9', now: clock.value })), 'ok', 'the owner elsewhere still gets in');
    clock.advance(LOGIN_WINDOW_SECONDS - 100);
    assert.equal(reason(await authenticateUser(store, 'alice', PASSWORD, at())), 'ok', 'the next window starts afresh');
  });

  it('clears the counters of a user on success', async () => {
    const store = await storeWithAlice();
    const clock = new SecondsClock();
    const at = { address: '192.0.2.8', now: clock.value };
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < LOGIN_LIMITS.perUserAndAddress - 1; i++) await authenticateUser(store, 'alice', 'wrong-password', at);
      assert.equal(reason(await authenticateUser(store, 'alice', PASSWORD, at)), 'ok');
    }
  });

  it('limits guesses at one user from many addresses, and one address guessing many users', async () => {
    const store = await storeWithAlice();
    const clock = new SecondsClock();
    const limits = { perUser: 3, perAddress: 4 };
    for (let i = 0; i < 3; i++) await authenticateUser(store, 'alice', 'wrong-password', { address: `10.0.0.${i}`, now: clock.value, limits });
    assert.equal(reason(await authenticateUser(store, 'alice', PASSWORD, { address: '10.0.0.99', now: clock.value, limits })), 'throttled');

    for (let i = 0; i < 4; i++) await authenticateUser(store, `user${i}`, 'guess-password', { address: '10.9.9.9', now: clock.value, limits });
    const sprayed = await authenticateUser(store, 'someone-else', 'guess-password', { address: '10.9.9.9', now: clock.value, limits });
    assert.equal(reason(sprayed), 'throttled');
  });
});

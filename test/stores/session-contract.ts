/**
 * The contract of stored MCP sessions that every store must pass (registered by `authStoreContract`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { McpSessionRecord } from '../../src/stores/types.js';
import type { WithStore } from './auth-contract.js';
import { newToken, rejectsWith } from './auth-fixtures.js';

export function session(now: number, overrides: Partial<McpSessionRecord> = {}): McpSessionRecord {
  return {
    hash: newToken().hash,
    subject: 'alice',
    clientId: 'client-a',
    version: '2025-11-25',
    capabilities: 3,
    logLevel: 0,
    createdAt: now,
    expiresAt: now + 3600,
    ...overrides,
  };
}

export function sessionsContract(name: string, withStore: WithStore): void {
  describe(`store contract (MCP sessions): ${name}`, () => {
    it('create, get, touch moves the deadline and the log level, remove ends it', withStore(async (store, clock) => {
      const s = session(clock.seconds);
      await store.sessions.create(s);
      assert.deepEqual(await store.sessions.get(s.hash, clock.seconds), s);
      assert.equal(await store.sessions.get(newToken().hash, clock.seconds), undefined);

      const later = clock.advance(1800);
      const touched = await store.sessions.touch(s.hash, { expiresAt: later + 3600 }, later);
      assert.deepEqual(touched, { ...s, expiresAt: later + 3600 });
      const leveled = await store.sessions.touch(s.hash, { expiresAt: later + 3600, logLevel: 5 }, later);
      assert.equal(leveled?.logLevel, 5);
      assert.equal((await store.sessions.touch(s.hash, { expiresAt: later + 3601 }, later))?.logLevel, 5, 'an absent logLevel keeps the stored one');
      assert.throws(() => ((leveled as { subject: string }).subject = 'eve'));
      assert.equal((await store.sessions.get(s.hash, later))?.subject, 'alice');

      assert.equal(await store.sessions.remove(s.hash), true);
      assert.equal(await store.sessions.get(s.hash, later), undefined);
      assert.equal(await store.sessions.touch(s.hash, { expiresAt: later + 10 }, later), undefined, 'a removed session is not brought back');
      assert.equal(await store.sessions.get(s.hash, later), undefined);
      assert.equal(await store.sessions.remove(s.hash), false);
    }));

    it('an expired session is gone: not answered, not touched back to life, and its id may be taken again', withStore(async (store, clock) => {
      const s = session(clock.seconds, { expiresAt: clock.seconds + 60 });
      await store.sessions.create(s);
      assert.ok(await store.sessions.get(s.hash, clock.seconds + 59));
      assert.equal(await store.sessions.get(s.hash, clock.seconds + 60), undefined, 'expiresAt is the first second it is gone');
      assert.equal(await store.sessions.touch(s.hash, { expiresAt: clock.seconds + 600 }, clock.seconds + 60), undefined);
      const now = clock.advance(61);
      const again = session(now, { hash: s.hash, subject: 'bob' });
      await store.sessions.create(again);
      assert.deepEqual(await store.sessions.get(s.hash, now), again);
    }));

    it('a live hash is a conflict; bad input is refused and stores nothing', withStore(async (store, clock) => {
      const s = session(clock.seconds);
      await store.sessions.create(s);
      await rejectsWith('conflict', store.sessions.create({ ...s, subject: 'eve' }));
      assert.equal((await store.sessions.get(s.hash, clock.seconds))?.subject, 'alice');
      const bad: Partial<Record<keyof McpSessionRecord, unknown>>[] = [
        { hash: 'short' },
        { hash: 'has space'.repeat(4) },
        { subject: '' },
        { subject: 'a\nb' },
        { clientId: 'has space' },
        { version: '' },
        { version: 'x'.repeat(33) },
        { capabilities: 256 },
        { capabilities: 1.5 },
        { logLevel: 8 },
        { logLevel: -1 },
        { createdAt: Date.now() },
        { expiresAt: clock.seconds },
      ];
      for (const fields of bad) {
        const record = { ...session(clock.seconds), ...fields } as McpSessionRecord;
        await rejectsWith('invalid_record', store.sessions.create(record), JSON.stringify(fields));
        if (typeof record.hash === 'string' && record.hash.length >= 16) assert.equal(await store.sessions.get(record.hash, clock.seconds), undefined);
      }
      await rejectsWith('invalid_record', store.sessions.touch(s.hash, { expiresAt: Date.now() }, clock.seconds));
      await rejectsWith('invalid_record', store.sessions.touch(s.hash, { expiresAt: clock.seconds + 1, logLevel: 9 }, clock.seconds));
      assert.deepEqual(await store.sessions.get(s.hash, clock.seconds), s, 'a refused touch changes nothing');
    }));

    it('many sessions at once all land, each once', withStore(async (store, clock) => {
      const sessions = Array.from({ length: 50 }, (_, i) => session(clock.seconds, { subject: `user-${i}` }));
      await Promise.all(sessions.map((s) => store.sessions.create(s)));
      const found = await Promise.all(sessions.map((s) => store.sessions.get(s.hash, clock.seconds)));
      assert.deepEqual(found.map((s) => s?.subject), sessions.map((s) => s.subject), 'each hash finds its own session');
      assert.equal(await store.sessions.remove(sessions[0]!.hash), true);
      assert.ok(await store.sessions.get(sessions[1]!.hash, clock.seconds), 'removing one leaves the others');
    }));
  });
}

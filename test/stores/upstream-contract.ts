/**
 * The contract of upstream grants (federated login) that every store must pass (registered by
 * `authStoreContract`): one record per (user, client), replaced by `put` with the next version, changed only
 * by a compare-and-swap `update`, gone at `expiresAt`, removed with its user or client, and never holding an
 * upstream token in clear (the store refuses anything but an `aes256gcm:` envelope).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { NewUpstreamGrant } from '../../src/stores/auth-types.js';
import type { WithStore } from './auth-contract.js';
import { concurrently, PASSWORD_HASH, publicClient, rawTokens, rejectsWith } from './auth-fixtures.js';

/** An envelope as the authorization server makes one (random parts: the store never opens it). */
export function sealed(): string {
  const part = (n: number) => randomBytes(n).toString('base64url');
  return `aes256gcm:${part(12)}.${part(60)}.${part(16)}`;
}

export function upstreamGrant(now: number, overrides: Partial<NewUpstreamGrant> = {}): NewUpstreamGrant {
  return {
    userId: 'user-a',
    clientId: 'client-a',
    issuer: 'https://idp.example.com',
    subject: '00u1abcd',
    sealedTokens: sealed(),
    accessExpiresAt: now + 300,
    createdAt: now,
    expiresAt: now + 30 * 86_400,
    ...overrides,
  };
}

export function upstreamGrantsContract(name: string, withStore: WithStore): void {
  describe(`store contract (upstream grants): ${name}`, () => {
    it('put stores version 1, get reads it back frozen, put again replaces it with the next version', withStore(async (store, clock) => {
      const now = clock.seconds;
      const g = upstreamGrant(now);
      const stored = await store.upstreamGrants.put(g);
      assert.deepEqual(stored, { ...g, version: 1, updatedAt: now });
      assert.deepEqual(await store.upstreamGrants.get(g.userId, g.clientId, now), stored);
      assert.equal(await store.upstreamGrants.get(g.userId, 'client-b', now), undefined);
      assert.equal(await store.upstreamGrants.get('user-b', g.clientId, now), undefined);
      assert.throws(() => ((stored as { subject: string }).subject = 'eve'));

      const later = clock.advance(60);
      const again = upstreamGrant(later, { subject: 'other', sealedTokens: sealed() });
      const replaced = await store.upstreamGrants.put(again);
      assert.deepEqual(replaced, { ...again, version: 2, updatedAt: later });
      assert.deepEqual(await store.upstreamGrants.get(g.userId, g.clientId, later), replaced);
      const other = await store.upstreamGrants.put(upstreamGrant(later, { clientId: 'client-b' }));
      assert.equal(other.version, 1, 'each (user, client) has its own record');
    }));

    it('update is a compare-and-swap on the version: changes only what it is given, sets and ends the lease', withStore(async (store, clock) => {
      const now = clock.seconds;
      const g = await store.upstreamGrants.put(upstreamGrant(now));
      const t1 = clock.advance(10);
      const leased = await store.upstreamGrants.update(g.userId, g.clientId, 1, { refreshingUntil: t1 + 30 }, t1);
      assert.deepEqual(leased, { ...g, refreshingUntil: t1 + 30, version: 2, updatedAt: t1 });
      assert.equal(await store.upstreamGrants.update(g.userId, g.clientId, 1, { refreshingUntil: t1 + 30 }, t1), undefined, 'a stale version changes nothing');
      assert.deepEqual(await store.upstreamGrants.get(g.userId, g.clientId, t1), leased);

      const t2 = clock.advance(5);
      const tokens = sealed();
      const refreshed = await store.upstreamGrants.update(g.userId, g.clientId, 2, { sealedTokens: tokens, accessExpiresAt: t2 + 600, refreshingUntil: null }, t2);
      const { refreshingUntil: _lease, ...withoutLease } = leased!;
      assert.deepEqual(refreshed, { ...withoutLease, sealedTokens: tokens, accessExpiresAt: t2 + 600, version: 3, updatedAt: t2 });
      assert.equal('refreshingUntil' in refreshed!, false, 'null ends the lease');
      assert.deepEqual(await store.upstreamGrants.get(g.userId, g.clientId, t2), refreshed);
      assert.equal(await store.upstreamGrants.update('user-b', g.clientId, 3, { refreshingUntil: null }, t2), undefined, 'no record, no change');

      // put replaces whatever is there and ends a lease: a new login is newer than a refresh under way.
      await store.upstreamGrants.update(g.userId, g.clientId, 3, { refreshingUntil: t2 + 30 }, t2);
      const replaced = await store.upstreamGrants.put(upstreamGrant(t2));
      assert.equal(replaced.version, 5);
      assert.equal(replaced.refreshingUntil, undefined);
      assert.equal(await store.upstreamGrants.update(g.userId, g.clientId, 4, { refreshingUntil: null }, t2), undefined, 'the version read before the put is stale');
    }));

    it('of ten updates holding the same version, exactly one wins', withStore(async (store, clock) => {
      const now = clock.seconds;
      await store.upstreamGrants.put(upstreamGrant(now));
      const results = await concurrently(10, (i) => store.upstreamGrants.update('user-a', 'client-a', 1, { refreshingUntil: now + 30 + i }, now));
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.deepEqual(await store.upstreamGrants.get('user-a', 'client-a', now), winners[0]);
      assert.equal(winners[0]!.version, 2);
    }));

    it('a record is gone at expiresAt: not read, not updated; its pair may be stored again', withStore(async (store, clock) => {
      const now = clock.seconds;
      const g = await store.upstreamGrants.put(upstreamGrant(now, { expiresAt: now + 60 }));
      assert.ok(await store.upstreamGrants.get(g.userId, g.clientId, now + 59));
      assert.equal(await store.upstreamGrants.get(g.userId, g.clientId, now + 60), undefined, 'expiresAt is the first second it is gone');
      assert.equal(await store.upstreamGrants.update(g.userId, g.clientId, 1, { refreshingUntil: now + 90 }, now + 60), undefined);
      const later = clock.advance(120);
      const again = await store.upstreamGrants.put(upstreamGrant(later, { subject: 'new' }));
      assert.equal((await store.upstreamGrants.get(g.userId, g.clientId, later))?.subject, 'new');
      assert.ok(again.version >= 1);
    }));

    it('remove ends it; bad input is refused and stores nothing: never a token in clear', withStore(async (store, clock) => {
      const now = clock.seconds;
      const g = await store.upstreamGrants.put(upstreamGrant(now));
      assert.equal(await store.upstreamGrants.remove(g.userId, g.clientId), true);
      assert.equal(await store.upstreamGrants.remove(g.userId, g.clientId), false);
      assert.equal(await store.upstreamGrants.get(g.userId, g.clientId, now), undefined);

      const rawRefreshToken = randomBytes(32).toString('base64url');
      rawTokens.push(rawRefreshToken);
      const bad: Partial<Record<keyof NewUpstreamGrant | 'refreshToken', unknown>>[] = [
        { sealedTokens: rawRefreshToken },
        { sealedTokens: `plain:${rawRefreshToken}` },
        { sealedTokens: `aes256gcm:${rawRefreshToken}` },
        { sealedTokens: 'aes256gcm:a.b c.d' },
        { refreshToken: rawRefreshToken },
        { userId: '' },
        { clientId: 'has space' },
        { issuer: '' },
        { subject: '' },
        { subject: 'a\nb' },
        { accessExpiresAt: Date.now() },
        { createdAt: 1.5 },
        { expiresAt: now },
      ];
      for (const fields of bad) {
        await rejectsWith('invalid_record', store.upstreamGrants.put({ ...upstreamGrant(now), ...fields } as NewUpstreamGrant), JSON.stringify(Object.keys(fields)));
      }
      assert.equal(await store.upstreamGrants.get('user-a', 'client-a', now), undefined);

      const kept = await store.upstreamGrants.put(upstreamGrant(now));
      const badChanges: unknown[] = [{ sealedTokens: rawRefreshToken }, { accessExpiresAt: Date.now() }, { refreshingUntil: -1 }, { version: 9 }];
      for (const changes of badChanges) await rejectsWith('invalid_record', store.upstreamGrants.update('user-a', 'client-a', 1, changes as never, now));
      await rejectsWith('invalid_record', store.upstreamGrants.update('user-a', 'client-a', 0, {}, now));
      await rejectsWith('invalid_record', store.upstreamGrants.update('user-a', 'client-a', 1, {}, Date.now()));
      assert.deepEqual(await store.upstreamGrants.get('user-a', 'client-a', now), kept, 'a refused update changes nothing');
    }));

    it('removing a user or a client removes their upstream grants, and nothing of others', withStore(async (store, clock) => {
      const now = clock.seconds;
      const alice = await store.users.create({ username: 'alice', passwordHash: PASSWORD_HASH, scopes: [] });
      const bob = await store.users.create({ username: 'bob', passwordHash: PASSWORD_HASH, scopes: [] });
      const app = await store.clients.create(publicClient());
      const other = await store.clients.create(publicClient());
      for (const userId of [alice.id, bob.id]) for (const clientId of [app.clientId, other.clientId]) await store.upstreamGrants.put(upstreamGrant(now, { userId, clientId }));

      assert.equal(await store.users.remove('alice'), true);
      assert.equal(await store.upstreamGrants.get(alice.id, app.clientId, now), undefined);
      assert.equal(await store.upstreamGrants.get(alice.id, other.clientId, now), undefined);
      assert.ok(await store.upstreamGrants.get(bob.id, app.clientId, now));

      assert.equal(await store.clients.remove(app.clientId), true);
      assert.equal(await store.upstreamGrants.get(bob.id, app.clientId, now), undefined);
      assert.ok(await store.upstreamGrants.get(bob.id, other.clientId, now));
      // A removed pair may be stored again (the user logs in again with the client).
      assert.equal((await store.upstreamGrants.put(upstreamGrant(now, { userId: bob.id, clientId: app.clientId }))).userId, bob.id);
    }));
  });
}

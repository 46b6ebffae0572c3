/**
 * The contract of authorization codes and grants (refresh-token families): single use, rotation with its
 * grace period and reuse detection, expiry and revocation, and the races — in one process and, where the
 * store is shared, across processes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsumedCode, RotationResult } from '../../src/stores/auth-types.js';
import type { Store } from '../../src/stores/types.js';
import { code, concurrently, grant, newToken, rejectsWith, serverSecretCandidate, signingKey, TestClock, type AuthStoreTarget, type RacerSpec } from './auth-fixtures.js';
import type { WithStore } from './auth-contract.js';

const GRACE = 30;

export function grantsContract(name: string, makeTarget: () => Promise<AuthStoreTarget>, withStore: WithStore): void {
  describe(`authorization store contract (codes and grants): ${name}`, () => {
    it('codes: the first consume gets the code; a replay gets the grant its first use issued', withStore(async (store, clock) => {
      const now = clock.seconds;
      const c = code(now);
      await store.codes.put(c);
      await rejectsWith('conflict', store.codes.put(c));
      const first = await store.codes.consume(c.hash, now);
      assert.deepEqual(first, { firstUse: true, code: c });
      assert.throws(() => ((first!.code as { userId: string }).userId = 'eve'));
      assert.deepEqual(await store.codes.consume(c.hash, now + 1), { firstUse: false, code: c, grantId: undefined }, 'replay before the grant is linked');
      const g = await store.grants.create(grant(now), newToken().hash);
      await store.codes.linkGrant(c.hash, g.id);
      assert.deepEqual(await store.codes.consume(c.hash, now + 2), { firstUse: false, code: c, grantId: g.id });
      await store.codes.linkGrant(newToken().hash, g.id); // a code that is gone: nothing happens
      assert.equal(await store.codes.consume(newToken().hash, now), undefined);
      assert.equal(await store.codes.consume('not a hash', now), undefined);
    }));

    it('codes: expired at expiresAt, used or not; 10 concurrent consumers, one first use', withStore(async (store, clock) => {
      const now = clock.seconds;
      const fresh = code(now, { expiresAt: now + 60 });
      await store.codes.put(fresh);
      assert.equal(await store.codes.consume(fresh.hash, now + 60), undefined);
      const used = code(now, { expiresAt: now + 60 });
      await store.codes.put(used);
      assert.equal((await store.codes.consume(used.hash, now))?.firstUse, true);
      assert.equal(await store.codes.consume(used.hash, now + 60), undefined);

      const raced = code(now);
      await store.codes.put(raced);
      const results = await concurrently(10, () => store.codes.consume(raced.hash, now));
      assert.equal(results.filter((r) => r?.firstUse === true).length, 1);
      assert.equal(results.filter((r) => r?.firstUse === false).length, 9);
    }));

    it('codes: bad input is refused and stores nothing', withStore(async (store, clock) => {
      const now = clock.seconds;
      const bad = [
        code(now, { hash: 'short' }),
        code(now, { hash: 'not/base64url+but+long+enough' }),
        code(now, { clientId: '' }),
        code(now, { userId: 'with space' }),
        code(now, { codeChallenge: 'plain' }),
        code(now, { scopes: 'incidents:read' as never }),
        code(now, { redirectUri: '' }),
        code(now, { expiresAt: Date.now() + 60_000 }),
        { ...code(now), state: 'xyz' },
      ];
      for (const c of bad) {
        await rejectsWith('invalid_record', store.codes.put(c as never));
        assert.equal(await store.codes.consume(c.hash, now), undefined);
      }
      await rejectsWith('invalid_record', store.codes.consume(newToken().hash, Date.now()));
      await rejectsWith('invalid_record', store.codes.linkGrant(newToken().hash, ''));
    }));

    it('grants: create, get, current token, find by any token of the family, list newest first', withStore(async (store, clock) => {
      const now = clock.seconds;
      const t0 = newToken();
      const g = await store.grants.create(grant(now), t0.hash);
      assert.equal(g.revoked, false);
      assert.deepEqual(await store.grants.get(g.id), g);
      assert.equal(await store.grants.isCurrent(t0.hash, now), true);
      assert.deepEqual(await store.grants.findByRefreshHash(t0.hash), g);
      await rejectsWith('conflict', store.grants.create(grant(now, { id: g.id }), newToken().hash));
      await rejectsWith('conflict', store.grants.create(grant(now), t0.hash));
      const later = await store.grants.create(grant(now + 10, { userId: 'user-b' }), newToken().hash);
      const same = await store.grants.create(grant(now + 10, { clientId: 'client-b' }), newToken().hash);
      assert.deepEqual((await store.grants.list()).map((x) => x.id), [same.id, later.id, g.id], 'newest first; ties: later insert first');
      assert.deepEqual((await store.grants.list({ userId: 'user-b' })).map((x) => x.id), [later.id]);
      assert.deepEqual((await store.grants.list({ clientId: 'client-b' })).map((x) => x.id), [same.id]);
      assert.deepEqual((await store.grants.list({ userId: 'user-a', clientId: 'client-a' })).map((x) => x.id), [g.id]);
      for (const bad of [grant(now, { expiresAt: now }), grant(now, { id: '' }), grant(now, { scopes: [''] }), { ...grant(now), revoked: false }]) {
        await rejectsWith('invalid_record', store.grants.create(bad as never, newToken().hash));
      }
      await rejectsWith('invalid_record', store.grants.create(grant(now), 'raw token?'));
      assert.equal((await store.grants.list()).length, 3);
    }));

    it('rotation: current → rotated; the token rotated last, own client, within grace → the same successor', withStore(async (store, clock) => {
      const now = clock.seconds;
      const [t0, t1, t2] = [newToken(), newToken(), newToken()];
      const g = await store.grants.create(grant(now), t0.hash);
      const opts = (at: number, clientId = g.clientId) => ({ clientId, now: at, graceSeconds: GRACE });
      assert.deepEqual(await store.grants.rotate(t0.hash, t1.hash, opts(now)), { kind: 'rotated', grant: g });
      assert.equal(await store.grants.isCurrent(t0.hash, now), false);
      assert.equal(await store.grants.isCurrent(t1.hash, now), true);
      assert.deepEqual(await store.grants.findByRefreshHash(t0.hash), g, 'a retired token still names its live family');
      assert.deepEqual(await store.grants.rotate(t0.hash, t1.hash, opts(now + GRACE - 1)), { kind: 'grace', grant: g, successorHash: t1.hash });
      const other = await store.grants.rotate(t0.hash, newToken().hash, opts(now + 5));
      assert.deepEqual(other, { kind: 'grace', grant: g, successorHash: t1.hash }, 'grace answers the stored successor');
      assert.equal(await store.grants.rotate(t0.hash, t1.hash, opts(now + 5, 'client-b')), undefined, 'another client: refused');
      assert.equal(await store.grants.rotate(t1.hash, t2.hash, opts(now + 5, 'client-b')), undefined, 'another client, current token: refused');
      assert.equal(await store.grants.isCurrent(t1.hash, now + 5), true, 'refusals change nothing');
      assert.deepEqual(await store.grants.rotate(t1.hash, t2.hash, opts(now + 6)), { kind: 'rotated', grant: g });
      assert.deepEqual(await store.grants.rotate(t1.hash, t2.hash, opts(now + 7)), { kind: 'grace', grant: g, successorHash: t2.hash });
    }));

    it('rotation: reuse after grace, of an older token, or with grace off revokes the whole family', withStore(async (store, clock) => {
      const now = clock.seconds;
      const revoked = async (label: string, setUp: (rotate: (from: string, to: string, at: number, grace?: number) => Promise<RotationResult | undefined>) => Promise<string>) => {
        const t0 = newToken();
        const g = await store.grants.create(grant(now), t0.hash);
        const rotate = (from: string, to: string, at: number, grace = GRACE) => store.grants.rotate(from, to, { clientId: g.clientId, now: at, graceSeconds: grace });
        const current = await setUp(async (from, to, at, grace) => rotate(from === 't0' ? t0.hash : from, to, at, grace));
        assert.equal(await store.grants.isCurrent(current, now), false, label);
        assert.equal(await store.grants.findByRefreshHash(current), undefined, label);
        assert.equal(await store.grants.rotate(current, newToken().hash, { clientId: g.clientId, now, graceSeconds: GRACE }), undefined, label);
        assert.equal((await store.grants.get(g.id))?.revoked, true, label);
        assert.deepEqual((await store.grants.list()).filter((x) => x.id === g.id), [], label);
      };
      await revoked('after grace (half-open interval)', async (rotate) => {
        const t1 = newToken();
        assert.equal((await rotate('t0', t1.hash, now))?.kind, 'rotated');
        const reuse = await rotate('t0', t1.hash, now + GRACE);
        assert.equal(reuse?.kind, 'reuse');
        assert.equal(reuse?.grant.revoked, true);
        return t1.hash;
      });
      await revoked('an older token, even within grace', async (rotate) => {
        const [t1, t2] = [newToken(), newToken()];
        await rotate('t0', t1.hash, now);
        await rotate(t1.hash, t2.hash, now + 1);
        assert.equal((await rotate('t0', t1.hash, now + 2))?.kind, 'reuse');
        return t2.hash;
      });
      await revoked('grace 0 turns grace off', async (rotate) => {
        const t1 = newToken();
        await rotate('t0', t1.hash, now, 0);
        assert.equal((await rotate('t0', t1.hash, now, 0))?.kind, 'reuse');
        return t1.hash;
      });
    }));

    it('rotation: bad arguments are rejected, unknown tokens refused, and neither changes anything', withStore(async (store, clock) => {
      const now = clock.seconds;
      const [t0, t1] = [newToken(), newToken()];
      const g = await store.grants.create(grant(now), t0.hash);
      const opts = (at: number) => ({ clientId: g.clientId, now: at, graceSeconds: GRACE });
      assert.equal((await store.grants.rotate(t0.hash, t1.hash, opts(now)))?.kind, 'rotated');
      assert.equal(await store.grants.rotate(newToken().hash, newToken().hash, opts(now)), undefined, 'unknown token');
      assert.equal(await store.grants.rotate('x', newToken().hash, opts(now)), undefined, 'malformed token: unknown');
      await rejectsWith('invalid_record', store.grants.rotate(t1.hash, t1.hash, opts(now)));
      await rejectsWith('invalid_record', store.grants.rotate(t1.hash, 'raw', opts(now)));
      await rejectsWith('invalid_record', store.grants.rotate(t1.hash, newToken().hash, { clientId: g.clientId, now: Date.now(), graceSeconds: GRACE }));
      await rejectsWith('invalid_record', store.grants.rotate(t1.hash, newToken().hash, { clientId: g.clientId, now, graceSeconds: -1 }));
      await rejectsWith('invalid_record', store.grants.rotate(t1.hash, newToken().hash, { clientId: '', now, graceSeconds: GRACE }));
      await rejectsWith('conflict', store.grants.rotate(t1.hash, t0.hash, opts(now)), 'a successor hash already stored');
      assert.equal(await store.grants.isCurrent(t1.hash, now), true, 'the refused rotations changed nothing');
      assert.equal(await store.grants.isCurrent(t0.hash, now), false);
      assert.equal((await store.grants.get(g.id))?.revoked, false);
    }));

    it('rotation: expired and revoked families are refused, whatever the sweep has done', withStore(async (store, clock) => {
      const now = clock.seconds;
      const [t0, t1] = [newToken(), newToken()];
      const g = await store.grants.create(grant(now, { expiresAt: now + 100 }), t0.hash);
      const opts = (at: number) => ({ clientId: g.clientId, now: at, graceSeconds: GRACE });
      assert.equal((await store.grants.rotate(t0.hash, t1.hash, opts(now + 90)))?.kind, 'rotated');
      assert.equal((await store.grants.get(g.id))?.expiresAt, now + 100, 'rotation never extends the family');
      assert.equal(await store.grants.isCurrent(t1.hash, now + 99), true);
      // Reads first: they never sweep, so this checks the refusal itself.
      assert.equal(await store.grants.isCurrent(t1.hash, now + 100), false, 'expired at expiresAt');
      assert.equal(await store.grants.findByRefreshHash(t1.hash, now + 100), undefined);
      assert.equal(await store.grants.findByRefreshHash(t0.hash, now + 100), undefined);
      assert.deepEqual(await store.grants.list({ now: now + 100 }), []);
      assert.equal((await store.grants.rotate(t0.hash, t1.hash, opts(now + 95)))?.kind, 'grace');
      assert.equal(await store.grants.rotate(t1.hash, newToken().hash, opts(now + 100)), undefined, 'an expired family does not rotate');
      assert.equal(await store.grants.rotate(t0.hash, t1.hash, opts(now + 100)), undefined, 'nor does a replay into it revoke anything');

      const u0 = newToken();
      const h = await store.grants.create(grant(now), u0.hash);
      await store.grants.revoke(h.id);
      await store.grants.revoke(h.id);
      await store.grants.revoke('unknown');
      assert.equal((await store.grants.get(h.id))?.revoked, true, 'get shows a revoked grant');
      assert.equal(await store.grants.rotate(u0.hash, newToken().hash, { clientId: h.clientId, now, graceSeconds: GRACE }), undefined);
      assert.equal(await store.grants.isCurrent(u0.hash, now), false);
      assert.equal(await store.grants.findByRefreshHash(u0.hash), undefined);
      assert.deepEqual((await store.grants.list()).map((x) => x.id), [g.id], 'live at the store clock: not the revoked one');
    }));

    it('rotation: 10 concurrent rotations of one token → exactly one rotated, the others the same successor', withStore(async (store, clock) => {
      const now = clock.seconds;
      const [t0, t1] = [newToken(), newToken()];
      const g = await store.grants.create(grant(now), t0.hash);
      const results = await concurrently(10, () => store.grants.rotate(t0.hash, t1.hash, { clientId: g.clientId, now, graceSeconds: GRACE }));
      assert.equal(results.filter((r) => r?.kind === 'rotated').length, 1);
      assert.deepEqual(results.filter((r) => r?.kind === 'grace').map((r) => r?.kind === 'grace' && r.successorHash), Array(9).fill(t1.hash));
      assert.equal(await store.grants.isCurrent(t1.hash, now), true);

      const [u0, u1] = [newToken(), newToken()];
      const h = await store.grants.create(grant(now), u0.hash);
      const off = await concurrently(10, () => store.grants.rotate(u0.hash, u1.hash, { clientId: h.clientId, now, graceSeconds: 0 }));
      assert.equal(off.filter((r) => r?.kind === 'rotated').length, 1, 'grace off: still exactly one rotation');
      assert.ok(off.some((r) => r?.kind === 'reuse'));
      assert.equal((await store.grants.get(h.id))?.revoked, true);
    }));

    it('sweeps expired codes, grants (with their tokens), rate-limit windows and cached documents', withStore(async (store, clock, target) => {
      if (!target.inspect) return; // rows cannot be counted; expiry itself is covered above
      const now = clock.seconds;
      await store.codes.put(code(now, { expiresAt: now + 60 }));
      assert.equal(await store.codes.consume(newToken().hash, now), undefined);
      await store.grants.create(grant(now, { expiresAt: now + 100 }), newToken().hash);
      await store.rateLimits.hit('k', 60, now);
      await store.cimdCache.put('https://a.example/c.json', { client_id: 'https://a.example/c.json' }, now + 10);
      assert.equal(await store.cimdCache.get('nothing', now), undefined);
      const later = clock.advance(600);
      await store.codes.put(code(later));
      assert.equal(await store.codes.consume(newToken().hash, later), undefined);
      await store.grants.create(grant(later), newToken().hash);
      await store.rateLimits.hit('other', 60, later);
      assert.equal(await store.cimdCache.get('nothing', later), undefined);
      const { rows } = await target.inspect();
      const { authorization_codes, grants, refresh_tokens, rate_limits, cimd_cache } = rows;
      assert.deepEqual({ authorization_codes, grants, refresh_tokens, rate_limits, cimd_cache }, { authorization_codes: 1, grants: 1, refresh_tokens: 1, rate_limits: 1, cimd_cache: 0 });
    }));

    describe('races with another process on the same data', () => {
      const race = async (t: { skip(message: string): void }, prepare: (store: Store, now: number) => Promise<RacerSpec>, local: (store: Store, spec: RacerSpec) => Promise<unknown>, check: (results: unknown[], store: Store, now: number) => Promise<void>) => {
        const target = await makeTarget();
        if (!target.startRacers) {
          await target.cleanup();
          return t.skip('not shared between processes');
        }
        const clock = new TestClock();
        const store = await target.open({ now: clock.now });
        try {
          const spec = await prepare(store, clock.seconds);
          const racers = await target.startRacers(spec, 2);
          const [remote, mine] = await Promise.all([racers.go(), concurrently(spec.times, () => local(store, spec))]);
          await check([...remote, ...mine.map((r) => JSON.parse(JSON.stringify(r ?? null)) as unknown)], store, clock.seconds);
        } finally {
          await store.close();
          await target.cleanup();
        }
      };

      it('consume: exactly one first use across processes', (t) => race(t, async (store, now) => {
        const c = code(now);
        await store.codes.put(c);
        return { op: 'consume', hash: c.hash, now, times: 4 };
      }, (store, spec) => store.codes.consume((spec as { hash: string }).hash, (spec as { now: number }).now), async (results) => {
        assert.equal(results.length, 12);
        assert.equal((results as ConsumedCode[]).filter((r) => r.firstUse).length, 1);
      }));

      it('rotate: exactly one rotation across processes, the others the same successor', (t) => {
        const [t0, t1] = [newToken(), newToken()];
        return race(t, async (store, now) => {
          await store.grants.create(grant(now, { id: 'raced' }), t0.hash);
          return { op: 'rotate', presented: t0.hash, successor: t1.hash, clientId: 'client-a', now, grace: GRACE, times: 4 };
        }, (store, spec) => store.grants.rotate(t0.hash, t1.hash, { clientId: 'client-a', now: (spec as { now: number }).now, graceSeconds: GRACE }), async (results, store, now) => {
          const kinds = (results as RotationResult[]).map((r) => r.kind).sort();
          assert.deepEqual(kinds, ['rotated', ...Array(11).fill('grace')].sort());
          for (const r of results as RotationResult[]) if (r.kind === 'grace') assert.equal(r.successorHash, t1.hash);
          assert.equal(await store.grants.isCurrent(t1.hash, now), true);
        });
      });

      it('createIfNone: one key across processes', (t) => race(t, async (_store, now) => ({ op: 'createIfNone', now, times: 4 }), (store, spec) => {
        const now = (spec as { now: number }).now;
        return store.keys.createIfNone(signingKey(now), now);
      }, async (results, store, now) => {
        const kids = new Set((results as { kid: string }[][]).map((held) => held.map((k) => k.kid).join(',')));
        assert.equal(kids.size, 1);
        assert.deepEqual((await store.keys.list(now)).map((k) => k.kid), [...kids]);
      }));

      it('serverSecret: one secret across processes', (t) => race(t, async () => ({ op: 'serverSecret', times: 4 }), (store) => store.keys.serverSecret(serverSecretCandidate()), async (results) => {
        assert.equal(new Set(results).size, 1);
      }));

      it('rate-limit hits: every hit counted once across processes', (t) => race(t, async (_store, now) => ({ op: 'hit', key: 'register:198.51.100.1', window: 3600, now: now - (now % 3600), times: 10 }), (store, spec) => {
        const { key, window, now } = spec as { key: string; window: number; now: number };
        return store.rateLimits.hit(key, window, now);
      }, async (results) => {
        assert.deepEqual((results as number[]).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
      }));
    });
  });
}

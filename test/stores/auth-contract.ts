/**
 * The contract of the authorization server's records that every store must pass: users, clients,
 * consents, signing keys, the server secret, rate limits, the metadata-document cache, cascades,
 * persistence, and what the schema may hold. Codes and grants are in `auth-contract-grants.ts`.
 * `authStoreContract(name, makeTarget)` registers both.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/stores/types.js';
import {
  code,
  concurrently,
  confidentialClient,
  grant,
  newToken,
  PASSWORD_HASH,
  publicClient,
  rawTokens,
  rejectsWith,
  serverSecretCandidate,
  signingKey,
  TestClock,
  type AuthStoreTarget,
} from './auth-fixtures.js';
import { grantsContract } from './auth-contract-grants.js';
import { sessionsContract } from './session-contract.js';
import { upstreamGrantsContract } from './upstream-contract.js';

export type WithStore = (fn: (store: Store, clock: TestClock, target: AuthStoreTarget) => Promise<void>) => () => Promise<void>;

export function authStoreContract(name: string, makeTarget: () => Promise<AuthStoreTarget>): void {
  const withStore: WithStore = (fn) => async () => {
    const target = await makeTarget();
    const clock = new TestClock();
    const store = await target.open({ now: clock.now });
    try {
      await fn(store, clock, target);
    } finally {
      await store.close();
      await target.cleanup();
    }
  };

  describe(`authorization store contract: ${name}`, () => {
    it('users: create, look up, list by username, update, count', withStore(async (store, clock) => {
      const bob = await store.users.create({ username: 'bob', passwordHash: PASSWORD_HASH, scopes: ['incidents:read'] });
      const alice = await store.users.create({ username: 'alice.o@example-1_x', passwordHash: PASSWORD_HASH, scopes: ['incidents:read', 'mcp:admin'] });
      assert.ok(bob.id.length > 0 && bob.id !== alice.id);
      assert.deepEqual(bob, { id: bob.id, username: 'bob', passwordHash: PASSWORD_HASH, scopes: ['incidents:read'], createdAt: clock.seconds, updatedAt: clock.seconds });
      assert.deepEqual(await store.users.get(bob.id), bob);
      assert.deepEqual(await store.users.getByUsername('bob'), bob);
      assert.equal(await store.users.getByUsername('BOB'), undefined, 'usernames are case-sensitive');
      assert.equal(await store.users.get('nobody'), undefined);
      assert.deepEqual((await store.users.list()).map((u) => u.username), ['alice.o@example-1_x', 'bob']);
      assert.equal(await store.users.count(), 2);

      clock.advance(10);
      const updated = await store.users.update('bob', { scopes: ['incidents:write'] });
      assert.deepEqual(updated, { ...bob, scopes: ['incidents:write'], updatedAt: clock.seconds });
      const passwd = await store.users.update('bob', { passwordHash: 'scrypt$1$2$3$new$hash' });
      assert.equal(passwd?.passwordHash, 'scrypt$1$2$3$new$hash');
      assert.deepEqual(passwd?.scopes, ['incidents:write'], 'fields not given stay');
      assert.equal(await store.users.update('nobody', { scopes: [] }), undefined);
      assert.throws(() => ((bob as { username: string }).username = 'eve'));
      assert.throws(() => (bob.scopes as string[]).push('mcp:admin'));
      assert.equal((await store.users.get(bob.id))?.username, 'bob');
    }));

    it('users: a taken username is a conflict; bad input is refused and stores nothing', withStore(async (store) => {
      await store.users.create({ username: 'admin', passwordHash: PASSWORD_HASH, scopes: [] });
      await rejectsWith('conflict', store.users.create({ username: 'admin', passwordHash: PASSWORD_HASH, scopes: [] }));
      const bad: unknown[] = [
        { username: '', passwordHash: PASSWORD_HASH, scopes: [] },
        { username: 'x'.repeat(65), passwordHash: PASSWORD_HASH, scopes: [] },
        { username: 'has space', passwordHash: PASSWORD_HASH, scopes: [] },
        { username: 'émile', passwordHash: PASSWORD_HASH, scopes: [] },
        { username: 'a/b', passwordHash: PASSWORD_HASH, scopes: [] },
        { username: 'ok', passwordHash: '', scopes: [] },
        { username: 'ok', passwordHash: 'has space', scopes: [] },
        { username: 'ok', passwordHash: PASSWORD_HASH, scopes: 'incidents:read' },
        { username: 'ok', passwordHash: PASSWORD_HASH, scopes: [42] },
        { username: 'ok', passwordHash: PASSWORD_HASH, scopes: ['two words'] },
        { username: 'ok', passwordHash: PASSWORD_HASH, scopes: [], isAdmin: true },
        { username: 'ok', passwordHash: PASSWORD_HASH },
      ];
      for (const input of bad) await rejectsWith('invalid_record', store.users.create(input as never), JSON.stringify(input));
      await rejectsWith('invalid_record', store.users.update('admin', { scopes: [''] }));
      await rejectsWith('invalid_record', store.users.update('admin', { password: 'x' } as never));
      assert.equal(await store.users.count(), 1);
      assert.equal((await store.users.create({ username: 'x'.repeat(64), passwordHash: PASSWORD_HASH, scopes: [] })).username.length, 64);
      assert.deepEqual((await store.users.create({ username: 'dup', passwordHash: PASSWORD_HASH, scopes: ['b', 'a', 'b'] })).scopes, ['b', 'a'], 'lists are sets');
    }));

    it('clients: create public and confidential, get, list oldest first, deep-frozen records', withStore(async (store) => {
      const second = await store.clients.create(publicClient({ createdAt: 2_000_000_000 }));
      const first = await store.clients.create(publicClient({ createdAt: 1_000_000_000 }));
      const machine = await store.clients.create(confidentialClient({ createdAt: 2_000_000_000 }));
      assert.equal(first.secretHash, undefined);
      assert.equal(machine.secretHash, PASSWORD_HASH);
      assert.deepEqual(await store.clients.get(first.clientId), first);
      assert.deepEqual(await store.clients.get(machine.clientId), machine);
      assert.deepEqual(await store.clients.get(second.clientId), publicClient({ clientId: second.clientId, createdAt: 2_000_000_000 }));
      assert.equal(await store.clients.get('unknown'), undefined);
      assert.deepEqual((await store.clients.list()).map((c) => c.clientId), [first.clientId, second.clientId, machine.clientId]);
      const stored = (await store.clients.get(first.clientId))!;
      assert.throws(() => (stored.redirectUris as string[]).push('https://evil.example'));
      assert.throws(() => ((stored.metadata.nested as { a: number[] }).a.push(3)));
      const { scope: _scope, ...noScope } = publicClient();
      assert.equal('scope' in (await store.clients.create(noScope)), false);
    }));

    it('clients: a taken id is a conflict; bad input is refused and stores nothing', withStore(async (store) => {
      const kept = await store.clients.create(publicClient());
      await rejectsWith('conflict', store.clients.create(publicClient({ clientId: kept.clientId })));
      const bad: unknown[] = [
        publicClient({ clientId: '' }),
        publicClient({ clientId: 'has space' }),
        publicClient({ secretHash: PASSWORD_HASH }), // 'none' with a secret
        confidentialClient({ secretHash: undefined }), // a secret method without one
        publicClient({ tokenEndpointAuthMethod: 'private_key_jwt' as never }),
        publicClient({ origin: 'cimd' as never }),
        publicClient({ redirectUris: 'https://a.example/cb' as never }),
        publicClient({ redirectUris: [''] }),
        publicClient({ grantTypes: [7] as never }),
        publicClient({ metadata: [] as never }),
        publicClient({ metadata: { client_secret: 'shh' } }),
        publicClient({ metadata: { big: 'x'.repeat(70_000) } }),
        publicClient({ name: 'line\nbreak' }),
        publicClient({ createdAt: Date.now() }), // milliseconds
        publicClient({ createdAt: -1 }),
        publicClient({ createdAt: 1.5 }),
        { ...publicClient(), revoked: false },
      ];
      for (const input of bad) await rejectsWith('invalid_record', store.clients.create(input as never));
      assert.deepEqual((await store.clients.list()).map((c) => c.clientId), [kept.clientId]);
    }));

    it('consents: put replaces, get, remove; bad input refused', withStore(async (store) => {
      assert.equal(await store.consents.get('user-a', 'client-a'), undefined);
      await store.consents.put('user-a', 'client-a', ['incidents:read']);
      await store.consents.put('user-a', 'client-b', ['incidents:write']);
      await store.consents.put('user-a', 'client-a', ['incidents:read', 'incidents:write']);
      assert.deepEqual(await store.consents.get('user-a', 'client-a'), ['incidents:read', 'incidents:write']);
      assert.deepEqual(await store.consents.get('user-a', 'client-b'), ['incidents:write']);
      assert.equal(await store.consents.get('user-b', 'client-a'), undefined);
      await store.consents.remove('user-a', 'client-a');
      await store.consents.remove('user-a', 'never');
      assert.equal(await store.consents.get('user-a', 'client-a'), undefined);
      assert.deepEqual(await store.consents.get('user-a', 'client-b'), ['incidents:write']);
      await rejectsWith('invalid_record', store.consents.put('', 'client-a', []));
      await rejectsWith('invalid_record', store.consents.put('user-a', 'client-a', ['ok', 'not ok']));
      assert.deepEqual(await store.consents.get('user-a', 'client-b'), ['incidents:write']);
    }));

    it('keys: createIfNone creates once (10 at once), list hides retired keys, add and retire', withStore(async (store, clock) => {
      const now = clock.seconds;
      const candidates = Array.from({ length: 10 }, () => signingKey(now));
      const results = await concurrently(10, (i) => store.keys.createIfNone(candidates[i]!, now));
      const kid = results[0]![0]!.kid;
      for (const held of results) assert.deepEqual(held.map((k) => k.kid), [kid]);
      assert.deepEqual(await store.keys.list(now), [candidates.find((k) => k.kid === kid)]);

      const next = signingKey(now + 5, { activatesAt: now + 3600 });
      await store.keys.add(next);
      await rejectsWith('conflict', store.keys.add(next));
      assert.deepEqual((await store.keys.list(now)).map((k) => k.kid), [kid, next.kid], 'oldest first');
      await store.keys.retire(kid, now + 7200);
      await store.keys.retire('unknown', now);
      assert.deepEqual((await store.keys.list(now + 7199)).map((k) => k.kid), [kid, next.kid]);
      assert.equal((await store.keys.list(now))[0]!.retiresAt, now + 7200);
      assert.deepEqual((await store.keys.list(now + 7200)).map((k) => k.kid), [next.kid], 'retired at retiresAt');
      assert.deepEqual((await store.keys.createIfNone(signingKey(now + 7200), now + 7200)).map((k) => k.kid), [next.kid]);
      const all = await store.keys.list(now + 7200);
      assert.throws(() => ((all[0]!.publicJwk as { x: string }).x = 'changed'));
    }));

    it('keys: a public JWK with private members, a bare private JWK or a bad time is refused', withStore(async (store, clock) => {
      const now = clock.seconds;
      const bad = [
        signingKey(now, { publicJwk: { kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'secret' } }),
        signingKey(now, { privateJwk: '{"kty":"EC","d":"secret"}' }),
        signingKey(now, { alg: 'RS256' as never }),
        signingKey(now, { kid: '' }),
        signingKey(now, { activatesAt: Date.now() }),
      ];
      for (const key of bad) {
        await rejectsWith('invalid_record', store.keys.add(key));
        await rejectsWith('invalid_record', store.keys.createIfNone(key, now));
      }
      assert.deepEqual(await store.keys.list(now), []);
    }));

    it('keys: the server secret is stored once; every caller gets the first one (10 at once)', withStore(async (store) => {
      const candidates = Array.from({ length: 10 }, serverSecretCandidate);
      const results = await concurrently(10, (i) => store.keys.serverSecret(candidates[i]!));
      assert.equal(new Set(results).size, 1);
      assert.ok(candidates.includes(results[0]!));
      assert.equal(await store.keys.serverSecret(serverSecretCandidate()), results[0]);
      await rejectsWith('invalid_record', store.keys.serverSecret('short'));
    }));

    it('rate limits: fixed windows, counted atomically, per window length, reset', withStore(async (store) => {
      const start = 1_800_000_000; // a multiple of 60 and of 3600
      const counts = await concurrently(20, () => store.rateLimits.hit('register:203.0.113.7', 60, start + 5));
      assert.deepEqual([...counts].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal(await store.rateLimits.hit('register:203.0.113.7', 60, start + 59), 21, 'same window up to its last second');
      assert.equal(await store.rateLimits.hit('register:203.0.113.7', 60, start + 60), 1, 'a new window starts at the next multiple');
      assert.equal(await store.rateLimits.hit('register:203.0.113.7', 60, start + 30), 2, 'a lagging caller counts in the current window');
      assert.equal(await store.rateLimits.hit('register:203.0.113.7', 3600, start + 61), 1, 'another window length counts on its own');
      assert.equal(await store.rateLimits.hit('login:bob', 60, start + 61), 1, 'another key counts on its own');
      await store.rateLimits.reset('register:203.0.113.7');
      assert.equal(await store.rateLimits.hit('register:203.0.113.7', 60, start + 62), 1);
      assert.equal(await store.rateLimits.hit('register:203.0.113.7', 3600, start + 62), 1);
      assert.equal(await store.rateLimits.hit('login:bob', 60, start + 62), 2);
      for (const [key, window, now] of [['', 60, start], ['k', 0, start], ['k', 1.5, start], ['k', 60, Date.now()]] as const) {
        await rejectsWith('invalid_record', store.rateLimits.hit(key, window, now));
      }
    }));

    it('metadata-document cache: put, get until expiry, replace', withStore(async (store, clock) => {
      const now = clock.seconds;
      const url = 'https://app.example/oauth/client.json';
      const doc = { client_id: url, client_name: 'App', redirect_uris: ['https://app.example/cb'] };
      assert.equal(await store.cimdCache.get(url, now), undefined);
      await store.cimdCache.put(url, doc, now + 300);
      assert.deepEqual(await store.cimdCache.get(url, now + 299), doc);
      assert.equal(await store.cimdCache.get(url, now + 300), undefined, 'expired at expiresAt');
      await store.cimdCache.put(url, { ...doc, client_name: 'App 2' }, now + 600);
      assert.equal((await store.cimdCache.get(url, now + 300))?.client_name, 'App 2');
      await rejectsWith('invalid_record', store.cimdCache.put(url, [] as never, now));
      await rejectsWith('invalid_record', store.cimdCache.put('', doc, now));
      await rejectsWith('invalid_record', store.cimdCache.put(url, { big: 'x'.repeat(300_000) }, now));
    }));

    it('removing a user removes their grants, refresh tokens, codes and consents, and nothing of others', withStore(async (store, clock) => {
      await cascadeCase(store, clock, 'user');
    }));

    it('removing a client removes its grants, refresh tokens, codes and consents, and nothing of others', withStore(async (store, clock) => {
      await cascadeCase(store, clock, 'client');
    }));

    it('rejects calls after close', async () => {
      const target = await makeTarget();
      const store = await target.open();
      await store.close();
      const closed = (p: Promise<unknown>) => rejectsWith('closed', p);
      await closed(store.users.count());
      await closed(store.clients.list());
      await closed(store.codes.consume(newToken().hash, 1_800_000_000));
      await closed(store.grants.list());
      await closed(store.keys.list(1_800_000_000));
      await closed(store.rateLimits.hit('k', 60, 1_800_000_000));
      await target.cleanup();
    });

    it('keeps every record across close and reopen (durable stores)', async (t) => {
      const target = await makeTarget();
      if (!target.durable) return t.skip('not durable');
      const clock = new TestClock();
      const now = clock.seconds;
      try {
        const first = await target.open({ now: clock.now });
        const user = await first.users.create({ username: 'alice', passwordHash: PASSWORD_HASH, scopes: ['incidents:read'] });
        const client = await first.clients.create(confidentialClient());
        await first.consents.put(user.id, client.clientId, ['incidents:read']);
        const c = code(now, { userId: user.id, clientId: client.clientId });
        await first.codes.put(c);
        const refresh = newToken();
        const g = await first.grants.create(grant(now, { userId: user.id, clientId: client.clientId }), refresh.hash);
        const key = signingKey(now);
        await first.keys.createIfNone(key, now);
        const secret = await first.keys.serverSecret(serverSecretCandidate());
        await first.rateLimits.hit('login:alice', 60, now);
        await first.cimdCache.put('https://app.example/c.json', { client_id: 'https://app.example/c.json' }, now + 60);
        await first.close();

        const second = await target.open({ now: clock.now });
        assert.deepEqual(await second.users.get(user.id), user);
        assert.deepEqual(await second.clients.get(client.clientId), client);
        assert.deepEqual(await second.consents.get(user.id, client.clientId), ['incidents:read']);
        assert.deepEqual(await second.codes.consume(c.hash, now), { firstUse: true, code: c });
        assert.deepEqual(await second.grants.get(g.id), g);
        assert.equal(await second.grants.isCurrent(refresh.hash, now), true);
        assert.deepEqual(await second.keys.list(now), [key]);
        assert.equal(await second.keys.serverSecret(serverSecretCandidate()), secret);
        assert.equal(await second.rateLimits.hit('login:alice', 60, now), 2);
        assert.ok(await second.cimdCache.get('https://app.example/c.json', now));
        await second.close();
      } finally {
        await target.cleanup();
      }
    });

    it('stores no raw token, and no column that could hold a secret beyond the documented two', async (t) => {
      const target = await makeTarget();
      if (!target.inspect) return t.skip('rows cannot be inspected');
      const clock = new TestClock();
      const now = clock.seconds;
      try {
        const store = await target.open({ now: clock.now });
        const c = code(now);
        await store.codes.put(c);
        await store.codes.consume(c.hash, now);
        const first = newToken();
        const g = await store.grants.create(grant(now), first.hash);
        await store.codes.linkGrant(c.hash, g.id);
        let presented = first;
        for (let i = 0; i < 3; i++) {
          const next = newToken();
          await store.grants.rotate(presented.hash, next.hash, { clientId: g.clientId, now: now + i, graceSeconds: 30 });
          presented = next;
        }
        await store.clients.create(confidentialClient());
        await store.keys.createIfNone(signingKey(now), now);
        await store.keys.serverSecret(serverSecretCandidate());
        await store.close();
        const { columns, texts } = await target.inspect();
        for (const [table, expected] of Object.entries(AUTH_SCHEMA_COLUMNS)) assert.deepEqual(columns[table], expected, `columns of ${table}`);
        const unreviewed = Object.keys(columns).filter((table) => !(table in AUTH_SCHEMA_COLUMNS) && !OTHER_TABLES.includes(table));
        assert.deepEqual(unreviewed, [], 'every table is reviewed here');
        assert.ok(rawTokens.length > 5);
        for (const raw of rawTokens) assert.ok(!texts.some((text) => text.includes(raw)), 'a raw token was stored');
        assert.ok(texts.includes(c.hash), 'the hash is what is stored');
      } finally {
        await target.cleanup();
      }
    });
  });

  grantsContract(name, makeTarget, withStore);
  sessionsContract(name, withStore);
  upstreamGrantsContract(name, withStore);
}

/**
 * Every column of the authorization tables, each one reviewed: a new column fails this suite until it is
 * added here and described in docs/storage-schema.md. Columns that hold a secret in clear: only
 * `signing_keys.private_jwk` (an envelope, encrypted when PORTCULLIS_SECRET is set) and
 * `server_secret.secret` (the generated server key, used only without PORTCULLIS_SECRET). Codes and
 * refresh tokens are SHA-256 hashes; client secrets and passwords are scrypt hashes.
 */
export const AUTH_SCHEMA_COLUMNS: Record<string, string[]> = {
  users: ['id', 'username', 'password_hash', 'scopes', 'created_at', 'updated_at'],
  clients: ['seq', 'client_id', 'secret_hash', 'name', 'redirect_uris', 'grant_types', 'response_types', 'token_endpoint_auth_method', 'scope', 'origin', 'metadata', 'created_at'],
  authorization_codes: ['hash', 'client_id', 'user_id', 'redirect_uri', 'code_challenge', 'scopes', 'resource', 'expires_at', 'used_at', 'grant_id'],
  grants: ['seq', 'id', 'client_id', 'user_id', 'scopes', 'resource', 'created_at', 'expires_at', 'revoked_at'],
  refresh_tokens: ['hash', 'grant_id', 'state', 'issued_at', 'rotated_at', 'successor_hash'],
  consents: ['user_id', 'client_id', 'scopes', 'updated_at'],
  signing_keys: ['seq', 'kid', 'alg', 'public_jwk', 'private_jwk', 'created_at', 'activates_at', 'retires_at'],
  server_secret: ['id', 'secret', 'created_at'],
  rate_limits: ['key', 'window_seconds', 'window_start', 'expires_at', 'count'],
  cimd_cache: ['url', 'document', 'expires_at'],
  mcp_sessions: ['hash', 'subject', 'client_id', 'version', 'capabilities', 'log_level', 'created_at', 'expires_at'],
  // sealed_tokens: the upstream tokens, only ever as an AES-256-GCM envelope (CHECK and store boundary).
  upstream_grants: ['user_id', 'client_id', 'issuer', 'subject', 'sealed_tokens', 'access_expires_at', 'refreshing_until', 'version', 'created_at', 'updated_at', 'expires_at'],
};

/** Tables this suite does not own (the incidents' contract covers them). */
const OTHER_TABLES = ['incidents', 'schema_migrations', 'sqlite_sequence'];

async function cascadeCase(store: Store, clock: TestClock, kind: 'user' | 'client'): Promise<void> {
  const now = clock.seconds;
  const alice = await store.users.create({ username: 'alice', passwordHash: PASSWORD_HASH, scopes: [] });
  const bob = await store.users.create({ username: 'bob', passwordHash: PASSWORD_HASH, scopes: [] });
  const app = await store.clients.create(publicClient());
  const other = await store.clients.create(publicClient());
  // The victim is alice (user case) or app (client case); the survivors share nothing with it.
  const victim = { userId: alice.id, clientId: app.clientId };
  const survivor = kind === 'user' ? { userId: bob.id, clientId: app.clientId } : { userId: alice.id, clientId: other.clientId };
  const setUp = async (owner: { userId: string; clientId: string }) => {
    const refresh = newToken();
    const g = await store.grants.create(grant(now, owner), refresh.hash);
    const next = newToken();
    await store.grants.rotate(refresh.hash, next.hash, { clientId: owner.clientId, now, graceSeconds: 30 });
    const c = code(now, owner);
    await store.codes.put(c);
    await store.consents.put(owner.userId, owner.clientId, ['incidents:read']);
    return { g, retired: refresh, current: next, c };
  };
  const gone = await setUp(victim);
  const kept = await setUp(survivor);

  assert.equal(kind === 'user' ? await store.users.remove('alice') : await store.clients.remove(app.clientId), true);
  assert.equal(kind === 'user' ? await store.users.remove('alice') : await store.clients.remove(app.clientId), false, 'a second removal finds nothing');

  assert.equal(await store.grants.get(gone.g.id), undefined);
  assert.equal(await store.grants.findByRefreshHash(gone.current.hash), undefined);
  assert.equal(await store.grants.findByRefreshHash(gone.retired.hash), undefined);
  assert.equal(await store.grants.isCurrent(gone.current.hash, now), false);
  assert.equal(await store.grants.rotate(gone.current.hash, newToken().hash, { clientId: victim.clientId, now, graceSeconds: 30 }), undefined);
  assert.equal(await store.codes.consume(gone.c.hash, now), undefined);
  assert.equal(await store.consents.get(victim.userId, victim.clientId), undefined);
  assert.deepEqual((await store.grants.list(kind === 'user' ? { userId: victim.userId } : { clientId: victim.clientId })), []);

  assert.deepEqual(await store.grants.get(kept.g.id), kept.g);
  assert.equal(await store.grants.isCurrent(kept.current.hash, now), true);
  assert.deepEqual(await store.grants.findByRefreshHash(kept.retired.hash), kept.g);
  assert.equal((await store.codes.consume(kept.c.hash, now))?.firstUse, true);
  assert.deepEqual(await store.consents.get(survivor.userId, survivor.clientId), ['incidents:read']);
  if (kind === 'user') assert.ok(await store.users.get(bob.id));
  else assert.ok(await store.clients.get(other.clientId));
}

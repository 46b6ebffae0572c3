import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import { createKeyRing, JWKS_CACHE_CONTROL, JWKS_MAX_AGE_SECONDS, KEY_PROPAGATION_SECONDS, KEY_RELOAD_SECONDS, KeyRingError, type KeyRingOptions } from '../../src/authorization-server/keys.js';
import { openPrivateJwk, sealPrivateJwk } from '../../src/authorization-server/lib/private-jwk.js';
import { deriveKey } from '../../src/authorization-server/secrets.js';
import type { KeyStore } from '../../src/stores/auth-types.js';
import { openStore } from '../../src/stores/open.js';
import type { Store } from '../../src/stores/types.js';
import { captureLogger, memoryStore, SecondsClock } from './core-fixtures.js';

const TTL = 3600;
const KEY_A = deriveKey('first-server-secret-of-32-characters!!', 'test');
const KEY_B = deriveKey('another-server-secret-of-32-characters', 'test');

function ring(store: { keys: KeyStore }, clock: SecondsClock, options: Partial<KeyRingOptions> = {}) {
  return createKeyRing({ store, encryptionKey: undefined, logger: captureLogger().logger, accessTokenTtl: TTL, now: clock.now, ...options });
}

async function kidOf(keys: Awaited<ReturnType<typeof ring>>): Promise<string> {
  return decodeProtectedHeader(await keys.sign({ sub: 'x' }, { typ: 'at+jwt' })).kid!;
}

/** Counts store reads, to see when the ring goes back to the store. */
function counting(store: Store): { keys: KeyStore; reads: () => number } {
  let reads = 0;
  const keys: KeyStore = {
    list: (now) => (reads++, store.keys.list(now)),
    createIfNone: (key, now) => store.keys.createIfNone(key, now),
    add: (key) => store.keys.add(key),
    retire: (kid, at) => store.keys.retire(kid, at),
    serverSecret: (c) => store.keys.serverSecret(c),
  };
  return { keys, reads: () => reads };
}

describe('key ring', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-keys-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates one ES256 key on first start, kid = RFC 7638 thumbprint, and publishes no private member', async () => {
    const store = await memoryStore();
    const clock = new SecondsClock();
    const keys = await ring(store, clock);
    const records = await keys.records();
    assert.equal(records.length, 1);
    const record = records[0]!;
    assert.equal(record.activatesAt, clock.value, 'the first key signs at once');
    assert.equal(record.kid, await calculateJwkThumbprint(record.publicJwk as JWK, 'sha256'));
    const { keys: published } = await keys.jwks();
    assert.deepEqual(Object.keys(published[0]!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(published[0]!.alg, 'ES256');
    assert.equal(published[0]!.kid, record.kid);
    assert.ok(record.privateJwk.startsWith('plain:'), 'no secret: stored in the clear');

    await ring(store, clock);
    assert.equal((await store.keys.list(clock.value)).length, 1, 'a second start (or instance) does not add a key');

    const token = await keys.sign({ sub: 'ada' }, { typ: 'at+jwt' });
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: record.kid, typ: 'at+jwt' });
    const { payload } = await jwtVerify(token, await importJWK(published[0]!, 'ES256'), { currentDate: new Date(clock.value * 1000) });
    assert.equal(payload.sub, 'ada');
    assert.ok(await keys.publicKey(record.kid));
    assert.equal(await keys.publicKey('nope'), undefined);
  });

  it('agrees on one first key when instances start together', async () => {
    const store = await memoryStore();
    const clock = new SecondsClock();
    const rings = await Promise.all(Array.from({ length: 5 }, () => ring(store, clock)));
    const kids = new Set(await Promise.all(rings.map(kidOf)));
    assert.equal(kids.size, 1);
    assert.equal((await store.keys.list(clock.value)).length, 1);
  });

  it('encrypts private keys at rest with the server key (AES-256-GCM, kid as AAD); another secret stops start-up', async () => {
    const store = await openStore(`sqlite:${join(dir, 'encrypted.db')}`);
    const clock = new SecondsClock();
    const keys = await ring(store, clock, { encryptionKey: KEY_A });
    const [record] = await keys.records();
    assert.match(record!.privateJwk, /^aes256gcm:[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.doesNotMatch(record!.privateJwk, /"d"/);
    await kidOf(keys);

    await assert.rejects(ring(store, clock, { encryptionKey: KEY_B }), (error: unknown) => {
      assert.ok(error instanceof KeyRingError);
      assert.equal(error.code, 'wrong_secret');
      assert.match(error.message, new RegExp(`cannot decrypt signing key ${record!.kid}: PORTCULLIS_SECRET is not the secret it was encrypted with`));
      return true;
    });
    await assert.rejects(ring(store, clock), { name: 'KeyRingError', code: 'no_secret', message: /encrypted at rest but PORTCULLIS_SECRET is not set/ });
    assert.equal(await kidOf(await ring(store, clock, { encryptionKey: KEY_A })), record!.kid, 'the right secret opens it again');
    await store.close();
  });

  it('binds a sealed key to its kid: a ciphertext moved to another record does not open', () => {
    const sealed = sealPrivateJwk({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }, 'kid-1', KEY_A);
    assert.equal(openPrivateJwk(sealed, 'kid-1', KEY_A).d, 'd');
    assert.throws(() => openPrivateJwk(sealed, 'kid-2', KEY_A), { code: 'wrong_secret' });
    assert.throws(() => openPrivateJwk(`${sealed.slice(0, -3)}AAA`, 'kid-1', KEY_A), { code: 'wrong_secret' });
    assert.throws(() => openPrivateJwk('rot13:xyz', 'kid-1', KEY_A), { code: 'malformed' });
  });

  it('warns about a key stored in the clear once a secret is configured', async () => {
    const store = await memoryStore();
    const clock = new SecondsClock();
    await ring(store, clock);
    const log = captureLogger();
    await ring(store, clock, { encryptionKey: KEY_A, logger: log.logger });
    assert.ok(log.lines.some((l) => l.level === 40 && /stored unencrypted .* keys rotate/.test(String(l.msg))));
  });

  it('rotates publish-before-sign: the new key is published at once, signs after the delay, and the old one stays until its tokens expire', async () => {
    const store = await memoryStore();
    const clock = new SecondsClock();
    const keys = await ring(store, clock);
    const oldKid = await kidOf(keys);
    const added = await keys.rotate();
    assert.equal(added.activatesAt, clock.value + KEY_PROPAGATION_SECONDS);
    assert.ok(KEY_PROPAGATION_SECONDS >= JWKS_MAX_AGE_SECONDS + KEY_RELOAD_SECONDS);
    assert.equal(JWKS_CACHE_CONTROL, `public, max-age=${JWKS_MAX_AGE_SECONDS}`);

    assert.deepEqual((await keys.jwks()).keys.map((k) => k.kid).sort(), [oldKid, added.kid].sort());
    assert.equal(await kidOf(keys), oldKid, 'the old key still signs');
    const old = (await keys.records()).find((r) => r.kid === oldKid)!;
    assert.equal(old.retiresAt, added.activatesAt + TTL + 120, 'retires a token lifetime (and a skew margin) after the new key takes over');

    clock.advance(KEY_PROPAGATION_SECONDS - 1);
    assert.equal(await kidOf(keys), oldKid);
    clock.advance(1);
    assert.equal(await kidOf(keys), added.kid, 'signs with the new key from its activation');
    assert.ok(await keys.publicKey(oldKid), 'tokens of the old key still verify');

    clock.value = old.retiresAt! - 1;
    assert.equal((await keys.jwks()).keys.length, 2);
    clock.advance(1);
    assert.deepEqual((await keys.jwks()).keys.map((k) => k.kid), [added.kid]);
    assert.equal(await keys.publicKey(oldKid), undefined);
  });

  it('sees a rotation made by another process: at once for an unknown kid (rate-limited), within a minute otherwise', async () => {
    const store = await memoryStore();
    const clock = new SecondsClock();
    const counted = counting(store);
    const server = await ring({ keys: counted.keys }, clock);
    const cli = await ring(store, clock);
    const oldKid = await kidOf(server);
    const added = await cli.rotate();

    const readsBefore = counted.reads();
    assert.equal((await server.jwks()).keys.length, 1, 'not reloaded yet');
    assert.ok(await server.publicKey(added.kid), 'an unknown kid makes it look in the store');
    assert.equal(counted.reads(), readsBefore + 1);
    assert.equal(await server.publicKey('unknown-1'), undefined);
    assert.equal(await server.publicKey('unknown-2'), undefined);
    assert.equal(counted.reads(), readsBefore + 1, 'at most one lookup per 10 s for unknown kids');
    clock.advance(10);
    assert.equal(await server.publicKey('unknown-3'), undefined);
    assert.equal(counted.reads(), readsBefore + 2);

    const other = await ring(store, clock);
    const second = await other.rotate();
    clock.advance(KEY_RELOAD_SECONDS);
    assert.ok((await server.jwks()).keys.some((k) => k.kid === second.kid), 'reloads within the reload interval');
    assert.equal(await kidOf(server), oldKid);
    clock.value = second.activatesAt;
    assert.equal(await kidOf(server), second.kid, 'the newest activated key signs');
  });

  it('validates its options when built', async () => {
    const store = await memoryStore();
    const clock = new SecondsClock();
    await assert.rejects(ring(store, clock, { accessTokenTtl: 0 }), TypeError);
    await assert.rejects(ring(store, clock, { propagationSeconds: 60 }), /at least 360/);
    await assert.rejects(ring(store, clock, { encryptionKey: Buffer.alloc(16) }), /32 bytes/);
  });
});

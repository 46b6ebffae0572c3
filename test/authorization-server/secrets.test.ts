import assert from 'node:assert/strict';
import { createHash, createHmac, webcrypto } from 'node:crypto';
import { describe, it } from 'node:test';
import { checkServerSecret, deriveKey, hashToken, randomToken, safeEqual, serverSecrets } from '../../src/authorization-server/secrets.js';
import { openStore } from '../../src/stores/open.js';
import { captureLogger, memoryStore } from './core-fixtures.js';

const SECRET = 'a-server-secret-that-is-long-enough-1234';

describe('secrets: tokens, hashes, comparison', () => {
  it('makes 32-byte base64url tokens, all different', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => randomToken()));
    assert.equal(tokens.size, 1000);
    for (const token of tokens) {
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(token, 'base64url').length, 32);
    }
    assert.equal(Buffer.from(randomToken(16), 'base64url').length, 16);
  });

  it('hashes tokens with SHA-256, base64url (FIPS 180-2 "abc" vector)', () => {
    assert.equal(hashToken('abc'), Buffer.from('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'hex').toString('base64url'));
    assert.notEqual(hashToken('abc'), hashToken('abd'));
  });

  it('compares equal and unequal secrets of any lengths', () => {
    assert.equal(safeEqual('same-secret', 'same-secret'), true);
    assert.equal(safeEqual('same-secret', 'same-secreT'), false);
    assert.equal(safeEqual('short', 'a much longer value'), false);
    assert.equal(safeEqual('', ''), true);
    assert.equal(safeEqual('', 'x'), false);
  });

  it('derives HKDF-SHA256 keys that WebCrypto derives too, one per label', async () => {
    const key = deriveKey(SECRET, 'label-a');
    const base = await webcrypto.subtle.importKey('raw', Buffer.from(SECRET), 'HKDF', false, ['deriveBits']);
    const bits = await webcrypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: Buffer.from('portcullis'), info: Buffer.from('label-a') }, base, 256);
    assert.deepEqual(key, Buffer.from(bits));
    assert.equal(key.length, 32);
    assert.notDeepEqual(deriveKey(SECRET, 'label-b'), key);
  });
});

describe('secrets: server keys', () => {
  it('refuses a PORTCULLIS_SECRET shorter than 32 characters, saying so', async () => {
    const store = await memoryStore();
    const { logger } = captureLogger();
    assert.match(checkServerSecret('too-short')!, /PORTCULLIS_SECRET must be at least 32 characters \(it has 9\)/);
    assert.equal(checkServerSecret(SECRET), undefined);
    assert.equal(checkServerSecret(undefined), undefined);
    await assert.rejects(serverSecrets({ configured: 'x'.repeat(31), store, logger }), { name: 'TypeError', message: /at least 32 characters/ });
  });

  it('derives the successor MAC and the encryption key from PORTCULLIS_SECRET, without a warning', async () => {
    const store = await memoryStore();
    const { logger, lines } = captureLogger();
    const secrets = await serverSecrets({ configured: SECRET, store, logger });
    assert.equal(secrets.source, 'configured');
    assert.equal(secrets.encryptionKey?.length, 32);
    const expected = createHmac('sha256', deriveKey(SECRET, 'portcullis/v1/refresh-token-successor')).update('rt-1').digest('base64url');
    assert.equal(secrets.successorOf('rt-1'), expected);
    assert.equal(secrets.successorOf('rt-1'), secrets.successorOf('rt-1'), 'deterministic');
    assert.notEqual(secrets.successorOf('rt-1'), secrets.successorOf('rt-2'));
    assert.notDeepEqual(secrets.encryptionKey, deriveKey(SECRET, 'portcullis/v1/refresh-token-successor'), 'distinct labels');
    const other = await serverSecrets({ configured: `${SECRET}-other`, store, logger });
    assert.notEqual(other.successorOf('rt-1'), expected);
    assert.equal(lines.filter((l) => l.level === 40).length, 0);
  });

  it('without PORTCULLIS_SECRET keeps one random key in the store, has no encryption key, and warns once per start', async () => {
    const store = await memoryStore();
    const first = captureLogger();
    const a = await serverSecrets({ store, logger: first.logger });
    const b = await serverSecrets({ configured: '', store, logger: captureLogger().logger });
    assert.equal(a.source, 'store');
    assert.equal(a.encryptionKey, undefined);
    assert.equal(a.successorOf('rt-1'), b.successorOf('rt-1'), 'every instance on the store agrees');
    const warnings = first.lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1);
    assert.match(String(warnings[0]!.msg), /PORTCULLIS_SECRET is not set: private signing keys are stored UNENCRYPTED/);

    const elsewhere = await serverSecrets({ store: await memoryStore(), logger: first.logger });
    assert.notEqual(elsewhere.successorOf('rt-1'), a.successorOf('rt-1'), 'another store, another key');
    assert.notEqual(a.successorOf('rt-1'), createHash('sha256').update('rt-1').digest('base64url'));
  });
});

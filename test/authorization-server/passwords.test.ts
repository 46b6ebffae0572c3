import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, MAX_PASSWORD_BYTES, needsRehash, SCRYPT_PARAMS, verifyPassword } from '../../src/authorization-server/passwords.js';

// Logic tests use cheap parameters (the parameters travel in the hash); one test uses the real ones.
const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('passwords (scrypt)', () => {
  it('hashes with the production parameters in the documented format and verifies', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const match = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash);
    assert.ok(match, hash);
    assert.deepEqual(match.slice(1, 4).map(Number), [SCRYPT_PARAMS.N, SCRYPT_PARAMS.r, SCRYPT_PARAMS.p]);
    assert.deepEqual([SCRYPT_PARAMS.N, SCRYPT_PARAMS.r, SCRYPT_PARAMS.p], [32768, 8, 1]);
    assert.equal(Buffer.from(match[4]!, 'base64url').length, 16);
    assert.equal(Buffer.from(match[5]!, 'base64url').length, 32);
    assert.equal(await verifyPassword('correct horse battery staple', hash), true);
    assert.equal(await verifyPassword('correct horse battery stapler', hash), false);
    assert.equal(needsRehash(hash), false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', FAST), hashPassword('same password', FAST)]);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same password', a), true);
    assert.equal(await verifyPassword('same password', b), true);
  });

  it('normalises to NFKC, so a composed and a decomposed é match', async () => {
    const hash = await hashPassword('caf\u00e9-password', FAST);
    assert.equal(await verifyPassword('cafe\u0301-password', hash), true);
  });

  it('refuses, without throwing, hashes it does not know or that are out of bounds', async () => {
    const good = await hashPassword('pw-123456', FAST);
    const parts = good.split('$');
    const variants = [
      '',
      'plain-text-password',
      '$2b$10$abcdefghijklmnopqrstuvCfQ4Y8Oo6Zt3i0wq7QxYw7m0f9Y0h0e', // bcrypt
      `argon2id$${parts.slice(1).join('$')}`,
      `scrypt$${2 ** 30}$8$1$${parts[4]}$${parts[5]}`, // would need 1 TiB: refused, not run
      `scrypt$1000$8$1$${parts[4]}$${parts[5]}`, // N not a power of two
      `scrypt$1024$64$1$${parts[4]}$${parts[5]}`, // r out of bounds
      `scrypt$1024$8$1$${parts[4]}`, // missing field
      `scrypt$1024$8$1$${parts[4]}$${parts[5]}$extra`,
      `scrypt$01024$8$1$${parts[4]}$${parts[5]}`,
      `scrypt$1024$8$1$${parts[4]}$${'A'.repeat(8)}`, // hash too short
      `scrypt$1024$8$1$${parts[4]}$${Buffer.from(Buffer.from(parts[5]!, 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url')}`,
    ];
    for (const stored of variants) assert.equal(await verifyPassword('pw-123456', stored), false, stored);
    assert.equal(await verifyPassword('pw-123456', undefined as unknown as string), false);
    assert.equal(needsRehash('bcrypt'), true);
    assert.equal(needsRehash(good), true, 'N = 2^10 is weaker than the current parameters');
  });

  it('refuses empty and over-long passwords when hashing, and never matches an over-long one', async () => {
    await assert.rejects(hashPassword(''), TypeError);
    await assert.rejects(hashPassword('x'.repeat(MAX_PASSWORD_BYTES + 1), FAST), /at most 1024 bytes/);
    const hash = await hashPassword('x'.repeat(MAX_PASSWORD_BYTES), FAST);
    assert.equal(await verifyPassword('x'.repeat(MAX_PASSWORD_BYTES), hash), true);
    assert.equal(await verifyPassword('x'.repeat(MAX_PASSWORD_BYTES + 1), hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });
});

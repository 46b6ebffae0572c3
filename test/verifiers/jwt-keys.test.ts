import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createJwtVerifier, type JwtVerifierOptions } from '../../src/verifiers/jwt.js';
import { assertRefused, AUDIENCE, baseClaims, ISSUER, JwksServer, makeKey, sign, TestClock, type SigningKey } from './helpers.js';

describe('JWT verifier: remote JWKS policy', () => {
  let jwks: JwksServer;
  let keyA: SigningKey;
  let keyB: SigningKey;
  let clock: TestClock;

  beforeEach(async () => {
    keyA = await makeKey('RS256', 'key-a');
    keyB = await makeKey('ES256', 'key-b');
    jwks = await new JwksServer().start();
    jwks.keys = [keyA.jwk];
    clock = new TestClock();
  });
  afterEach(() => jwks.stop());

  // Defaults: cooldown 30 s, refetch after 600 s, stale keys usable for a day.
  const verifier = (options: Partial<JwtVerifierOptions> = {}) =>
    createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri, now: clock.now, ...options });

  it('fetches the JWKS once and reuses it for later tokens', async () => {
    const v = verifier();
    assert.equal(v.ready, false);
    await v.verify(await sign(keyA, baseClaims(clock)));
    await v.verify(await sign(keyA, baseClaims(clock, { sub: 'grace' })));
    assert.equal(jwks.hits, 1);
    assert.equal(v.ready, true);
  });

  it('shares one JWKS request among concurrent first verifications', async () => {
    const v = verifier();
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => sign(keyA, baseClaims(clock, { sub: `user-${i}` }))));
    const results = await Promise.all(tokens.map((token) => v.verify(token)));
    assert.deepEqual(results.map((auth) => auth.subject), tokens.map((_, i) => `user-${i}`));
    assert.equal(jwks.hits, 1);
  });

  it('refetches once for an unknown kid, then cools down', async () => {
    const v = verifier();
    await v.verify(await sign(keyA, baseClaims(clock)));
    clock.advance(31); // past the cooldown of the first fetch
    const stranger = await makeKey('RS256', 'key-unknown');
    const token = await sign(stranger, baseClaims(clock));
    await assertRefused(v.verify(token), 'invalid_token', 401, token, /unknown key/);
    assert.equal(jwks.hits, 2, 'one refetch for the unknown kid');

    for (let i = 0; i < 5; i++) await assertRefused(v.verify(token), 'invalid_token', 401, token);
    const other = await sign(await makeKey('RS256', 'key-other'), baseClaims(clock));
    await assertRefused(v.verify(other), 'invalid_token', 401, other);
    assert.equal(jwks.hits, 2, 'no refetch during the cooldown, whatever the kid');

    clock.advance(29);
    await assertRefused(v.verify(token), 'invalid_token', 401, token);
    assert.equal(jwks.hits, 2);
    clock.advance(2);
    await assertRefused(v.verify(token), 'invalid_token', 401, token);
    assert.equal(jwks.hits, 3, 'after the cooldown, one more refetch');
  });

  it('picks up a rotated key through the unknown-kid refetch, and drops the retired key on refresh', async () => {
    const v = verifier();
    const oldToken = await sign(keyA, baseClaims(clock, { exp: clock.seconds + 3600 }));
    await v.verify(oldToken);
    jwks.keys = [keyB.jwk]; // the IdP rotates: A retired, B published
    clock.advance(31);
    const newToken = await sign(keyB, baseClaims(clock));
    assert.equal((await v.verify(newToken)).subject, 'ada');
    assert.equal(jwks.hits, 2);
    // The refetched set no longer has A: tokens signed by it are refused from now on.
    await assertRefused(v.verify(oldToken), 'invalid_token', 401, oldToken, /unknown key/);
  });

  it('refetches a JWKS older than its max age before use', async () => {
    const v = verifier();
    const token = await sign(keyA, baseClaims(clock, { exp: clock.seconds + 3600 }));
    await v.verify(token);
    clock.advance(599);
    await v.verify(token);
    assert.equal(jwks.hits, 1);
    clock.advance(2);
    await v.verify(token);
    assert.equal(jwks.hits, 2);
  });

  it('keeps verifying with cached keys while the JWKS endpoint answers errors', async () => {
    const v = verifier();
    const token = await sign(keyA, baseClaims(clock, { exp: clock.seconds + 7200 }));
    await v.verify(token);
    jwks.mode = 'error';
    clock.advance(601); // stale: a refresh is attempted and fails
    assert.equal((await v.verify(token)).subject, 'ada');
    assert.equal(jwks.hits, 2);
    assert.equal((await v.verify(token)).subject, 'ada');
    assert.equal(jwks.hits, 2, 'a failed fetch holds further attempts back');
    clock.advance(6);
    assert.equal((await v.verify(token)).subject, 'ada');
    assert.equal(jwks.hits, 3, 'and retries after the backoff');
    assert.equal(v.ready, true);
  });

  it('keeps verifying with cached keys while the JWKS endpoint is unreachable', async () => {
    const v = verifier();
    const token = await sign(keyA, baseClaims(clock, { exp: clock.seconds + 7200 }));
    await v.verify(token);
    await jwks.stop(); // connection refused from now on
    clock.advance(601);
    assert.equal((await v.verify(token)).subject, 'ada');
  });

  it('answers 503 for an unknown kid when the JWKS cannot be fetched (the key may exist)', async () => {
    const v = verifier();
    await v.verify(await sign(keyA, baseClaims(clock)));
    jwks.mode = 'error';
    clock.advance(31);
    const token = await sign(keyB, baseClaims(clock));
    await assertRefused(v.verify(token), 'temporarily_unavailable', 503, token);
    await assertRefused(v.verify(token), 'temporarily_unavailable', 503, token);
    assert.equal(jwks.hits, 2, 'the second one is held back by the failure backoff');
  });

  it('answers 503 with no usable key: endpoint down and nothing cached', async () => {
    const v = verifier();
    jwks.mode = 'error';
    const token = await sign(keyA, baseClaims(clock));
    const error = await assertRefused(v.verify(token), 'temporarily_unavailable', 503, token);
    assert.match(error.detail ?? '', /HTTP 500/);
    await assertRefused(v.verify(token), 'temporarily_unavailable', 503, token);
    assert.equal(jwks.hits, 1, 'a down endpoint is not hammered');
    assert.equal(v.ready, false);

    jwks.mode = 'up'; // recovery is picked up after the backoff
    clock.advance(6);
    assert.equal((await v.verify(token)).subject, 'ada');
  });

  it('answers 503 when the JWKS endpoint is unreachable or serves garbage, and nothing is cached', async () => {
    jwks.mode = 'garbage';
    const token = await sign(keyA, baseClaims(clock));
    await assertRefused(verifier().verify(token), 'temporarily_unavailable', 503, token);
    jwks.keys = [{ kty: 'RSA', kid: 'key-a', alg: 'RS256', n: 'AQAB', e: 'AQAB' }];
    jwks.mode = 'up'; // a published key that cannot be used (16-bit modulus): the issuer's fault, no verdict on the token
    await assertRefused(verifier().verify(token), 'temporarily_unavailable', 503, token);
    await jwks.stop();
    await assertRefused(verifier().verify(token), 'temporarily_unavailable', 503, token);
  });

  it('stops using stale keys past the stale limit', async () => {
    const v = verifier({ jwksMaxStaleSeconds: 3600 });
    const token = await sign(keyA, baseClaims(clock, { exp: clock.seconds + 86_400 }));
    await v.verify(token);
    jwks.mode = 'error';
    clock.advance(3000);
    assert.equal((await v.verify(token)).subject, 'ada');
    clock.advance(601);
    await assertRefused(v.verify(token), 'temporarily_unavailable', 503, token);
    assert.equal(v.ready, false);
  });

  it('tries each candidate key when several match a token without kid', async () => {
    const first = await makeKey('RS256', undefined);
    const second = await makeKey('RS256', undefined);
    jwks.keys = [first.jwk, second.jwk];
    const v = verifier();
    assert.equal((await v.verify(await sign(second, baseClaims(clock)))).subject, 'ada');
    assert.equal((await v.verify(await sign(first, baseClaims(clock)))).subject, 'ada');
    const stranger = await sign(await makeKey('RS256', undefined), baseClaims(clock));
    await assertRefused(v.verify(stranger), 'invalid_token', 401, stranger);
  });
});

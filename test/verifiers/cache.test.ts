import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuthInfo, TokenVerifier } from '../../src/core/auth.js';
import { OAuthError } from '../../src/core/errors.js';
import { cachedVerifier } from '../../src/verifiers/cache.js';
import { createJwtVerifier } from '../../src/verifiers/jwt.js';
import { assertRefused, AUDIENCE, baseClaims, ISSUER, JwksServer, makeKey, sign, TestClock } from './helpers.js';

/** An inner verifier that accepts any token, expiring `ttl` seconds from the clock, and counts its calls. */
class CountingVerifier implements TokenVerifier {
  calls = 0;
  maxCacheSeconds: number | undefined;
  constructor(
    private readonly clock: TestClock,
    private readonly ttl = 300,
  ) {}
  async verify(token: string): Promise<AuthInfo> {
    this.calls++;
    if (token.startsWith('bad')) throw new OAuthError('invalid_token', 401, 'The access token is invalid');
    return { subject: token, clientId: 'c', scopes: [], audience: [AUDIENCE], issuer: ISSUER, expiresAt: this.clock.seconds + this.ttl, claims: {} };
  }
}

describe('verified-token cache', () => {
  it('does not verify a token again until it expires', async () => {
    const clock = new TestClock();
    const inner = new CountingVerifier(clock, 100);
    const v = cachedVerifier(inner, { now: clock.now });
    const first = await v.verify('tok');
    assert.equal(await v.verify('tok'), first, 'a hit returns the same verified AuthInfo');
    clock.advance(99);
    await v.verify('tok');
    assert.equal(inner.calls, 1);
    clock.advance(1); // exp reached: never served past it
    await v.verify('tok');
    assert.equal(inner.calls, 2);
  });

  it('honours the inner verifier hint and maxTtlSeconds, whichever is shorter', async () => {
    const clock = new TestClock();
    const inner = new CountingVerifier(clock, 3600);
    inner.maxCacheSeconds = 60;
    const v = cachedVerifier(inner, { now: clock.now, maxTtlSeconds: 120 });
    await v.verify('tok');
    clock.advance(59);
    await v.verify('tok');
    assert.equal(inner.calls, 1);
    clock.advance(1);
    await v.verify('tok');
    assert.equal(inner.calls, 2);
    const shortInner = new CountingVerifier(clock, 3600);
    shortInner.maxCacheSeconds = 60;
    const short = cachedVerifier(shortInner, { now: clock.now, maxTtlSeconds: 10 });
    await short.verify('tok');
    clock.advance(9);
    await short.verify('tok');
    assert.equal(shortInner.calls, 1);
    clock.advance(1);
    await short.verify('tok');
    assert.equal(shortInner.calls, 2);
  });

  it('does not store a token accepted within the clock tolerance after its exp', async () => {
    const clock = new TestClock();
    const inner = new CountingVerifier(clock, -5);
    const v = cachedVerifier(inner, { now: clock.now });
    await v.verify('tok');
    await v.verify('tok');
    assert.equal(inner.calls, 2);
    assert.equal(v.size, 0);
  });

  it('is bounded: the oldest entry is evicted at maxEntries', async () => {
    const clock = new TestClock();
    const inner = new CountingVerifier(clock);
    const v = cachedVerifier(inner, { now: clock.now, maxEntries: 3 });
    for (const token of ['t1', 't2', 't3', 't4', 't5']) await v.verify(token);
    assert.equal(v.size, 3);
    assert.equal(inner.calls, 5);
    await v.verify('t5');
    await v.verify('t3');
    assert.equal(inner.calls, 5, 'recent entries stay');
    await v.verify('t1');
    assert.equal(inner.calls, 6, 'the oldest was evicted');
    assert.equal(v.size, 3);
    assert.throws(() => cachedVerifier(inner, { maxEntries: 0 }), /maxEntries/);
  });

  it('shares one in-flight verification among concurrent callers, success or failure', async () => {
    const clock = new TestClock();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inner = new CountingVerifier(clock);
    const slow: TokenVerifier = { verify: async (token) => (await gate, inner.verify(token)) };
    const v = cachedVerifier(slow, { now: clock.now });
    const results = Promise.all(Array.from({ length: 20 }, () => v.verify('tok')));
    const failures = Promise.allSettled(Array.from({ length: 5 }, () => v.verify('bad-tok')));
    release();
    const auths = await results;
    assert.ok(auths.every((auth) => auth === auths[0]));
    assert.ok((await failures).every((r) => r.status === 'rejected' && (r.reason as OAuthError).code === 'invalid_token'));
    assert.equal(inner.calls, 2, 'one call for the good token, one for the bad one');
  });

  it('does not cache failures', async () => {
    const clock = new TestClock();
    const inner = new CountingVerifier(clock);
    const v = cachedVerifier(inner, { now: clock.now });
    await assertRefused(v.verify('bad-1'), 'invalid_token', 401);
    await assertRefused(v.verify('bad-1'), 'invalid_token', 401);
    assert.equal(inner.calls, 2);
    assert.equal(v.size, 0);
  });

  it('clear() forgets every verdict, including in-flight ones', async () => {
    const clock = new TestClock();
    const inner = new CountingVerifier(clock);
    const v = cachedVerifier(inner, { now: clock.now });
    await v.verify('tok');
    const pending = v.verify('other');
    v.clear();
    await pending;
    assert.equal(v.size, 0, 'a verification started before clear() is not stored');
    await v.verify('tok');
    assert.equal(inner.calls, 3);
  });

  it('isCurrent() holds for a verdict exactly while the cache would still return it', async () => {
    const clock = new TestClock();
    const inner = new CountingVerifier(clock, 100);
    const v = cachedVerifier(inner, { now: clock.now, maxEntries: 1 });
    const first = await v.verify('tok');
    assert.equal(v.isCurrent(first), true);
    clock.advance(100);
    assert.equal(v.isCurrent(first), false, 'expired');
    const second = await v.verify('tok');
    assert.notEqual(second, first);
    assert.equal(v.isCurrent(second), true);
    await v.verify('other');
    assert.equal(v.isCurrent(second), false, 'evicted');
    const third = await v.verify('tok');
    v.clear();
    assert.equal(v.isCurrent(third), false, 'cleared');
    assert.equal(v.isCurrent({ ...third }), false, 'a verdict the cache never gave');
  });
});

describe('verified-token cache in front of the JWT verifier', () => {
  const jwks = new JwksServer();
  const clock = new TestClock();
  before(() => jwks.start());
  after(() => jwks.stop());

  it('a second verify makes no JWKS call and no signature check; an expired token is verified (and refused) again', async () => {
    const key = await makeKey('ES256', 'k1');
    jwks.keys = [key.jwk];
    const jwt = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri, now: clock.now });
    let signatureChecks = 0;
    const counted: TokenVerifier = { verify: (token) => (signatureChecks++, jwt.verify(token)) };
    const v = cachedVerifier(counted, { now: clock.now });
    const token = await sign(key, baseClaims(clock, { exp: clock.seconds + 60 }));
    const auth = await v.verify(token);
    jwks.mode = 'error'; // from now on, any JWKS call would show
    assert.equal(await v.verify(token), auth);
    assert.equal(jwks.hits, 1);
    assert.equal(signatureChecks, 1);
    clock.advance(91); // past exp and the 30 s tolerance
    await assertRefused(v.verify(token), 'invalid_token', 401, token, /expired/);
    assert.equal(signatureChecks, 2);
  });
});

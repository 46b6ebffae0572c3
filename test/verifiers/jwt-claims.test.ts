import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { exportSPKI, SignJWT, UnsecuredJWT } from 'jose';
import { createJwtVerifier, type JwtVerifierOptions } from '../../src/verifiers/jwt.js';
import { assertRefused, AUDIENCE, baseClaims, ISSUER, JwksServer, makeKey, sign, TestClock, type SigningKey } from './helpers.js';

describe('JWT verifier: signature, algorithm and claim checks', () => {
  const jwks = new JwksServer();
  let rsa: SigningKey;
  let ec: SigningKey;
  let clock: TestClock;

  before(async () => {
    rsa = await makeKey('RS256', 'rsa-1');
    ec = await makeKey('ES256', 'ec-1');
    jwks.keys = [rsa.jwk, ec.jwk];
    await jwks.start();
  });
  after(() => jwks.stop());
  beforeEach(() => {
    clock = new TestClock();
    jwks.hits = 0;
  });

  const verifier = (options: Partial<JwtVerifierOptions> = {}) =>
    createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri, now: clock.now, ...options });

  it('accepts a good RS256 token and maps it to AuthInfo', async () => {
    const token = await sign(rsa, baseClaims(clock, { scope: 'incidents:read incidents:write' }));
    const auth = await verifier().verify(token);
    assert.equal(auth.subject, 'ada');
    assert.equal(auth.clientId, 'client-1');
    assert.deepEqual(auth.scopes, ['incidents:read', 'incidents:write']);
    assert.deepEqual(auth.audience, [AUDIENCE]);
    assert.equal(auth.issuer, ISSUER);
    assert.equal(auth.expiresAt, clock.seconds + 300);
    assert.equal(auth.claims.sub, 'ada');
    assert.ok(Object.isFrozen(auth) && Object.isFrozen(auth.scopes), 'shared by the cache, so immutable');
  });

  it('accepts ES256 (in the default list)', async () => {
    const auth = await verifier().verify(await sign(ec, baseClaims(clock)));
    assert.equal(auth.subject, 'ada');
  });

  it('refuses an algorithm outside the configured list, before looking up any key', async () => {
    const rs384 = await makeKey('RS384', 'rsa-1'); // same kid as a trusted key
    const token = await sign(rs384, baseClaims(clock));
    await assertRefused(verifier().verify(token), 'invalid_token', 401, token, /algorithm/);
    const esOnly = await sign(rsa, baseClaims(clock));
    await assertRefused(verifier({ algorithms: ['ES256'] }).verify(esOnly), 'invalid_token', 401, esOnly, /algorithm/);
    assert.equal(jwks.hits, 0, 'a disallowed alg never reaches the JWKS');
  });

  it('refuses alg "none"', async () => {
    const token = new UnsecuredJWT(baseClaims(clock)).encode();
    await assertRefused(verifier().verify(token), 'invalid_token', 401, token);
    assert.equal(jwks.hits, 0);
  });

  it('refuses HS256 keyed with the public key (algorithm confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    const token = await new SignJWT(baseClaims(clock)).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(new TextEncoder().encode(pem));
    await assertRefused(verifier().verify(token), 'invalid_token', 401, token, /algorithm/);
    // Even a misconfiguration cannot open that door: HMAC is refused when the verifier is built.
    assert.throws(() => verifier({ algorithms: ['RS256', 'HS256'] }), /"HS256" is not accepted/);
  });

  it('refuses a token whose signature does not match (tampered payload)', async () => {
    const token = await sign(rsa, baseClaims(clock));
    const [header, , signature] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify(baseClaims(clock, { sub: 'admin' }))).toString('base64url')}.${signature}`;
    await assertRefused(verifier().verify(forged), 'invalid_token', 401, forged, /invalid/);
  });

  it('refuses garbage', async () => {
    await assertRefused(verifier().verify('not-a-jwt'), 'invalid_token', 401, 'not-a-jwt');
    await assertRefused(verifier().verify(''), 'invalid_token', 401);
  });

  it('compares iss exactly', async () => {
    for (const iss of ['https://evil.example.com/oauth2/default', `${ISSUER}/`, ISSUER.toUpperCase()]) {
      const token = await sign(rsa, baseClaims(clock, { iss }));
      await assertRefused(verifier().verify(token), 'invalid_token', 401, token, /authorization server/);
    }
    const noIss = await sign(rsa, { ...baseClaims(clock), iss: undefined });
    await assertRefused(verifier().verify(noIss), 'invalid_token', 401, noIss);
  });

  it('requires aud to equal the audience or be an array containing it', async () => {
    const wrong = await sign(rsa, baseClaims(clock, { aud: 'https://other.example.com/mcp' }));
    await assertRefused(verifier().verify(wrong), 'invalid_token', 401, wrong, /not meant for this resource/);
    const arrayWithout = await sign(rsa, baseClaims(clock, { aud: ['https://a.example.com', 'https://b.example.com'] }));
    await assertRefused(verifier().verify(arrayWithout), 'invalid_token', 401, arrayWithout);
    const missing = await sign(rsa, { ...baseClaims(clock), aud: undefined });
    await assertRefused(verifier().verify(missing), 'invalid_token', 401, missing);

    const array = await sign(rsa, baseClaims(clock, { aud: ['https://tenant.auth0.com/userinfo', AUDIENCE] }));
    const auth = await verifier().verify(array);
    assert.deepEqual(auth.audience, ['https://tenant.auth0.com/userinfo', AUDIENCE]);
  });

  it('applies exp with the clock tolerance', async () => {
    const beyond = await sign(rsa, baseClaims(clock, { exp: clock.seconds - 31 }));
    await assertRefused(verifier().verify(beyond), 'invalid_token', 401, beyond, /expired/);
    const within = await sign(rsa, baseClaims(clock, { exp: clock.seconds - 29 }));
    assert.equal((await verifier().verify(within)).subject, 'ada');
    await assertRefused(verifier({ clockToleranceSeconds: 0 }).verify(within), 'invalid_token', 401, within, /expired/);
  });

  it('applies nbf with the clock tolerance', async () => {
    const future = await sign(rsa, baseClaims(clock, { nbf: clock.seconds + 31 }));
    await assertRefused(verifier().verify(future), 'invalid_token', 401, future, /not valid yet/);
    const within = await sign(rsa, baseClaims(clock, { nbf: clock.seconds + 29 }));
    assert.equal((await verifier().verify(within)).subject, 'ada');
    clock.advance(2); // the same token becomes acceptable once the clock moves
    assert.equal((await verifier().verify(future)).subject, 'ada');
  });

  it('requires exp', async () => {
    const token = await sign(rsa, { ...baseClaims(clock), exp: undefined });
    await assertRefused(verifier().verify(token), 'invalid_token', 401, token, /no expiry/);
  });

  it('requires typ at+jwt when configured (RFC 9068 §2.1)', async () => {
    const strict = verifier({ requireAtJwt: true });
    const plain = await sign(rsa, baseClaims(clock), { typ: 'JWT' });
    await assertRefused(strict.verify(plain), 'invalid_token', 401, plain, /at\+jwt/);
    const none = await sign(rsa, baseClaims(clock));
    await assertRefused(strict.verify(none), 'invalid_token', 401, none);
    assert.equal((await strict.verify(await sign(rsa, baseClaims(clock), { typ: 'at+jwt' }))).subject, 'ada');
    assert.equal((await strict.verify(await sign(rsa, baseClaims(clock), { typ: 'application/at+jwt' }))).subject, 'ada');
    assert.equal((await verifier().verify(plain)).subject, 'ada', 'not required by default');
  });

  it('refuses sender-constrained tokens (cnf), whose proof it cannot check', async () => {
    const token = await sign(rsa, baseClaims(clock, { cnf: { jkt: 'abc' } }));
    await assertRefused(verifier().verify(token), 'invalid_token', 401, token, /sender-constrained/);
  });

  it('uses the client id as subject when sub is absent, and refuses a token naming no client', async () => {
    const cc = await sign(rsa, { ...baseClaims(clock), sub: undefined });
    assert.equal((await verifier().verify(cc)).subject, 'client-1');
    const anonymous = await sign(rsa, { ...baseClaims(clock), client_id: undefined });
    await assertRefused(verifier().verify(anonymous), 'invalid_token', 401, anonymous, /client/);
  });

  it('validates options when built', () => {
    const base = { issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri };
    assert.throws(() => createJwtVerifier({ ...base, jwksUri: 'not a url' }), /jwksUri must be an absolute URL/);
    assert.throws(() => createJwtVerifier({ ...base, jwksUri: 'http://idp.example.com/jwks' }), /jwksUri must use https/);
    assert.throws(() => createJwtVerifier({ ...base, issuer: 'http://idp.example.com' }), /issuer must use https/);
    assert.throws(() => createJwtVerifier({ ...base, audience: '' }), /audience must be a non-empty string/);
    assert.throws(() => createJwtVerifier({ ...base, algorithms: [] }), /non-empty list/);
    assert.throws(() => createJwtVerifier({ ...base, algorithms: ['none'] }), /"none" is not accepted/);
    assert.throws(() => createJwtVerifier({ ...base, algorithms: ['RS256', 'RS257'] }), /"RS257" is not accepted/);
    assert.throws(() => createJwtVerifier({ ...base, clockToleranceSeconds: 61 }), /clockToleranceSeconds must be a number from 0 to 60/);
    assert.throws(() => createJwtVerifier({ ...base, clockToleranceSeconds: -1 }), /clockToleranceSeconds/);
    assert.throws(() => createJwtVerifier({ ...base, provider: 'oktaa' as never }), /provider must be one of okta, auth0/);
    assert.throws(() => createJwtVerifier({ ...base, jwksCacheMaxAgeSeconds: 600, jwksMaxStaleSeconds: 60 }), /jwksMaxStaleSeconds/);
    assert.doesNotThrow(() => createJwtVerifier({ ...base, jwksUri: 'https://idp.example.com/keys', algorithms: ['PS256', 'EdDSA'] }));
  });
});

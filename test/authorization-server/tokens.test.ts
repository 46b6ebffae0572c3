import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { OAuthError } from '../../src/core/errors.js';
import { createKeyRing, KEY_PROPAGATION_SECONDS, type RotatingKeyRing } from '../../src/authorization-server/keys.js';
import { createEmbeddedVerifier, issueAccessToken, type IssuingContext } from '../../src/authorization-server/tokens.js';
import { captureLogger, memoryStore, SecondsClock } from './core-fixtures.js';

const ISSUER = 'http://127.0.0.1:9001';
const RESOURCE = 'http://127.0.0.1:9001/mcp';
const TTL = 3600;

async function assertInvalid(promise: Promise<unknown>, token: string, description?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof OAuthError, String(error));
    assert.equal(error.code, 'invalid_token');
    assert.equal(error.status, 401);
    assert.ok(!error.description.includes(token) && !JSON.stringify(error.toJSON()).includes(token.split('.')[1]!), 'the wire error never echoes the token');
    if (description) assert.match(error.description, description);
    return true;
  });
}

describe('access tokens (RFC 9068) and the embedded verifier', () => {
  let clock: SecondsClock;
  let keys: RotatingKeyRing;
  let ctx: IssuingContext;

  beforeEach(async () => {
    clock = new SecondsClock();
    keys = await createKeyRing({ store: await memoryStore(), encryptionKey: undefined, logger: captureLogger().logger, accessTokenTtl: TTL, now: clock.now });
    ctx = { issuer: ISSUER, resource: RESOURCE, keys, accessTokenTtl: TTL, now: clock.now };
  });

  it('issues an at+jwt with the RFC 9068 claims, which the verifier maps like the generic preset', async () => {
    const issued = await issueAccessToken(ctx, { subject: 'usr_1', clientId: 'client-1', scopes: ['incidents:read', 'incidents:write'], authTime: clock.value - 5 });
    assert.equal(issued.expiresIn, TTL);
    const header = decodeProtectedHeader(issued.token);
    assert.deepEqual({ alg: header.alg, typ: header.typ }, { alg: 'ES256', typ: 'at+jwt' });
    assert.equal(header.kid, (await keys.records())[0]!.kid);
    const claims = decodeJwt(issued.token);
    assert.deepEqual(claims, {
      iss: ISSUER,
      sub: 'usr_1',
      aud: RESOURCE,
      client_id: 'client-1',
      jti: issued.jti,
      iat: clock.value,
      exp: clock.value + TTL,
      scope: 'incidents:read incidents:write',
      auth_time: clock.value - 5,
    });

    const auth = await createEmbeddedVerifier(ctx).verify(issued.token);
    assert.equal(auth.subject, 'usr_1');
    assert.equal(auth.clientId, 'client-1');
    assert.deepEqual(auth.scopes, ['incidents:read', 'incidents:write']);
    assert.deepEqual(auth.audience, [RESOURCE]);
    assert.equal(auth.issuer, ISSUER);
    assert.equal(auth.expiresAt, clock.value + TTL);
    assert.equal(auth.claims.jti, issued.jti);
  });

  it('gives every token its own jti, omits an empty scope, and honours a shorter ttl only', async () => {
    const a = await issueAccessToken(ctx, { subject: 'c', clientId: 'c', scopes: [] });
    const b = await issueAccessToken(ctx, { subject: 'c', clientId: 'c', scopes: [], ttl: 60 });
    assert.notEqual(a.jti, b.jti);
    assert.equal('scope' in decodeJwt(a.token), false);
    assert.equal(decodeJwt(b.token).exp, clock.value + 60);
    assert.deepEqual((await createEmbeddedVerifier(ctx).verify(a.token)).scopes, []);
    await assert.rejects(issueAccessToken(ctx, { subject: 'c', clientId: 'c', scopes: [], ttl: TTL + 1 }), RangeError);
    await assert.rejects(issueAccessToken(ctx, { subject: 'c', clientId: 'c', scopes: [], ttl: 0 }), RangeError);
  });

  it('refuses an expired token, allowing 30 s of clock skew', async () => {
    const { token } = await issueAccessToken(ctx, { subject: 'u', clientId: 'c', scopes: [], ttl: 60 });
    const verifier = createEmbeddedVerifier(ctx);
    clock.advance(60 + 29);
    await verifier.verify(token);
    clock.advance(1);
    await assertInvalid(verifier.verify(token), token, /expired/);
  });

  it('refuses another issuer, another audience, and a token not yet valid', async () => {
    const { token } = await issueAccessToken(ctx, { subject: 'u', clientId: 'c', scopes: [] });
    await assertInvalid(createEmbeddedVerifier({ ...ctx, issuer: `${ISSUER}/` }).verify(token), token, /not issued by the expected authorization server/);
    await assertInvalid(createEmbeddedVerifier({ ...ctx, resource: 'http://127.0.0.1:9002/mcp' }).verify(token), token, /not meant for this resource/);
    const other = await issueAccessToken(ctx, { subject: 'u', clientId: 'c', scopes: [], resource: 'https://elsewhere.example/mcp' });
    await assertInvalid(createEmbeddedVerifier(ctx).verify(other.token), other.token, /not meant for this resource/);
    const early = await keys.sign({ iss: ISSUER, aud: RESOURCE, sub: 'u', client_id: 'c', exp: clock.value + 600, nbf: clock.value + 120 }, { typ: 'at+jwt' });
    await assertInvalid(createEmbeddedVerifier(ctx).verify(early), early, /not valid yet/);
  });

  it('refuses a JWT that is not an access token (typ), has no exp, or names no client', async () => {
    const verifier = createEmbeddedVerifier(ctx);
    const idToken = await keys.sign({ iss: ISSUER, aud: RESOURCE, sub: 'u', client_id: 'c', exp: clock.value + 60 }, { typ: 'JWT' });
    await assertInvalid(verifier.verify(idToken), idToken, /typ at\+jwt/);
    const noExp = await keys.sign({ iss: ISSUER, aud: RESOURCE, sub: 'u', client_id: 'c' }, { typ: 'at+jwt' });
    await assertInvalid(verifier.verify(noExp), noExp);
    const noClient = await keys.sign({ iss: ISSUER, aud: RESOURCE, sub: 'u', exp: clock.value + 60 }, { typ: 'at+jwt' });
    await assertInvalid(verifier.verify(noClient), noClient, /does not name its client/);
  });

  it('refuses alg none, HS256 keyed with anything, a key it does not publish, and a tampered payload', async () => {
    const verifier = createEmbeddedVerifier(ctx);
    const kid = (await keys.records())[0]!.kid;
    const claims = { iss: ISSUER, aud: RESOURCE, sub: 'u', client_id: 'c', exp: clock.value + 60 };
    const none = new UnsecuredJWT(claims).encode();
    await assertInvalid(verifier.verify(none), none);
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid, typ: 'at+jwt' }).sign(new TextEncoder().encode('x'.repeat(32)));
    await assertInvalid(verifier.verify(hs), hs, /algorithm/);
    const stranger = await generateKeyPair('ES256');
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'not-ours', typ: 'at+jwt' }).sign(stranger.privateKey);
    await assertInvalid(verifier.verify(foreign), foreign, /unknown key/);
    const sameKid = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(stranger.privateKey);
    await assertInvalid(verifier.verify(sameKid), sameKid);

    const { token } = await issueAccessToken(ctx, { subject: 'u', clientId: 'c', scopes: ['incidents:read'] });
    const [h, p, s] = token.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), scope: 'mcp:admin' })).toString('base64url');
    await assertInvalid(verifier.verify(`${h}.${forged}.${s}`), `${h}.${forged}.${s}`);
    await assertInvalid(verifier.verify('not a jwt'), 'not a jwt');
    assert.ok(p);
  });

  it('keeps verifying tokens of a rotated-out key until they expire, and signs new ones with the new key', async () => {
    const verifier = createEmbeddedVerifier(ctx);
    const before = await issueAccessToken(ctx, { subject: 'u', clientId: 'c', scopes: [] });
    const added = await keys.rotate();
    clock.advance(KEY_PROPAGATION_SECONDS);
    const after = await issueAccessToken(ctx, { subject: 'u', clientId: 'c', scopes: [] });
    assert.equal(decodeProtectedHeader(after.token).kid, added.kid);
    assert.notEqual(decodeProtectedHeader(before.token).kid, added.kid);
    await verifier.verify(before.token);
    await verifier.verify(after.token);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { createJwtVerifier } from '../../src/verifiers/jwt.js';
import { presets, resolvePreset, toAuthInfo, type ProviderName } from '../../src/verifiers/presets.js';
import { assertRefused, JwksServer, makeKey, sign, TestClock, type SigningKey } from './helpers.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';

describe('claim presets on tokens shaped like each IdP issues them', () => {
  const jwks = new JwksServer();
  const clock = new TestClock();
  let key: SigningKey;
  const iat = clock.seconds - 60;
  const exp = clock.seconds + 3540;

  before(async () => {
    key = await makeKey('RS256', 'kid-1');
    jwks.keys = [key.jwk];
    await jwks.start();
  });
  after(() => jwks.stop());

  /** Signs `claims` and verifies them through a real JWT verifier with `provider`. */
  async function verify(provider: ProviderName, issuer: string, audience: string, claims: JWTPayload, header: Record<string, unknown> = {}) {
    const verifier = createJwtVerifier({ issuer, audience, jwksUri: jwks.jwksUri, provider, now: clock.now });
    const token = await sign(key, claims, header);
    return { token, result: verifier.verify(token) };
  }

  it('okta: scp array, cid, sub (uid kept in claims)', async () => {
    const issuer = 'https://dev-123456.okta.com/oauth2/default';
    const { result } = await verify('okta', issuer, 'api://default', {
      ver: 1, jti: 'AT.abc', iss: issuer, aud: 'api://default', iat, exp,
      cid: '0oa1b2c3d4EXAMPLE', uid: '00u1b2c3d4EXAMPLE', scp: ['openid', 'incidents:read'], auth_time: iat, sub: 'ada@example.com',
    });
    const auth = await result;
    assert.equal(auth.subject, 'ada@example.com');
    assert.equal(auth.clientId, '0oa1b2c3d4EXAMPLE');
    assert.deepEqual(auth.scopes, ['openid', 'incidents:read']);
    assert.equal(auth.claims.uid, '00u1b2c3d4EXAMPLE');
  });

  it('okta client credentials: sub is the client id, no uid', async () => {
    const issuer = 'https://dev-123456.okta.com/oauth2/aus9xyz';
    const { result } = await verify('okta', issuer, 'api://portcullis', {
      ver: 1, jti: 'AT.def', iss: issuer, aud: 'api://portcullis', iat, exp, cid: '0oaMACHINE', scp: ['incidents:write'], sub: '0oaMACHINE',
    });
    const auth = await result;
    assert.equal(auth.subject, '0oaMACHINE');
    assert.deepEqual(auth.scopes, ['incidents:write']);
  });

  it('auth0: scope string merged with RBAC permissions, azp, aud array with userinfo', async () => {
    const issuer = 'https://acme.us.auth0.com/';
    const { result } = await verify('auth0', issuer, 'https://mcp.acme.com/mcp', {
      iss: issuer, sub: 'auth0|64f1c0ffee', aud: ['https://mcp.acme.com/mcp', 'https://acme.us.auth0.com/userinfo'], iat, exp,
      scope: 'openid profile incidents:read', azp: 'AbCdEfGh123', permissions: ['incidents:read', 'incidents:write'],
    });
    const auth = await result;
    assert.equal(auth.subject, 'auth0|64f1c0ffee');
    assert.equal(auth.clientId, 'AbCdEfGh123');
    assert.deepEqual(auth.scopes, ['openid', 'profile', 'incidents:read', 'incidents:write']);
    assert.deepEqual(auth.audience, ['https://mcp.acme.com/mcp', 'https://acme.us.auth0.com/userinfo']);
  });

  it('auth0 client credentials: sub "<client>@clients", gty', async () => {
    const issuer = 'https://acme.us.auth0.com/';
    const { result } = await verify('auth0', issuer, 'https://mcp.acme.com/mcp', {
      iss: issuer, sub: 'M2mClient@clients', aud: 'https://mcp.acme.com/mcp', iat, exp, scope: 'incidents:read', gty: 'client-credentials', azp: 'M2mClient',
    });
    const auth = await result;
    assert.equal(auth.subject, 'M2mClient@clients');
    assert.equal(auth.clientId, 'M2mClient');
  });

  it('auth0: the issuer ends in a slash, and a token from the slash-less form is refused', async () => {
    const { token, result } = await verify('auth0', 'https://acme.us.auth0.com/', 'https://mcp.acme.com/mcp', {
      iss: 'https://acme.us.auth0.com', sub: 'auth0|1', aud: 'https://mcp.acme.com/mcp', iat, exp, azp: 'c',
    });
    await assertRefused(result, 'invalid_token', 401, token);
  });

  it('keycloak: scope string, azp; realm and client roles are not scopes', async () => {
    const issuer = 'https://sso.example.com/realms/acme';
    const { result } = await verify('keycloak', issuer, 'portcullis', {
      exp, iat, jti: 'onrtac:1', iss: issuer, aud: ['portcullis', 'account'], sub: 'f1b2c3d4-0000-4000-8000-000000000001', typ: 'Bearer', azp: 'mcp-inspector',
      sid: 's-1', acr: '1', 'allowed-origins': ['*'], realm_access: { roles: ['offline_access', 'incidents:write'] },
      resource_access: { account: { roles: ['manage-account'] } }, scope: 'openid email profile incidents:read', email_verified: true, preferred_username: 'ada',
    }, { typ: 'JWT' });
    const auth = await result;
    assert.equal(auth.subject, 'f1b2c3d4-0000-4000-8000-000000000001');
    assert.equal(auth.clientId, 'mcp-inspector');
    assert.deepEqual(auth.scopes, ['openid', 'email', 'profile', 'incidents:read']);
    assert.ok(!auth.scopes.includes('incidents:write'), 'a realm role never becomes a scope');
    assert.deepEqual(auth.claims.realm_access, { roles: ['offline_access', 'incidents:write'] });
  });

  it('entra v1: sts.windows.net issuer, appid, scp space string', async () => {
    const issuer = `https://sts.windows.net/${TENANT}/`;
    const { result } = await verify('entra', issuer, 'api://portcullis', {
      aud: 'api://portcullis', iss: issuer, iat, nbf: iat, exp, acr: '1', aio: 'E2Z', amr: ['pwd', 'mfa'], appid: '11111111-2222-3333-4444-555555555555', appidacr: '0',
      family_name: 'Lovelace', given_name: 'Ada', ipaddr: '203.0.113.7', name: 'Ada Lovelace', oid: 'aaaaaaaa-0000-0000-0000-000000000001',
      scp: 'incidents.read incidents.write', sub: 'pairwise-sub-v1', tid: TENANT, unique_name: 'ada@contoso.com', upn: 'ada@contoso.com', ver: '1.0',
    }, { typ: 'JWT', x5t: 'abc' });
    const auth = await result;
    assert.equal(auth.subject, 'pairwise-sub-v1');
    assert.equal(auth.clientId, '11111111-2222-3333-4444-555555555555');
    assert.deepEqual(auth.scopes, ['incidents.read', 'incidents.write']);
    assert.equal(auth.claims.oid, 'aaaaaaaa-0000-0000-0000-000000000001');
  });

  it('entra v2: login.microsoftonline.com/{tid}/v2.0 issuer, azp', async () => {
    const issuer = `https://login.microsoftonline.com/${TENANT}/v2.0`;
    const { result } = await verify('entra', issuer, 'f0e1d2c3-0000-0000-0000-00000000api0', {
      aud: 'f0e1d2c3-0000-0000-0000-00000000api0', iss: issuer, iat, nbf: iat, exp, aio: 'x', azp: '99999999-8888-7777-6666-555555555555', azpacr: '0',
      name: 'Ada Lovelace', oid: 'aaaaaaaa-0000-0000-0000-000000000001', preferred_username: 'ada@contoso.com', rh: '0.A', scp: 'incidents.read',
      sub: 'pairwise-sub-v2', tid: TENANT, uti: 'u', ver: '2.0',
    });
    const auth = await result;
    assert.equal(auth.clientId, '99999999-8888-7777-6666-555555555555');
    assert.deepEqual(auth.scopes, ['incidents.read']);
  });

  it('entra app-only token: roles instead of scp, sub is the service principal', async () => {
    const issuer = `https://login.microsoftonline.com/${TENANT}/v2.0`;
    const { result } = await verify('entra', issuer, 'api://portcullis', {
      aud: 'api://portcullis', iss: issuer, iat, nbf: iat, exp, azp: 'daemon-app', azpacr: '1', idtyp: 'app', oid: 'sp-oid',
      roles: ['Incidents.ReadWrite.All'], sub: 'sp-oid', tid: TENANT, ver: '2.0',
    });
    const auth = await result;
    assert.equal(auth.subject, 'sp-oid');
    assert.deepEqual(auth.scopes, ['Incidents.ReadWrite.All']);
  });

  it('entra: either issuer version of the configured tenant is accepted, another tenant is not', async () => {
    const v1 = `https://sts.windows.net/${TENANT}/`;
    const v2 = `https://login.microsoftonline.com/${TENANT}/v2.0`;
    const claims = { aud: 'api://portcullis', iat, exp, appid: 'app', sub: 's', scp: 'a' };
    assert.equal((await (await verify('entra', v2, 'api://portcullis', { ...claims, iss: v1 })).result).issuer, v1);
    assert.equal((await (await verify('entra', v1, 'api://portcullis', { ...claims, iss: v2 })).result).issuer, v2);
    const other = await verify('entra', v2, 'api://portcullis', { ...claims, iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/' });
    await assertRefused(other.result, 'invalid_token', 401, other.token, /authorization server/);
    // The generic preset compares exactly: a v1 token is not accepted for a v2 issuer.
    const generic = await verify('generic', v2, 'api://portcullis', { ...claims, iss: v1, client_id: 'app' });
    await assertRefused(generic.result, 'invalid_token', 401, generic.token);
  });

  it('generic: scope string or scp string/array; client_id, azp or cid', async () => {
    const issuer = 'https://as.example.com';
    const base = { iss: issuer, aud: 'rs', iat, exp, sub: 'u' };
    const cases: [JWTPayload, string, string[]][] = [
      [{ scope: 'a b', client_id: 'c1' }, 'c1', ['a', 'b']],
      [{ scp: 'a b', azp: 'c2' }, 'c2', ['a', 'b']],
      [{ scp: ['a', 'b'], cid: 'c3' }, 'c3', ['a', 'b']],
      [{ client_id: 'c4' }, 'c4', []],
    ];
    for (const [extra, clientId, scopes] of cases) {
      const auth = await (await verify('generic', issuer, 'rs', { ...base, ...extra })).result;
      assert.equal(auth.clientId, clientId);
      assert.deepEqual(auth.scopes, scopes);
    }
  });

  it('refuses a scope claim of the wrong type instead of ignoring it', async () => {
    const issuer = 'https://dev-1.okta.com/oauth2/default';
    for (const [provider, bad] of [['okta', { scp: 'not-an-array' }], ['generic', { scope: 42 }], ['auth0', { permissions: 'x' }], ['entra', { roles: [1] }]] as const) {
      const { token, result } = await verify(provider, issuer, 'rs', { iss: issuer, aud: 'rs', iat, exp, sub: 'u', cid: 'c', azp: 'c', client_id: 'c', ...bad });
      await assertRefused(result, 'invalid_token', 401, token, /malformed claim/);
    }
  });
});

describe('presets on introspection answers (no signature)', () => {
  const exp = Math.floor(Date.now() / 1000) + 600;

  it('okta introspection: scope string and client_id fall back from scp and cid', () => {
    const auth = toAuthInfo(presets.okta, {
      active: true, scope: 'openid incidents:read', username: 'ada@example.com', exp, iat: exp - 3600, sub: 'ada@example.com',
      aud: 'api://default', iss: 'https://dev-1.okta.com/oauth2/default', jti: 'AT.x', token_type: 'Bearer', client_id: '0oaCLIENT', uid: '00uUSER',
    });
    assert.equal(auth.clientId, '0oaCLIENT');
    assert.deepEqual(auth.scopes, ['openid', 'incidents:read']);
  });

  it('uses the fallback issuer when the answer has no iss, and dedupes scopes', () => {
    const auth = toAuthInfo(presets.auth0, { aud: 'rs', exp, azp: 'c', scope: 'a b', permissions: ['b', 'c'] }, 'https://as.example.com/');
    assert.equal(auth.issuer, 'https://as.example.com/');
    assert.equal(auth.subject, 'c', 'no sub: the client id');
    assert.deepEqual(auth.scopes, ['a', 'b', 'c']);
  });

  it('resolvePreset: names, custom presets, unknown names', () => {
    assert.equal(resolvePreset(undefined), presets.generic);
    assert.equal(resolvePreset('keycloak'), presets.keycloak);
    const custom = { name: 'acme', acceptedIssuers: (i: string) => [i], identity: () => ({ subject: 's', clientId: 'c', scopes: ['x'] }) };
    assert.equal(resolvePreset(custom), custom);
    assert.throws(() => resolvePreset('toString' as ProviderName), /provider must be one of/);
  });
});

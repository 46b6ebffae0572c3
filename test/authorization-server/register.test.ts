import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyClientSecret } from '../../src/authorization-server/secrets.js';
import { assertNoStore, assertRefusal, post, startServer, type TestServer, type HttpResult } from './helpers.js';

function register(as: TestServer, body: unknown, path = '/oauth/register'): Promise<HttpResult> {
  return post(as, path, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json' });
}

const valid = { client_name: 'Test app', redirect_uris: ['http://127.0.0.1:33418/callback'], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };

describe('dynamic client registration (RFC 7591)', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer({ registrationPerMinute: 1000 });
  });
  after(() => as.close());

  it('registers a public client: 201 with the RFC 7591 fields, stored, no secret', async () => {
    const result = await register(as, { ...valid, scope: 'incidents:read unknown:scope', logo_uri: 'https://app.example/logo.png', jwks_uri: 'https://ignored.example' });
    assert.equal(result.status, 201, result.text);
    assertNoStore(result);
    const body = result.body;
    assert.equal(typeof body.client_id, 'string');
    assert.equal(typeof body.client_id_issued_at, 'number');
    assert.equal(body.client_secret, undefined);
    assert.equal(body.token_endpoint_auth_method, 'none');
    assert.deepEqual(body.redirect_uris, valid.redirect_uris);
    assert.deepEqual(body.grant_types, valid.grant_types);
    assert.deepEqual(body.response_types, ['code']);
    assert.equal(body.client_name, 'Test app');
    assert.equal(body.scope, 'incidents:read', 'unknown scopes are dropped');
    assert.equal(body.logo_uri, 'https://app.example/logo.png');
    assert.equal(body.jwks_uri, undefined, 'metadata we do not understand is ignored');
    const stored = await as.store.clients.get(body.client_id as string);
    assert.equal(stored?.origin, 'dynamic');
    assert.equal(stored?.secretHash, undefined);
  });

  it('defaults to a public authorization_code client (grant_types default per RFC 7591 §2)', async () => {
    const result = await register(as, { redirect_uris: ['https://app.example/cb'] });
    assert.equal(result.status, 201, result.text);
    assert.deepEqual(result.body.grant_types, ['authorization_code']);
    assert.equal(result.body.token_endpoint_auth_method, 'none');
  });

  for (const method of ['client_secret_basic', 'client_secret_post']) {
    it(`registers a confidential ${method} client: the secret is returned once and stored hashed`, async () => {
      const result = await register(as, { ...valid, token_endpoint_auth_method: method });
      assert.equal(result.status, 201, result.text);
      const secret = result.body.client_secret as string;
      assert.ok(secret.length >= 43);
      assert.equal(result.body.client_secret_expires_at, 0);
      const stored = await as.store.clients.get(result.body.client_id as string);
      assert.ok(stored?.secretHash && !stored.secretHash.includes(secret));
      assert.ok(verifyClientSecret(secret, stored.secretHash));
    });
  }

  it('accepts https, loopback http and private-use redirect URIs, reverse-domain or single-label as Cursor uses', async () => {
    const uris = ['https://app.example/cb', 'http://127.0.0.1:3000/cb', 'http://[::1]/cb', 'http://localhost:8080/cb', 'com.example.app:/oauth/cb', 'com.example.app://cb', 'cursor://anysphere.cursor-retrieval/oauth/callback'];
    const result = await register(as, { ...valid, redirect_uris: uris });
    assert.equal(result.status, 201, result.text);
    assert.deepEqual(result.body.redirect_uris, uris);
  });

  const badRedirects: Array<[string, unknown]> = [
    ['missing', undefined],
    ['empty', []],
    ['not a list', 'https://app.example/cb'],
    ['not strings', [42]],
    ['plain http on a public host', ['http://app.example/cb']],
    ['a fragment', ['https://app.example/cb#frag']],
    ['javascript:', ['javascript:alert(1)']],
    ['data:', ['data:text/html,<script>alert(1)</script>']],
    ['file:', ['file:///etc/passwd']],
    ['vbscript:', ['vbscript:msgbox(1)']],
    ['ws:', ['ws://127.0.0.1/cb']],
    ['mailto:', ['mailto:someone@example.com']],
    ['credentials', ['https://user:pw@app.example/cb']],
    ['not a URI', ['not a uri']],
    ['non-ASCII', ['https://app.example/cb/é']],
    ['too long', [`https://app.example/${'a'.repeat(2000)}`]],
    ['too many', Array.from({ length: 11 }, (_, i) => `https://app.example/cb${i}`)],
  ];
  for (const [what, redirectUris] of badRedirects) {
    it(`refuses redirect URIs: ${what} → invalid_redirect_uri`, async () => {
      const before = (await as.store.clients.list()).length;
      assertRefusal(await register(as, { ...valid, redirect_uris: redirectUris }), 400, 'invalid_redirect_uri');
      assert.equal((await as.store.clients.list()).length, before);
    });
  }

  const badMetadata: Array<[string, unknown]> = [
    ['client_credentials', { ...valid, grant_types: ['client_credentials'] }],
    ['the password grant', { ...valid, grant_types: ['authorization_code', 'password'] }],
    ['refresh_token without authorization_code', { ...valid, grant_types: ['refresh_token'] }],
    ['the token response type', { ...valid, response_types: ['token'] }],
    ['private_key_jwt', { ...valid, token_endpoint_auth_method: 'private_key_jwt' }],
    ['a long client_name', { ...valid, client_name: 'x'.repeat(201) }],
    ['a client_name that is not a string', { ...valid, client_name: 42 }],
    ['a control character in client_name', { ...valid, client_name: 'a\u0007b' }],
    ['a javascript: logo_uri', { ...valid, logo_uri: 'javascript:alert(1)' }],
    ['a malformed scope', { ...valid, scope: 'a"b' }],
    ['a scope that is not a string', { ...valid, scope: ['incidents:read'] }],
    ['too many contacts', { ...valid, contacts: ['a@x', 'b@x', 'c@x', 'd@x', 'e@x', 'f@x'] }],
    ['an array body', [valid]],
    ['a JSON string body', 'just a string'],
  ];
  for (const [what, body] of badMetadata) {
    it(`refuses ${what} → invalid_client_metadata`, async () => {
      const before = (await as.store.clients.list()).length;
      const result = await register(as, typeof body === 'string' ? JSON.stringify(body) : body);
      assertRefusal(result, 400, 'invalid_client_metadata');
      assert.equal((await as.store.clients.list()).length, before);
    });
  }

  it('says who creates client_credentials clients', async () => {
    const result = await register(as, { ...valid, grant_types: ['client_credentials'] });
    assert.match(result.body.error_description as string, /portcullis clients add/);
  });

  it('refuses a body that is not JSON, another media type, an oversized body and GET', async () => {
    assertRefusal(await register(as, '{not json'), 400, 'invalid_client_metadata');
    const form = await post(as, '/oauth/register', 'redirect_uris=https://app.example/cb');
    assert.equal(form.status, 415);
    assertNoStore(form);
    const big = await register(as, { ...valid, client_name: 'x'.repeat(40_000) });
    assert.equal(big.status, 413);
    assertNoStore(big);
    const get = await fetch(`${as.origin}/oauth/register`);
    assert.equal(get.status, 405);
  });

  it('is served at the 2025-03-26 root fallback /register', async () => {
    assert.equal((await register(as, valid, '/register')).status, 201);
  });
});

describe('dynamic client registration: rate limit', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer({ registrationPerMinute: 3 });
  });
  after(() => as.close());

  it('allows registrationPerMinute per address per minute, then 429 with Retry-After, until the next window', async () => {
    as.clock.now = Math.ceil(as.clock.now / 60) * 60 + 10; // 10 s into a window
    for (let i = 0; i < 3; i++) assert.equal((await register(as, valid)).status, 201);
    const count = (await as.store.clients.list()).length;
    const limited = await register(as, valid);
    assert.equal(limited.status, 429, limited.text);
    assertNoStore(limited);
    assert.equal(limited.headers.get('retry-after'), '50');
    assert.equal(limited.body.error, 'too_many_requests');
    // Invalid requests count too, and nothing is stored past the limit.
    assert.equal((await register(as, { redirect_uris: ['javascript:x'] })).status, 429);
    assert.equal((await as.store.clients.list()).length, count);
    as.clock.now += 50;
    assert.equal((await register(as, valid)).status, 201);
  });
});

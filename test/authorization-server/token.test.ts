import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { createEmbeddedVerifier } from '../../src/authorization-server/tokens.js';
import {
  addClient, addUser, assertNoStore, assertRefusal, basic, exchange, issueCode, liveGrants, post, refresh, REDIRECT_URI, startServer, type TestServer,
} from './helpers.js';

describe('token endpoint: authorization_code', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer();
  });
  after(() => as.close());

  it('oauth4webapi, as a strict client, discovers the server and exchanges a code', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id);
    const issuer = new URL(as.issuer);
    const options = { [oauth.allowInsecureRequests]: true };
    const server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const client: oauth.Client = { client_id: clientId };
    // The authorization response as the authorization endpoint sends it (RFC 9207: with iss).
    const callback = new URL(`${REDIRECT_URI}?code=${issued.code}&iss=${encodeURIComponent(as.issuer)}`);
    const params = oauth.validateAuthResponse(server, client, callback, oauth.expectNoState);
    const response = await oauth.authorizationCodeGrantRequest(server, client, oauth.None(), params, REDIRECT_URI, issued.verifier, {
      ...options,
      additionalParameters: { resource: as.ctx.resource },
    });
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.headers.get('pragma'), 'no-cache');
    const tokens = await oauth.processAuthorizationCodeResponse(server, client, response);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.scope, 'incidents:read incidents:write');
    assert.equal(typeof tokens.refresh_token, 'string');

    const auth = await createEmbeddedVerifier(as.ctx).verify(tokens.access_token);
    assert.equal(auth.subject, user.id);
    assert.equal(auth.clientId, clientId);
    assert.deepEqual(auth.audience, [as.ctx.resource]);
    assert.deepEqual(auth.scopes, ['incidents:read', 'incidents:write']);
    assert.equal((await liveGrants(as, clientId)).length, 1);

    // oauth4webapi refreshes with the rotated token.
    const refreshed = await oauth.processRefreshTokenResponse(server, client, await oauth.refreshTokenGrantRequest(server, client, oauth.None(), tokens.refresh_token!, options));
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    assert.equal(refreshed.scope, 'incidents:read incidents:write');
  });

  it('a replayed code is refused and revokes the refresh family its first use created', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id);
    const first = await exchange(as, clientId, issued);
    assert.equal(first.status, 200, first.text);
    assertNoStore(first);
    assert.equal((await liveGrants(as, clientId)).length, 1);

    assertRefusal(await exchange(as, clientId, issued), 400, 'invalid_grant');
    assert.equal((await liveGrants(as, clientId)).length, 0, 'the family is revoked');
    assertRefusal(await refresh(as, clientId, first.body.refresh_token as string), 400, 'invalid_grant');
  });

  it('refuses a wrong PKCE verifier, and the code is spent', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id);
    assertRefusal(await exchange(as, clientId, { ...issued, verifier: 'x'.repeat(43) }), 400, 'invalid_grant');
    assertRefusal(await exchange(as, clientId, issued), 400, 'invalid_grant');
    assert.equal((await liveGrants(as, clientId)).length, 0);
  });

  it('refuses a missing or malformed verifier without spending the code', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id);
    const missing = await post(as, '/oauth/token', { grant_type: 'authorization_code', code: issued.code, redirect_uri: REDIRECT_URI, client_id: clientId });
    assertRefusal(missing, 400, 'invalid_request');
    assertRefusal(await exchange(as, clientId, { ...issued, verifier: 'short' }), 400, 'invalid_request');
    assertRefusal(await exchange(as, clientId, { ...issued, verifier: `${'a'.repeat(42)}!` }), 400, 'invalid_request');
    assert.equal((await liveGrants(as, clientId)).length, 0);
    assert.equal((await exchange(as, clientId, issued)).status, 200);
  });

  it('refuses a redirect_uri that differs from the authorization request', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id);
    assertRefusal(await exchange(as, clientId, issued, { redirect_uri: 'http://127.0.0.1:4711/callback/' }), 400, 'invalid_grant');
    assert.equal((await liveGrants(as, clientId)).length, 0);
  });

  it("refuses another client's code", async () => {
    const user = await addUser(as);
    const owner = await addClient(as);
    const thief = await addClient(as);
    const issued = await issueCode(as, owner.clientId, user.id);
    assertRefusal(await exchange(as, thief.clientId, issued), 400, 'invalid_grant');
    assert.equal((await liveGrants(as, thief.clientId)).length, 0);
    assert.equal((await liveGrants(as, owner.clientId)).length, 0);
  });

  it('refuses an expired code', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id, { ttl: 60 });
    as.clock.now += 61;
    try {
      assertRefusal(await exchange(as, clientId, issued), 400, 'invalid_grant');
    } finally {
      as.clock.now -= 61;
    }
    assert.equal((await liveGrants(as, clientId)).length, 0);
  });

  it('refuses a resource other than this server’s with invalid_target, and accepts its own', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id);
    for (const resource of ['https://evil.example/mcp', `${as.ctx.resource}/`, `${as.ctx.resource}#x`, 'not a uri']) {
      assertRefusal(await exchange(as, clientId, issued, { resource }), 400, 'invalid_target');
    }
    const twice = `${new URLSearchParams({ grant_type: 'authorization_code', code: issued.code, redirect_uri: REDIRECT_URI, code_verifier: issued.verifier, client_id: clientId })}&resource=${encodeURIComponent(as.ctx.resource)}&resource=${encodeURIComponent(as.ctx.resource)}`;
    assertRefusal(await post(as, '/oauth/token', twice), 400, 'invalid_target');
    assert.equal((await liveGrants(as, clientId)).length, 0);
    assert.equal((await exchange(as, clientId, issued, { resource: as.ctx.resource })).status, 200);
  });

  it('issues no refresh token to a client not registered for refresh_token', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as, { grantTypes: ['authorization_code'] });
    const result = await exchange(as, clientId, await issueCode(as, clientId, user.id));
    assert.equal(result.status, 200);
    assert.equal(result.body.refresh_token, undefined);
    assert.equal((await liveGrants(as, clientId)).length, 0);
  });

  it('refuses client authentication failures with invalid_client (401)', async () => {
    const user = await addUser(as);
    const publicClient = await addClient(as);
    const confidential = await addClient(as, { method: 'client_secret_basic' });
    const issued = await issueCode(as, confidential.clientId, user.id);
    const form = { grant_type: 'authorization_code', code: issued.code, redirect_uri: REDIRECT_URI, code_verifier: issued.verifier };

    assertRefusal(await post(as, '/oauth/token', { ...form, client_id: 'nobody' }), 401, 'invalid_client');
    assertRefusal(await post(as, '/oauth/token', form), 401, 'invalid_client');
    // A public client must not send a secret.
    assertRefusal(await post(as, '/oauth/token', { ...form, client_id: publicClient.clientId, client_secret: 'x' }), 401, 'invalid_client');
    // A confidential client must authenticate, with its registered method.
    assertRefusal(await post(as, '/oauth/token', { ...form, client_id: confidential.clientId }), 401, 'invalid_client');
    assertRefusal(await post(as, '/oauth/token', { ...form, client_id: confidential.clientId, client_secret: confidential.secret! }), 401, 'invalid_client');
    const wrong = await post(as, '/oauth/token', form, basic(confidential.clientId, 'wrong'));
    assertRefusal(wrong, 401, 'invalid_client');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    const garbage = await post(as, '/oauth/token', form, { authorization: 'Basic !!!' });
    assertRefusal(garbage, 401, 'invalid_client');
    assert.match(garbage.headers.get('www-authenticate') ?? '', /^Basic /);
    // Two methods at once.
    assertRefusal(await post(as, '/oauth/token', { ...form, client_secret: confidential.secret! }, basic(confidential.clientId, confidential.secret!)), 400, 'invalid_request');
    assert.equal((await liveGrants(as, confidential.clientId)).length, 0);
    // The code was never consumed by those attempts.
    assert.equal((await post(as, '/oauth/token', form, basic(confidential.clientId, confidential.secret!))).status, 200);
  });

  it('refuses malformed requests: method, media type, size, grant type, repeated parameters', async () => {
    const get = await fetch(`${as.origin}/oauth/token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('cache-control'), 'no-store');
    assert.equal(get.headers.get('allow'), 'POST');

    const json = await post(as, '/oauth/token', JSON.stringify({ grant_type: 'client_credentials' }), { 'content-type': 'application/json' });
    assert.equal(json.status, 415);
    assertNoStore(json);
    const big = await post(as, '/oauth/token', `grant_type=authorization_code&code=${'a'.repeat(20_000)}`);
    assert.equal(big.status, 413);
    assertNoStore(big);

    assertRefusal(await post(as, '/oauth/token', { client_id: 'x' }), 400, 'invalid_request');
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'password', client_id: 'x' }), 400, 'unsupported_grant_type');
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'toString', client_id: 'x' }), 400, 'unsupported_grant_type');
    assertRefusal(await post(as, '/oauth/token', 'grant_type=authorization_code&grant_type=refresh_token'), 400, 'invalid_request');
  });

  it('is served at the 2025-03-26 root fallback /token', async () => {
    const user = await addUser(as);
    const { clientId } = await addClient(as);
    const issued = await issueCode(as, clientId, user.id);
    const result = await post(as, '/token', { grant_type: 'authorization_code', code: issued.code, redirect_uri: REDIRECT_URI, code_verifier: issued.verifier, client_id: clientId });
    assert.equal(result.status, 200, result.text);
    assertNoStore(result);
  });
});

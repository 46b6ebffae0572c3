import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { addClient, addUser, assertNoStore, assertRefusal, basic, exchange, issueCode, post, refresh, startServer, type TestServer } from './helpers.js';

describe('introspection (RFC 7662)', () => {
  let as: TestServer;
  let rs: Awaited<ReturnType<typeof addClient>>;
  before(async () => {
    as = await startServer();
    rs = await addClient(as, { method: 'client_secret_basic', grantTypes: ['client_credentials'], scope: 'incidents:read' });
  });
  after(() => as.close());

  async function introspect(token: string, extra: Record<string, string> = {}, client = rs) {
    return post(as, '/oauth/introspect', { token, ...extra }, basic(client.clientId, client.secret!));
  }

  async function tokens() {
    const user = await addUser(as, `ada${Math.random().toString(36).slice(2, 8)}`);
    const client = await addClient(as);
    const result = await exchange(as, client.clientId, await issueCode(as, client.clientId, user.id));
    return { user, client, accessToken: result.body.access_token as string, refreshToken: result.body.refresh_token as string };
  }

  it('describes an active access token with its claims (validated by oauth4webapi)', async () => {
    const { user, client, accessToken } = await tokens();
    const issuer = new URL(as.issuer);
    const options = { [oauth.allowInsecureRequests]: true };
    const server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const response = await oauth.introspectionRequest(server, { client_id: rs.clientId }, oauth.ClientSecretBasic(rs.secret!), accessToken, options);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const claims = await oauth.processIntrospectionResponse(server, { client_id: rs.clientId }, response);
    assert.equal(claims.active, true);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.username, user.username);
    assert.equal(claims.client_id, client.clientId);
    assert.equal(claims.scope, 'incidents:read incidents:write');
    assert.equal(claims.aud, as.ctx.resource);
    assert.equal(claims.iss, as.issuer);
    assert.equal(claims.token_type, 'Bearer');
    assert.equal(typeof claims.exp, 'number');
    assert.equal(typeof claims.iat, 'number');
    assert.equal(typeof claims.jti, 'string');
  });

  it("describes a refresh token to its own client only, and only while it is current", async () => {
    const owner = await addClient(as, { method: 'client_secret_post' });
    const user = await addUser(as);
    const issued = await issueCode(as, owner.clientId, user.id);
    const result = await post(as, '/oauth/token', { grant_type: 'authorization_code', code: issued.code, code_verifier: issued.verifier, redirect_uri: 'http://127.0.0.1:4711/callback', client_id: owner.clientId, client_secret: owner.secret! });
    const refreshToken = result.body.refresh_token as string;
    const own = await post(as, '/oauth/introspect', { token: refreshToken, token_type_hint: 'refresh_token', client_id: owner.clientId, client_secret: owner.secret! });
    assert.equal(own.status, 200);
    assert.equal(own.body.active, true);
    assert.equal(own.body.client_id, owner.clientId);
    assert.equal(own.body.sub, user.id);
    assert.deepEqual(await introspect(refreshToken).then((r) => r.body), { active: false });
  });

  it('answers only {"active": false} for expired, rotated, unknown and malformed tokens', async () => {
    const { client, accessToken, refreshToken } = await tokens();
    await refresh(as, client.clientId, refreshToken);
    for (const token of [refreshToken, 'garbage', 'a.b.c', `${accessToken}x`]) {
      const result = await introspect(token);
      assert.equal(result.status, 200);
      assertNoStore(result);
      assert.deepEqual(result.body, { active: false });
    }
    as.clock.now += 3700; // past exp and the verifier’s 30 s of skew
    try {
      assert.deepEqual((await introspect(accessToken)).body, { active: false });
    } finally {
      as.clock.now -= 3700;
    }
  });

  it('refuses public clients and failed authentication with invalid_client (401)', async () => {
    const { client, accessToken } = await tokens();
    assertRefusal(await post(as, '/oauth/introspect', { token: accessToken, client_id: client.clientId }), 401, 'invalid_client');
    assertRefusal(await post(as, '/oauth/introspect', { token: accessToken }), 401, 'invalid_client');
    const wrong = await post(as, '/oauth/introspect', { token: accessToken }, basic(rs.clientId, 'wrong'));
    assertRefusal(wrong, 401, 'invalid_client');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    assertRefusal(await post(as, '/oauth/introspect', {}, basic(rs.clientId, rs.secret!)), 400, 'invalid_request');
    assert.equal((await fetch(`${as.origin}/oauth/introspect`)).status, 405);
  });
});

describe('userinfo', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer();
  });
  after(() => as.close());

  it('answers sub and preferred_username for a user token', async () => {
    const user = await addUser(as, 'grace');
    const client = await addClient(as);
    const token = (await exchange(as, client.clientId, await issueCode(as, client.clientId, user.id))).body.access_token as string;
    for (const method of ['GET', 'POST']) {
      const response = await fetch(`${as.origin}/oauth/userinfo`, { method, headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.deepEqual(await response.json(), { sub: user.id, preferred_username: 'grace' });
    }
  });

  it('challenges a missing, malformed, invalid or non-user token', async () => {
    const none = await fetch(`${as.origin}/oauth/userinfo`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="portcullis"');
    const bad = await fetch(`${as.origin}/oauth/userinfo`, { headers: { authorization: 'Bearer not.a.token' } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer realm="portcullis", error="invalid_token"/);
    const malformed = await fetch(`${as.origin}/oauth/userinfo`, { headers: { authorization: 'Bearer a b' } });
    assert.equal(malformed.status, 400);
    assert.match(malformed.headers.get('www-authenticate') ?? '', /error="invalid_request"/);
    const machine = await addClient(as, { method: 'client_secret_basic', grantTypes: ['client_credentials'], scope: 'incidents:read' });
    const cc = await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic(machine.clientId, machine.secret!));
    const notUser = await fetch(`${as.origin}/oauth/userinfo`, { headers: { authorization: `Bearer ${cc.body.access_token as string}` } });
    assert.equal(notUser.status, 401);
    assert.match(notUser.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });
});

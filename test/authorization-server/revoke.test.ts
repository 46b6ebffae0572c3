import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { addClient, addUser, assertNoStore, assertRefusal, basic, exchange, issueCode, liveGrants, post, refresh, startServer, type TestServer } from './helpers.js';

async function tokensFor(as: TestServer, client?: Awaited<ReturnType<typeof addClient>>) {
  const user = await addUser(as);
  const owner = client ?? (await addClient(as));
  const form = { grant_type: 'authorization_code', redirect_uri: 'http://127.0.0.1:4711/callback' };
  const issued = await issueCode(as, owner.clientId, user.id);
  const result = owner.secret
    ? await post(as, '/oauth/token', { ...form, code: issued.code, code_verifier: issued.verifier }, basic(owner.clientId, owner.secret))
    : await exchange(as, owner.clientId, issued);
  assert.equal(result.status, 200, result.text);
  return { client: owner, accessToken: result.body.access_token as string, refreshToken: result.body.refresh_token as string };
}

describe('revocation (RFC 7009)', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer();
  });
  after(() => as.close());

  it('a public client revokes its refresh token: the whole family ends', async () => {
    const { client, refreshToken } = await tokensFor(as);
    const rotated = await refresh(as, client.clientId, refreshToken);
    const result = await post(as, '/oauth/revoke', { token: rotated.body.refresh_token as string, token_type_hint: 'refresh_token', client_id: client.clientId });
    assert.equal(result.status, 200);
    assertNoStore(result);
    assert.equal((await liveGrants(as, client.clientId)).length, 0);
    assertRefusal(await refresh(as, client.clientId, rotated.body.refresh_token as string), 400, 'invalid_grant');
  });

  it('a rotated (older) refresh token of the family revokes it too, whatever the hint', async () => {
    const { client, refreshToken } = await tokensFor(as);
    await refresh(as, client.clientId, refreshToken);
    const result = await post(as, '/oauth/revoke', { token: refreshToken, token_type_hint: 'access_token', client_id: client.clientId });
    assert.equal(result.status, 200);
    assert.equal((await liveGrants(as, client.clientId)).length, 0);
  });

  it('a confidential client revokes with client_secret_basic (oauth4webapi)', async () => {
    const confidential = await addClient(as, { method: 'client_secret_basic' });
    const { refreshToken } = await tokensFor(as, confidential);
    const issuer = new URL(as.issuer);
    const options = { [oauth.allowInsecureRequests]: true };
    const server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const response = await oauth.revocationRequest(server, { client_id: confidential.clientId }, oauth.ClientSecretBasic(confidential.secret!), refreshToken, options);
    await oauth.processRevocationResponse(response);
    assert.equal((await liveGrants(as, confidential.clientId)).length, 0);
  });

  it('an access token cannot be revoked: unsupported_token_type, and the grant stays', async () => {
    const { client, accessToken } = await tokensFor(as);
    assertRefusal(await post(as, '/oauth/revoke', { token: accessToken, token_type_hint: 'access_token', client_id: client.clientId }), 400, 'unsupported_token_type');
    assert.equal((await liveGrants(as, client.clientId)).length, 1);
  });

  it("answers 200 and changes nothing for unknown tokens and for another client's tokens", async () => {
    const { client, refreshToken, accessToken } = await tokensFor(as);
    const other = await addClient(as);
    for (const token of ['unknown', 'a.b.c', refreshToken, accessToken]) {
      const result = await post(as, '/oauth/revoke', { token, client_id: other.clientId });
      assert.equal(result.status, 200, token);
      assertNoStore(result);
    }
    assert.equal((await liveGrants(as, client.clientId)).length, 1);
  });

  it('refuses unauthenticated callers and malformed requests', async () => {
    const confidential = await addClient(as, { method: 'client_secret_basic' });
    const { refreshToken } = await tokensFor(as, confidential);
    const wrong = await post(as, '/oauth/revoke', { token: refreshToken }, basic(confidential.clientId, 'wrong'));
    assertRefusal(wrong, 401, 'invalid_client');
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    assertRefusal(await post(as, '/oauth/revoke', { token: refreshToken, client_id: confidential.clientId }), 401, 'invalid_client');
    assertRefusal(await post(as, '/oauth/revoke', { token: refreshToken }), 401, 'invalid_client');
    assertRefusal(await post(as, '/oauth/revoke', { client_id: confidential.clientId }, basic(confidential.clientId, confidential.secret!)), 400, 'invalid_request');
    const json = await post(as, '/oauth/revoke', JSON.stringify({ token: refreshToken }), { 'content-type': 'application/json' });
    assert.equal(json.status, 415);
    assertNoStore(json);
    assert.equal((await liveGrants(as, confidential.clientId)).length, 1);
  });
});

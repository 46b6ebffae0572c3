import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { createEmbeddedVerifier } from '../../src/authorization-server/tokens.js';
import { addClient, assertNoStore, assertRefusal, basic, post, startServer, type TestServer } from './helpers.js';

const CC = ['client_credentials'];

describe('token endpoint: client_credentials', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer();
  });
  after(() => as.close());

  it('issues a token to a client_secret_basic client: sub = client id, its registered scope, no refresh token', async () => {
    const client = await addClient(as, { method: 'client_secret_basic', grantTypes: CC, scope: 'incidents:read incidents:write' });
    const result = await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic(client.clientId, client.secret!));
    assert.equal(result.status, 200, result.text);
    assertNoStore(result);
    assert.equal(result.body.token_type, 'Bearer');
    assert.equal(result.body.scope, 'incidents:read incidents:write');
    assert.equal(result.body.refresh_token, undefined);
    const auth = await createEmbeddedVerifier(as.ctx).verify(result.body.access_token as string);
    assert.equal(auth.subject, client.clientId);
    assert.equal(auth.clientId, client.clientId);
    assert.deepEqual(auth.audience, [as.ctx.resource]);
    assert.equal((await as.store.grants.list({ clientId: client.clientId })).length, 0);
  });

  it('issues a token to a client_secret_post client, validated by oauth4webapi', async () => {
    const client = await addClient(as, { method: 'client_secret_post', grantTypes: CC, scope: 'incidents:read' });
    const issuer = new URL(as.issuer);
    const options = { [oauth.allowInsecureRequests]: true };
    const server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const response = await oauth.clientCredentialsGrantRequest(server, { client_id: client.clientId }, oauth.ClientSecretPost(client.secret!), new URLSearchParams(), options);
    const tokens = await oauth.processClientCredentialsResponse(server, { client_id: client.clientId }, response);
    assert.equal(tokens.scope, 'incidents:read');
  });

  it('narrows to a requested scope and refuses one beyond the registered scope', async () => {
    const client = await addClient(as, { method: 'client_secret_basic', grantTypes: CC, scope: 'incidents:read incidents:write' });
    const narrowed = await post(as, '/oauth/token', { grant_type: 'client_credentials', scope: 'incidents:read' }, basic(client.clientId, client.secret!));
    assert.equal(narrowed.body.scope, 'incidents:read');
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials', scope: 'mcp:admin' }, basic(client.clientId, client.secret!)), 400, 'invalid_scope');
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials', resource: 'https://x.example/mcp' }, basic(client.clientId, client.secret!)), 400, 'invalid_target');
  });

  it('refuses a wrong secret (basic: with a Basic challenge; post: without) and an unknown client', async () => {
    const client = await addClient(as, { method: 'client_secret_basic', grantTypes: CC, scope: 'incidents:read' });
    const postClient = await addClient(as, { method: 'client_secret_post', grantTypes: CC, scope: 'incidents:read' });
    const wrongBasic = await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic(client.clientId, `${client.secret!}x`));
    assertRefusal(wrongBasic, 401, 'invalid_client');
    assert.match(wrongBasic.headers.get('www-authenticate') ?? '', /^Basic realm="portcullis"/);
    const wrongPost = await post(as, '/oauth/token', { grant_type: 'client_credentials', client_id: postClient.clientId, client_secret: 'wrong' });
    assertRefusal(wrongPost, 401, 'invalid_client');
    assert.equal(wrongPost.headers.get('www-authenticate'), null);
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic('no-such-client', 'secret')), 401, 'invalid_client');
    // Registered for basic, authenticating by post (and the reverse): the registered method only.
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.secret! }), 401, 'invalid_client');
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic(postClient.clientId, postClient.secret!)), 401, 'invalid_client');
    // Basic and a body secret at once.
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials', client_secret: client.secret! }, basic(client.clientId, client.secret!)), 400, 'invalid_request');
    // A body client_id that contradicts the Basic one.
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials', client_id: postClient.clientId }, basic(client.clientId, client.secret!)), 400, 'invalid_request');
  });

  it('refuses public clients and clients not registered for client_credentials', async () => {
    const publicClient = await addClient(as);
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials', client_id: publicClient.clientId }), 400, 'unauthorized_client');
    // Even a public client whose record lists the grant (the handler checks confidentiality itself).
    const odd = await addClient(as, { grantTypes: CC, scope: 'incidents:read' });
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials', client_id: odd.clientId }), 400, 'unauthorized_client');
    const codeClient = await addClient(as, { method: 'client_secret_basic', grantTypes: ['authorization_code'] });
    assertRefusal(await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic(codeClient.clientId, codeClient.secret!)), 400, 'unauthorized_client');
  });
});

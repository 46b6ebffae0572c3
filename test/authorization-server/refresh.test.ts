import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { createEmbeddedVerifier } from '../../src/authorization-server/tokens.js';
import { addClient, addUser, assertNoStore, assertRefusal, exchange, issueCode, liveGrants, refresh, startServer, type TestServer } from './helpers.js';

/** A user, a public client, and the tokens of one code exchange. */
async function family(as: TestServer, scopes?: readonly string[]) {
  const user = await addUser(as);
  const client = await addClient(as);
  const result = await exchange(as, client.clientId, await issueCode(as, client.clientId, user.id, scopes ? { scopes } : {}));
  assert.equal(result.status, 200, result.text);
  return { user, clientId: client.clientId, refreshToken: result.body.refresh_token as string };
}

describe('token endpoint: refresh_token (grace 30 s)', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer({ refreshGraceSeconds: 30 });
  });
  after(() => as.close());

  it('rotates on every use; oauth4webapi validates the responses', async () => {
    const { clientId, refreshToken, user } = await family(as);
    const issuer = new URL(as.issuer);
    const options = { [oauth.allowInsecureRequests]: true };
    const server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options));
    const client: oauth.Client = { client_id: clientId };
    const first = await oauth.processRefreshTokenResponse(server, client, await oauth.refreshTokenGrantRequest(server, client, oauth.None(), refreshToken, options));
    assert.ok(first.refresh_token && first.refresh_token !== refreshToken);
    const second = await oauth.processRefreshTokenResponse(server, client, await oauth.refreshTokenGrantRequest(server, client, oauth.None(), first.refresh_token, options));
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token);
    const auth = await createEmbeddedVerifier(as.ctx).verify(second.access_token);
    assert.equal(auth.subject, user.id);
    assert.equal((await liveGrants(as, clientId)).length, 1);
  });

  it('10 concurrent refreshes of one token by its client all get the same successor, in one family', async () => {
    const { clientId, refreshToken } = await family(as);
    const results = await Promise.all(Array.from({ length: 10 }, () => refresh(as, clientId, refreshToken)));
    for (const result of results) {
      assert.equal(result.status, 200, result.text);
      assertNoStore(result);
    }
    const successors = new Set(results.map((r) => r.body.refresh_token));
    assert.equal(successors.size, 1);
    assert.notEqual([...successors][0], refreshToken);
    assert.equal((await liveGrants(as, clientId)).length, 1);
    // The successor is the family's current token: it rotates on.
    const next = await refresh(as, clientId, [...successors][0] as string);
    assert.equal(next.status, 200, next.text);
  });

  it('reuse after the grace period revokes the family; the successor stops working', async () => {
    const { clientId, refreshToken } = await family(as);
    const rotated = await refresh(as, clientId, refreshToken);
    assert.equal(rotated.status, 200);
    as.clock.now += 31;
    try {
      assertRefusal(await refresh(as, clientId, refreshToken), 400, 'invalid_grant');
      assert.equal((await liveGrants(as, clientId)).length, 0);
      assertRefusal(await refresh(as, clientId, rotated.body.refresh_token as string), 400, 'invalid_grant');
    } finally {
      as.clock.now -= 31;
    }
  });

  it('a token two rotations old is reuse even within the grace period', async () => {
    const { clientId, refreshToken } = await family(as);
    const once = await refresh(as, clientId, refreshToken);
    const twice = await refresh(as, clientId, once.body.refresh_token as string);
    assert.equal(twice.status, 200);
    assertRefusal(await refresh(as, clientId, refreshToken), 400, 'invalid_grant');
    assertRefusal(await refresh(as, clientId, twice.body.refresh_token as string), 400, 'invalid_grant');
  });

  it('scope may narrow (for the access token only) and never widen', async () => {
    const { clientId, refreshToken } = await family(as, ['incidents:read', 'incidents:write']);
    const narrowed = await refresh(as, clientId, refreshToken, { scope: 'incidents:read' });
    assert.equal(narrowed.status, 200, narrowed.text);
    assert.equal(narrowed.body.scope, 'incidents:read');
    const auth = await createEmbeddedVerifier(as.ctx).verify(narrowed.body.access_token as string);
    assert.deepEqual(auth.scopes, ['incidents:read']);

    const current = narrowed.body.refresh_token as string;
    assertRefusal(await refresh(as, clientId, current, { scope: 'incidents:read mcp:admin' }), 400, 'invalid_scope');
    assertRefusal(await refresh(as, clientId, current, { scope: 'bad"scope' }), 400, 'invalid_scope');
    // The refused requests did not rotate: the token still works, and the family kept its full scope.
    const full = await refresh(as, clientId, current);
    assert.equal(full.status, 200, full.text);
    assert.equal(full.body.scope, 'incidents:read incidents:write');
  });

  it('resource may only be this server’s', async () => {
    const { clientId, refreshToken } = await family(as);
    assertRefusal(await refresh(as, clientId, refreshToken, { resource: 'https://other.example/mcp' }), 400, 'invalid_target');
    assert.equal((await refresh(as, clientId, refreshToken, { resource: as.ctx.resource })).status, 200);
  });

  it("refuses another client's refresh token without revoking it", async () => {
    const { clientId, refreshToken } = await family(as);
    const other = await addClient(as);
    assertRefusal(await refresh(as, other.clientId, refreshToken), 400, 'invalid_grant');
    assert.equal((await liveGrants(as, clientId)).length, 1);
    assert.equal((await refresh(as, clientId, refreshToken)).status, 200);
  });

  it('refuses unknown tokens, expired families, and clients not registered for refresh_token', async () => {
    const { clientId, refreshToken } = await family(as);
    assertRefusal(await refresh(as, clientId, 'not-a-token'), 400, 'invalid_grant');
    const noRefresh = await addClient(as, { grantTypes: ['authorization_code'] });
    assertRefusal(await refresh(as, noRefresh.clientId, refreshToken), 400, 'unauthorized_client');
    as.clock.now += as.ctx.refreshTokenTtl + 1;
    try {
      assertRefusal(await refresh(as, clientId, refreshToken), 400, 'invalid_grant');
    } finally {
      as.clock.now -= as.ctx.refreshTokenTtl + 1;
    }
  });
});

describe('token endpoint: refresh_token with the grace period off', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer({ refreshGraceSeconds: 0 });
  });
  after(() => as.close());

  it('a second use of a rotated token revokes the family at once', async () => {
    const { clientId, refreshToken } = await family(as);
    const rotated = await refresh(as, clientId, refreshToken);
    assert.equal(rotated.status, 200);
    assertRefusal(await refresh(as, clientId, refreshToken), 400, 'invalid_grant');
    assert.equal((await liveGrants(as, clientId)).length, 0);
    assertRefusal(await refresh(as, clientId, rotated.body.refresh_token as string), 400, 'invalid_grant');
  });
});

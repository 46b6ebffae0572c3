import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { OAuth2Server } from 'oauth2-mock-server';
import { cachedVerifier } from '../../src/verifiers/cache.js';
import { DiscoveryError, discoverIssuer, oktaIssuer, resolveJwksUri } from '../../src/verifiers/discovery.js';
import { createJwtVerifier } from '../../src/verifiers/jwt.js';
import { assertRefused, sendJson, TestServer } from './helpers.js';

const AUDIENCE = 'http://127.0.0.1:9001/mcp';

describe('discovery against oauth2-mock-server, and its tokens through the JWT verifier', () => {
  const idp = new OAuth2Server();
  let issuer: string;

  before(async () => {
    await idp.issuer.keys.generate('RS256');
    await idp.start(0, '127.0.0.1');
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    idp.issuer.url = issuer;
    // Shape its tokens like an Okta custom authorization server's (cid, scp array), from the real request.
    idp.service.on('beforeTokenSigning', (token, req) => {
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const clientId = basic ? Buffer.from(basic, 'base64').toString().split(':')[0] : undefined;
      const scope = typeof token.payload.scope === 'string' ? token.payload.scope : '';
      Object.assign(token.payload, { cid: clientId, sub: token.payload.sub ?? clientId, scp: scope.split(' ').filter(Boolean) });
    });
  });
  after(() => idp.stop());

  async function fetchToken(scope: string, aud = AUDIENCE): Promise<string> {
    const response = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('machine-client:secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope, aud }),
    });
    assert.equal(response.status, 200);
    return ((await response.json()) as { access_token: string }).access_token;
  }

  it('finds the JWKS by discovery (OIDC, after the RFC 8414 document is not found)', async () => {
    assert.equal(await resolveJwksUri(issuer), `${issuer}/jwks`);
    const metadata = await discoverIssuer(issuer);
    assert.equal(metadata.issuer, issuer);
    assert.equal(metadata.token_endpoint, `${issuer}/token`);
  });

  it('accepts the tokens it issues, and refuses them for another audience', async () => {
    const verifier = cachedVerifier(createJwtVerifier({ issuer, audience: AUDIENCE, jwksUri: await resolveJwksUri(issuer), provider: 'okta' }));
    const auth = await verifier.verify(await fetchToken('incidents:read incidents:write'));
    assert.equal(auth.subject, 'machine-client');
    assert.equal(auth.clientId, 'machine-client');
    assert.deepEqual(auth.scopes, ['incidents:read', 'incidents:write']);
    assert.equal(auth.issuer, issuer);
    const elsewhere = await fetchToken('incidents:read', 'https://another-api.example.com');
    await assertRefused(verifier.verify(elsewhere), 'invalid_token', 401, elsewhere, /not meant for this resource/);
  });

  it('refuses its tokens when the configured issuer differs (even by a trailing slash)', async () => {
    const token = await fetchToken('incidents:read');
    const verifier = createJwtVerifier({ issuer: `${issuer}/`, audience: AUDIENCE, jwksUri: `${issuer}/jwks`, provider: 'okta' });
    await assertRefused(verifier.verify(token), 'invalid_token', 401, token, /authorization server/);
    await assert.rejects(resolveJwksUri(`${issuer}/`), (err: Error) => err instanceof DiscoveryError && /configure exactly that/.test(err.message));
  });
});

describe('discovery rules', () => {
  const requests: string[] = [];
  let documents: Record<string, Record<string, unknown>> = {};
  const server = new TestServer((req, res) => {
    requests.push(req.url ?? '');
    const doc = documents[req.url ?? ''];
    if (doc) sendJson(res, 200, doc);
    else sendJson(res, 404, { error: 'not_found' });
  });
  before(() => server.start());
  after(() => server.stop());

  it('tries RFC 8414 first, with the well-known path inserted before the issuer path', async () => {
    const issuer = `${server.url}/tenants/acme`;
    documents = { '/.well-known/oauth-authorization-server/tenants/acme': { issuer, jwks_uri: `${server.url}/tenants/acme/keys` } };
    requests.length = 0;
    assert.equal(await resolveJwksUri(issuer), `${server.url}/tenants/acme/keys`);
    assert.deepEqual(requests, ['/.well-known/oauth-authorization-server/tenants/acme']);
  });

  it('falls back to OpenID Connect discovery appended to the issuer path', async () => {
    const issuer = `${server.url}/oauth2/default`;
    documents = { '/oauth2/default/.well-known/openid-configuration': { issuer, jwks_uri: `${server.url}/oauth2/default/v1/keys` } };
    requests.length = 0;
    assert.equal(await resolveJwksUri(issuer), `${server.url}/oauth2/default/v1/keys`);
    assert.deepEqual(requests, ['/.well-known/oauth-authorization-server/oauth2/default', '/oauth2/default/.well-known/openid-configuration']);
  });

  it('refuses a document for another issuer, and reports both attempts', async () => {
    const issuer = `${server.url}/a`;
    documents = { '/.well-known/oauth-authorization-server/a': { issuer: `${server.url}/b`, jwks_uri: `${server.url}/keys` } };
    await assert.rejects(resolveJwksUri(issuer), (err: Error) => {
      assert.ok(err instanceof DiscoveryError);
      assert.match(err.message, /RFC 8414 metadata: .*issuer/);
      assert.match(err.message, /OpenID Connect metadata: HTTP 404/);
      return true;
    });
  });

  it('refuses metadata without a usable jwks_uri', async () => {
    const issuer = `${server.url}/c`;
    documents = { '/.well-known/oauth-authorization-server/c': { issuer } };
    await assert.rejects(resolveJwksUri(issuer), /publishes no jwks_uri/);
    documents = { '/.well-known/oauth-authorization-server/c': { issuer, jwks_uri: 'http://keys.example.com/jwks' } };
    await assert.rejects(resolveJwksUri(issuer), /unusable jwks_uri: jwks_uri must use https/);
  });

  it('reports an unreachable issuer, and refuses plain http to a remote host before any request', async () => {
    const closed = await new TestServer(() => undefined).start();
    await closed.stop();
    await assert.rejects(resolveJwksUri(closed.url), (err: Error) => err instanceof DiscoveryError && /Cannot discover/.test(err.message));
    await assert.rejects(resolveJwksUri('http://idp.example.com'), /issuer must use https/);
  });
});

describe('oktaIssuer', () => {
  it('builds the custom authorization server issuer', () => {
    assert.equal(oktaIssuer('dev-123456.okta.com'), 'https://dev-123456.okta.com/oauth2/default');
    assert.equal(oktaIssuer('https://Dev-123456.okta.com/', 'aus1a2b3c4'), 'https://dev-123456.okta.com/oauth2/aus1a2b3c4');
  });

  it('refuses what is not a host or an id', () => {
    assert.throws(() => oktaIssuer('dev-1.okta.com/oauth2/default'), /OKTA_DOMAIN must be a host name/);
    assert.throws(() => oktaIssuer(''), /OKTA_DOMAIN must be a non-empty string/);
    assert.throws(() => oktaIssuer('dev-1.okta.com', '../admin'), /OKTA_AUTH_SERVER_ID/);
  });
});

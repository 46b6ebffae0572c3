import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { JWKS_CACHE_CONTROL } from '../../src/authorization-server/keys.js';
import { get, post, startServer, type TestServer } from './helpers.js';

describe('discovery (RFC 8414, OIDC Discovery) and JWKS', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer();
  });
  after(() => as.close());

  it('publishes the RFC 8414 document with every endpoint and capability', async () => {
    const result = await get(as, '/.well-known/oauth-authorization-server');
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('content-type'), 'application/json');
    assert.equal(result.headers.get('access-control-allow-origin'), '*');
    assert.match(result.headers.get('cache-control') ?? '', /^public, max-age=\d+$/);
    const i = as.issuer;
    assert.deepEqual(result.body, {
      issuer: i,
      authorization_endpoint: `${i}/oauth/authorize`,
      token_endpoint: `${i}/oauth/token`,
      registration_endpoint: `${i}/oauth/register`,
      revocation_endpoint: `${i}/oauth/revoke`,
      introspection_endpoint: `${i}/oauth/introspect`,
      userinfo_endpoint: `${i}/oauth/userinfo`,
      jwks_uri: `${i}/.well-known/jwks.json`,
      scopes_supported: ['incidents:read', 'incidents:write', 'mcp:admin'],
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
      client_id_metadata_document_supported: true,
    });
  });

  it('publishes the OIDC document with the identical issuer and endpoints, and no ID-token claims', async () => {
    const oauthDoc = (await get(as, '/.well-known/oauth-authorization-server')).body;
    const oidc = await get(as, '/.well-known/openid-configuration');
    assert.equal(oidc.status, 200);
    for (const [key, value] of Object.entries(oauthDoc)) assert.deepEqual(oidc.body[key], value, key);
    assert.deepEqual(oidc.body.subject_types_supported, ['public']);
    assert.equal(oidc.body.id_token_signing_alg_values_supported, undefined);
    assert.ok(!(oidc.body.issuer as string).endsWith('/'));
  });

  it('passes oauth4webapi discovery validation for both documents', async () => {
    const issuer = new URL(as.issuer);
    for (const algorithm of ['oauth2', 'oidc'] as const) {
      const server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm, [oauth.allowInsecureRequests]: true }));
      assert.equal(server.issuer, as.issuer);
    }
  });

  it('answers 404 (never 5xx) for path-suffixed well-known forms of an issuer we are not', async () => {
    for (const path of ['/.well-known/oauth-authorization-server/mcp', '/.well-known/openid-configuration/tenant', '/.well-known/oauth-authorization-server/a/b']) {
      const result = await get(as, path);
      assert.equal(result.status, 404, path);
      assert.equal(result.body.error, 'not_found');
    }
    // The authorization endpoint is delegated, at /oauth/authorize and the 2025-03-26 root fallback.
    for (const path of ['/oauth/authorize', '/authorize']) {
      const result = await get(as, path);
      assert.equal(result.headers.get('x-unrouted'), null, path);
    }
    // Paths that are not the authorization server's are left to the caller.
    for (const path of ['/mcp', '/.well-known/oauth-protected-resource', '/oauth', '/oauth/other']) {
      const result = await get(as, path);
      assert.equal(result.headers.get('x-unrouted'), '1', path);
    }
  });

  it('refuses methods other than GET on the documents', async () => {
    const result = await post(as, '/.well-known/oauth-authorization-server', '');
    assert.equal(result.status, 405);
    assert.equal(result.headers.get('allow'), 'GET, HEAD');
  });

  it('answers CORS preflights of the JSON endpoints', async () => {
    const response = await fetch(`${as.origin}/oauth/token`, { method: 'OPTIONS', headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST' } });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  });

  it('publishes the public signing keys only, cacheably', async () => {
    const result = await get(as, '/.well-known/jwks.json');
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('cache-control'), JWKS_CACHE_CONTROL);
    const keys = result.body.keys as Array<Record<string, unknown>>;
    assert.ok(keys.length >= 1);
    for (const key of keys) {
      assert.equal(key.kty, 'EC');
      assert.equal(key.d, undefined);
      assert.equal(typeof key.kid, 'string');
    }
  });
});

describe('discovery for an issuer with a path', () => {
  let as: TestServer;
  before(async () => {
    as = await startServer({ issuerPath: '/tenant' });
  });
  after(() => as.close());

  it('serves the three forms MCP 2025-11-25 clients try, plus the root documents for 2025-03-26 clients', async () => {
    for (const path of ['/.well-known/oauth-authorization-server/tenant', '/.well-known/openid-configuration/tenant', '/tenant/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const result = await get(as, path);
      assert.equal(result.status, 200, path);
      assert.equal(result.body.issuer, `${as.origin}/tenant`);
      assert.equal(result.body.token_endpoint, `${as.origin}/tenant/oauth/token`);
    }
    const issuer = new URL(as.issuer);
    const server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
    assert.equal(server.issuer, as.issuer);
    assert.equal((await get(as, '/tenant/.well-known/jwks.json')).status, 200);
    assert.equal((await post(as, '/tenant/oauth/token', {})).body.error, 'invalid_request');
  });
});

/**
 * `mcp_oauth_check_compliance`, its two halves: `judgeRequirements` on observations built by hand (one
 * broken requirement at a time), and `observe` against a real HTTP server shaped by the test (discovery
 * order, origin restriction, redirects, timeouts, size cap). The whole tool against a real `serve` is in
 * test/e2e/oauth-admin.test.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { authorizationServerMetadataUrls, observe, type Observations } from '../../src/apps/oauth-admin/lib/observe.js';
import { createProbe, type ProbeResponse } from '../../src/apps/oauth-admin/lib/probe.js';
import { judgeRequirements } from '../../src/apps/oauth-admin/lib/requirements.js';

const ORIGIN = 'https://mcp.example.com';
const RESOURCE = `${ORIGIN}/mcp`;
const PRM_URL = `${ORIGIN}/.well-known/oauth-protected-resource/mcp`;

function response(url: string, status: number, json?: unknown, headers: Record<string, string> = {}, method = 'GET'): ProbeResponse {
  return { url, method, status, headers: new Headers(headers), json };
}

const AS_DOCUMENT = {
  issuer: ORIGIN,
  authorization_endpoint: `${ORIGIN}/oauth/authorize`,
  token_endpoint: `${ORIGIN}/oauth/token`,
  registration_endpoint: `${ORIGIN}/oauth/register`,
  jwks_uri: `${ORIGIN}/.well-known/jwks.json`,
  response_types_supported: ['code'],
  code_challenge_methods_supported: ['S256'],
  authorization_response_iss_parameter_supported: true,
  client_id_metadata_document_supported: true,
};

/** What a compliant server shows; `change` breaks one thing. */
function observations(change: (o: { -readonly [K in keyof Observations]: Observations[K] }) => void = () => {}): Observations {
  const prm = { resource: RESOURCE, authorization_servers: [ORIGIN], scopes_supported: ['incidents:read'] };
  const o = {
    resource: RESOURCE,
    issuer: ORIGIN,
    prm: { suffixed: response(PRM_URL, 200, prm), root: response(`${ORIGIN}/.well-known/oauth-protected-resource`, 200, prm) },
    challenge: response(RESOURCE, 401, { error: 'invalid_token' }, { 'www-authenticate': `Bearer resource_metadata="${PRM_URL}", scope="incidents:read"` }, 'POST'),
    missing: [response(`${ORIGIN}/.well-known/oauth-protected-resource/x`, 404), response(`${ORIGIN}/.well-known/oauth-authorization-server/x`, 404)],
    asMetadata: [response(`${ORIGIN}/.well-known/oauth-authorization-server`, 200, { ...AS_DOCUMENT })],
  };
  change(o);
  return o;
}

function failures(o: Observations): Record<string, string> {
  return Object.fromEntries(judgeRequirements(o).filter((r) => r.status === 'fail').map((r) => [r.id, r.detail]));
}

function asDocument(change: Record<string, unknown>): (o: { asMetadata: readonly ProbeResponse[] }) => void {
  return (o) => {
    o.asMetadata = [response(`${ORIGIN}/.well-known/oauth-authorization-server`, 200, { ...AS_DOCUMENT, ...change })];
  };
}

/** The requirements that cannot be judged without authorization server metadata. */
const NO_AS = Object.fromEntries(['as-issuer', 'as-response-type-code', 'as-pkce-s256', 'as-endpoints', 'as-client-registration', 'as-iss-parameter'].map((id) => [id, /see as-metadata/]));

describe('judgeRequirements', () => {
  it('a compliant server passes every requirement, each with a detail and a reference', () => {
    const requirements = judgeRequirements(observations());
    assert.deepEqual(requirements.map((r) => r.id), [
      'prm-path', 'prm-root', 'prm-resource', 'prm-authorization-servers', 'www-authenticate', 'well-known-404',
      'as-metadata', 'as-issuer', 'as-response-type-code', 'as-pkce-s256', 'as-endpoints', 'as-client-registration', 'as-iss-parameter', 'https',
    ]);
    for (const r of requirements) {
      assert.equal(r.status, 'pass', `${r.id}: ${r.detail}`);
      assert.ok(r.detail.length > 0 && r.requirement.length > 0);
      assert.match(r.reference, /^https:\/\/(modelcontextprotocol\.io\/specification\/2025-11-25\/basic\/authorization#|www\.rfc-editor\.org\/rfc\/rfc\d+#section-)/);
    }
  });

  const broken: [string, Parameters<typeof observations>[0], Record<string, RegExp>][] = [
    ['PKCE S256 missing', asDocument({ code_challenge_methods_supported: ['plain'] }), { 'as-pkce-s256': /\["plain"\]/ }],
    ['PKCE not advertised at all', asDocument({ code_challenge_methods_supported: undefined }), { 'as-pkce-s256': /absent/ }],
    ['no code response type', asDocument({ response_types_supported: ['token'] }), { 'as-response-type-code': /token/ }],
    ['issuer with a trailing slash', asDocument({ issuer: `${ORIGIN}/` }), { 'as-issuer': /says "https:\/\/mcp\.example\.com\/"/ }],
    ['no way to register', asDocument({ registration_endpoint: undefined, client_id_metadata_document_supported: false }), { 'as-client-registration': /pre-registered/ }],
    ['no RFC 9207 iss', asDocument({ authorization_response_iss_parameter_supported: undefined }), { 'as-iss-parameter': /null/ }],
    ['no token endpoint', asDocument({ token_endpoint: undefined }), { 'as-endpoints': /token_endpoint/ }],
    ['a plain-http endpoint off loopback', asDocument({ token_endpoint: 'http://mcp.example.com/oauth/token' }), { https: /token_endpoint http:\/\/mcp\.example\.com/ }],
    ['the PRM names another resource', (o) => { o.prm = { ...o.prm, root: response(o.prm.root.url, 200, { resource: `${ORIGIN}/`, authorization_servers: [ORIGIN] }) }; }, { 'prm-resource': /names resource "https:\/\/mcp\.example\.com\/"/ }],
    ['no root PRM', (o) => { o.prm = { ...o.prm, root: response(o.prm.root.url, 404) }; }, { 'prm-root': /→ 404/ }],
    ['PRM served as HTML', (o) => { o.prm = { ...o.prm, suffixed: response(PRM_URL, 200, undefined) }; }, { 'prm-path': /not a JSON object/, 'www-authenticate': /does not serve the metadata \(.*not a JSON object\)/ }],
    ['empty authorization_servers (so no AS metadata is fetched)', (o) => {
      const prm = { resource: RESOURCE, authorization_servers: [] };
      o.prm = { suffixed: response(PRM_URL, 200, prm), root: response(o.prm.root.url, 200, prm) };
      o.asMetadata = [];
      o.asSkipped = 'the protected resource metadata names no authorization server';
    }, { 'prm-authorization-servers': /empty/, 'as-metadata': /names no authorization server/, ...NO_AS }],
    ['a challenge without resource_metadata', (o) => { o.challenge = response(RESOURCE, 401, {}, { 'www-authenticate': 'Bearer realm="mcp"' }, 'POST'); }, { 'www-authenticate': /no resource_metadata/ }],
    ['a challenge naming a foreign metadata URL', (o) => { o.challenge = response(RESOURCE, 401, {}, { 'www-authenticate': 'Bearer resource_metadata="https://evil.example/prm"' }, 'POST'); }, { 'www-authenticate': /not one of this server's metadata URLs/ }],
    ['no 401 at all', (o) => { o.challenge = response(RESOURCE, 200, {}, {}, 'POST'); }, { 'www-authenticate': /→ 200/ }],
    ['a 500 for a missing well-known path', (o) => { o.missing = [response(`${ORIGIN}/.well-known/oauth-authorization-server/x`, 500)]; }, { 'well-known-404': /→ 500/ }],
    ['AS metadata not found', (o) => { o.asMetadata = [response(`${ORIGIN}/.well-known/oauth-authorization-server`, 404), response(`${ORIGIN}/.well-known/openid-configuration`, 404)]; }, {
      'as-metadata': /oauth-authorization-server → 404; GET .*openid-configuration → 404/, ...NO_AS,
    }],
  ];
  for (const [name, change, expected] of broken) {
    it(`reports exactly what is broken: ${name}`, () => {
      const failed = failures(observations(change));
      assert.deepEqual(Object.keys(failed).sort(), Object.keys(expected).sort(), JSON.stringify(failed, null, 2));
      for (const [id, detail] of Object.entries(expected)) assert.match(failed[id]!, detail, id);
    });
  }
});

describe('observe, against a real server', () => {
  let server: http.Server;
  let origin: string;
  const requests: string[] = [];
  /** Per path: status, body, headers, or 'hang'. */
  const routes = new Map<string, { status: number; body?: unknown; headers?: Record<string, string> } | 'hang'>();
  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      const route = routes.get(req.url ?? '/');
      if (route === 'hang') return;
      if (!route) return void res.writeHead(404).end();
      const body = typeof route.body === 'string' ? route.body : JSON.stringify(route.body ?? {});
      res.writeHead(route.status, { 'content-type': 'application/json', ...route.headers }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));

  function shape(issuer: string, prmIssuer = issuer): void {
    routes.clear();
    requests.length = 0;
    const prm = { resource: `${origin}/mcp`, authorization_servers: [prmIssuer] };
    routes.set('/.well-known/oauth-protected-resource/mcp', { status: 200, body: prm });
    routes.set('/.well-known/oauth-protected-resource', { status: 200, body: prm });
    routes.set('/mcp', { status: 401, headers: { 'www-authenticate': `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` } });
  }

  it('follows the MCP discovery order for an issuer with a path, and passes', async () => {
    const issuer = `${origin}/tenant1`;
    shape(issuer);
    routes.set('/tenant1/.well-known/openid-configuration', { status: 200, body: { ...AS_DOCUMENT, issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, registration_endpoint: undefined, jwks_uri: undefined } });
    const seen = await observe({ resource: `${origin}/mcp`, issuer, fetch, timeoutMs: 2000 });
    assert.deepEqual(seen.asMetadata.map((r) => `${r.url} ${r.status}`), authorizationServerMetadataUrls(issuer).map((url, i) => `${url} ${i < 2 ? 404 : 200}`));
    assert.deepEqual(authorizationServerMetadataUrls(issuer), [
      `${origin}/.well-known/oauth-authorization-server/tenant1`, `${origin}/.well-known/openid-configuration/tenant1`, `${origin}/tenant1/.well-known/openid-configuration`,
    ]);
    assert.equal(seen.challenge.status, 401);
    assert.ok(requests.includes('POST /mcp'));
    assert.deepEqual(seen.missing.map((r) => r.status), [404, 404, 404]);
    assert.deepEqual(failures(seen), {});
  });

  it('never fetches an authorization server the configuration does not name', async () => {
    shape(origin, 'http://169.254.169.254/latest');
    const seen = await observe({ resource: `${origin}/mcp`, issuer: origin, fetch, timeoutMs: 2000 });
    assert.deepEqual(seen.asMetadata, []);
    assert.match(seen.asSkipped!, /names http:\/\/169\.254\.169\.254\/latest, not the configured issuer/);
    assert.ok(!requests.some((r) => r.includes('oauth-authorization-server') && !r.includes('portcullis-probe')), requests.join('\n'));
    assert.match(failures(seen)['as-metadata']!, /not fetched/);
  });

  it('a probe: only its origins, no redirects followed, a timeout, a size cap', async () => {
    routes.clear();
    routes.set('/redirect', { status: 302, headers: { location: `${origin}/target` } });
    routes.set('/hang', 'hang');
    routes.set('/big', { status: 200, body: JSON.stringify({ pad: 'x'.repeat(5000) }) });
    requests.length = 0;
    const probe = createProbe({ fetch, origins: [origin], timeoutMs: 300, maxBytes: 1000 });

    const foreign = await probe('http://127.0.0.2:1/anything');
    assert.equal(foreign.status, 0);
    assert.match(foreign.error!, /not fetched/);
    const redirect = await probe(`${origin}/redirect`);
    assert.equal(redirect.status, 302);
    assert.ok(!requests.includes('GET /target'), 'the redirect was not followed');
    const hang = await probe(`${origin}/hang`);
    assert.equal(hang.status, 0);
    assert.match(hang.error!, /no answer within 300 ms/);
    const big = await probe(`${origin}/big`);
    assert.equal(big.json, undefined);
    assert.match(big.error!, /larger than 1000 bytes/);
  });
});

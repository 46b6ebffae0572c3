/**
 * Every refusal of the resource server over real HTTP against the real `serve` process: status, error
 * code, `WWW-Authenticate`, and that the protected tool did not run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { startIssuer, type TestIssuer } from '../helpers/issuer.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

let issuer: TestIssuer;
let serve: ServeProcess;
let metadataUrl: string;
let port: number;

before(async () => {
  issuer = await startIssuer();
  serve = await startServe(['--issuer', issuer.issuer, '--store', 'memory:']);
  metadataUrl = new URL('/.well-known/oauth-protected-resource/mcp', serve.url).href;
  port = Number(new URL(serve.url).port);
});
after(async () => {
  await serve?.stop();
  await issuer?.close();
});

const token = (claims: Record<string, unknown> = {}, options?: Parameters<TestIssuer['sign']>[1]): Promise<string> =>
  issuer.sign({ sub: 'bob', client_id: 'cli', scope: 'incidents:read incidents:write', aud: serve.url, ...claims }, options);

function rest(path: string, bearer: string | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (bearer) headers.set('authorization', `Bearer ${bearer}`);
  return fetch(new URL(path, serve.url), { ...init, headers });
}

async function incidentCount(): Promise<number> {
  const res = await rest('/mcp/tools/call/list_incidents?limit=100', await token());
  assert.equal(res.status, 200);
  return ((await res.json()) as { structuredContent: { incidents: unknown[] } }).structuredContent.incidents.length;
}

const createArgs = { title: 'Queue backlog', description: 'orders queue at 10k', severity: 'medium', service: 'orders' };

describe('401: no or bad token', () => {
  it('no token: a bare challenge with the metadata URL and the basic scope, no error code', async () => {
    const res = await rest('/mcp/tools', undefined);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl}", scope="incidents:read"`);
    assert.equal(res.headers.get('cache-control'), 'no-store');
  });

  const bad: [string, () => Promise<string>][] = [
    ['expired beyond the skew', () => token({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 })],
    ['for another audience', () => token({ aud: 'https://other.example/mcp' })],
    ['from another issuer', () => token({ iss: 'https://evil.example' })],
    ['not a JWT', async () => 'abc.def.ghi'],
    ['signed with HS256 (algorithm not configured)', async () => new SignJWT({ sub: 'bob', aud: serve.url, iss: issuer.issuer }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(32)))],
    ['signed by an unknown key', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      return new SignJWT({ sub: 'bob', aud: serve.url }).setProtectedHeader({ alg: 'ES256', kid: 'test-key' }).setIssuer(issuer.issuer).setExpirationTime('1h').sign(privateKey);
    }],
  ];
  for (const [name, make] of bad) {
    it(`a token ${name}: invalid_token, and create_incident does not run`, async () => {
      const count = await incidentCount();
      const res = await rest('/mcp/tools/call/create_incident', await make(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(createArgs) });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate')!, new RegExp(`^Bearer resource_metadata="${metadataUrl}", error="invalid_token", error_description="[^"]+"$`));
      assert.equal(((await res.json()) as { error: string }).error, 'invalid_token');
      assert.equal(await incidentCount(), count);
    });
  }
});

describe('400: malformed requests (RFC 6750 invalid_request)', () => {
  const cases: [string, string[]][] = [
    ['"Bearer x junk"', ['POST /mcp HTTP/1.1', 'Authorization: Bearer x junk']],
    ['two Authorization headers', ['POST /mcp HTTP/1.1', 'Authorization: Bearer a', 'Authorization: Bearer b']],
    ['a token in the query string', ['POST /mcp?access_token=abc HTTP/1.1']],
  ];
  for (const [name, lines] of cases) {
    it(name, async () => {
      const [first, ...rest] = lines;
      const res = await rawRequest(port, [first!, `Host: 127.0.0.1:${port}`, 'Content-Type: application/json', 'Accept: application/json, text/event-stream', ...rest], '{"jsonrpc":"2.0","id":1,"method":"ping"}');
      assert.equal(res.status, 400);
      assert.match(res.headers['www-authenticate']!, /error="invalid_request"/);
      assert.equal(JSON.parse(res.body).error, 'invalid_request');
    });
  }
});

describe('403: insufficient_scope, checked before the tool runs', () => {
  it('over MCP: create_incident with a read-only token', async () => {
    const readOnly = await token({ scope: 'incidents:read' });
    const init = await mcp(readOnly, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    assert.equal(init.status, 200);
    const session = init.headers.get('mcp-session-id')!;
    const count = await incidentCount();
    const res = await mcp(readOnly, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_incident', arguments: createArgs } }, session);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl}", error="insufficient_scope", error_description="The access token lacks a required scope", scope="incidents:write incidents:read"`);
    assert.equal(await incidentCount(), count);
  });

  it('over REST: the same 403, and a token with no incidents scope asks for exactly what the tool needs', async () => {
    const count = await incidentCount();
    const res = await rest('/mcp/tools/call', await token({ scope: 'profile' }), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'create_incident', arguments: createArgs }) });
    assert.equal(res.status, 403);
    assert.match(res.headers.get('www-authenticate')!, /error="insufficient_scope", error_description="[^"]+", scope="incidents:write"$/);
    assert.equal(await incidentCount(), count);
  });

  it('with the scope, the same call creates the incident as the token subject', async () => {
    const count = await incidentCount();
    const res = await rest('/mcp/tools/call/create_incident', await token(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(createArgs) });
    assert.equal(res.status, 200);
    assert.match(JSON.stringify(await res.json()), /"bob"/);
    assert.equal(await incidentCount(), count + 1);
  });
});

describe('secrets never in a URL', () => {
  it('a REST GET refuses arguments that carry secrets, before the tool runs', async () => {
    const res = await rest('/mcp/tools/call/add?a=1&token=abc', await token());
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_request');
  });
});

describe('403 before authentication: DNS rebinding and foreign origins', () => {
  it('a rebinding Host is refused even without a token', async () => {
    const res = await rawRequest(port, ['POST /mcp HTTP/1.1', 'Host: evil.example.com', 'Content-Type: application/json'], '{}');
    assert.equal(res.status, 403);
    assert.equal(res.headers['www-authenticate'], undefined);
  });

  it('a foreign Origin is refused even with a valid token; a loopback origin gets CORS headers', async () => {
    const evil = await rest('/mcp/tools', await token(), { headers: { origin: 'http://evil.example.com' } });
    assert.equal(evil.status, 403);
    const local = await rest('/mcp/tools', await token(), { headers: { origin: 'http://localhost:6274' } });
    assert.equal(local.status, 200);
    assert.equal(local.headers.get('access-control-allow-origin'), 'http://localhost:6274');
    assert.match(local.headers.get('access-control-expose-headers')!, /WWW-Authenticate/);
  });

  it('answers a CORS preflight without a token', async () => {
    const res = await rest('/mcp', undefined, { method: 'OPTIONS', headers: { origin: 'http://localhost:6274', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, mcp-protocol-version' } });
    assert.equal(res.status, 204);
    assert.match(res.headers.get('access-control-allow-headers')!, /Authorization/);
  });
});

describe('metadata and discovery', () => {
  it('serves RFC 9728 metadata at the suffixed and the root path, readable cross-origin', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const res = await rest(path, undefined, { headers: { origin: 'https://app.example' } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.deepEqual(await res.json(), {
        resource: serve.url,
        authorization_servers: [issuer.issuer],
        scopes_supported: ['incidents:read', 'incidents:write', 'mcp:admin'],
        bearer_methods_supported: ['header'],
        resource_name: 'Portcullis incident tracker',
      });
    }
  });

  it('is a resource server only: no authorization server metadata here', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration', '/oauth/token']) {
      assert.equal((await rest(path, undefined)).status, 404, path);
    }
  });

  it('has public health and readiness endpoints', async () => {
    assert.equal((await rest('/health', undefined)).status, 200);
    assert.equal((await rest('/ready', undefined)).status, 200);
  });
});

describe('logs', () => {
  it('one line per request with subject, client, method, target, decision and latency, and never the token', async () => {
    const bearer = await token({ sub: 'carol', client_id: 'log-client' });
    const res = await rest('/mcp/tools/call/add?a=2&b=3', bearer);
    assert.equal(res.status, 200);
    const line = await serve.waitForLog((l) => l.subject === 'carol');
    assert.equal(line.client, 'log-client');
    assert.equal(line.target, 'add');
    assert.equal(line.decision, 'allow');
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.ok(!serve.output().includes(bearer));
  });
});

function mcp(bearer: string, body: unknown, session?: string): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
  if (session) headers['mcp-session-id'] = session;
  return fetch(serve.url, { method: 'POST', headers, body: JSON.stringify(body) });
}

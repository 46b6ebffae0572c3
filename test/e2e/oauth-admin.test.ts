/**
 * The OAuth management tools (scope `mcp:admin`) over real HTTP against the real `serve` process, called
 * with the official MCP client (`@modelcontextprotocol/client`, the bearer token in `requestInit`):
 *
 * - embedded authorization server on SQLite, admin token from `portcullis token --sub admin --scope mcp:admin`:
 *   every tool, a client registered by the tool redeeming client credentials at the token endpoint, the
 *   compliance check passing everything, and a token without `mcp:admin` refused with 403 before any tool runs;
 * - an external issuer whose metadata lacks PKCE S256: the compliance check reports exactly that.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import pino from 'pino';
import { issueAccessToken } from '../../src/authorization-server/tokens.js';
import { openKeyRing } from '../../src/cli/lib/embedded.js';
import { openStore } from '../../src/stores/open.js';
import { ADMIN, callTool as restCall, freePort, runCli, startEmbedded } from '../helpers/embedded-as.js';
import { startIssuer, type TestIssuer } from '../helpers/issuer.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

const TIMEOUT = { timeout: 60_000 };
const TOOLS = [
  'mcp_oauth_protected_resource_metadata', 'mcp_oauth_authorization_server_metadata', 'mcp_oauth_validate_token',
  'mcp_oauth_get_configuration', 'mcp_oauth_register_client', 'mcp_oauth_check_compliance',
];

interface Requirement { id: string; status: 'pass' | 'fail'; detail: string }
type Result = { content: Array<{ type: string; text?: string }>; structuredContent?: Record<string, unknown>; isError?: boolean };

async function connect(serve: ServeProcess, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(serve.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'portcullis-admin-e2e', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Result> {
  return (await client.callTool({ name, arguments: args })) as Result;
}

function structured<T = Record<string, unknown>>(result: Result): T {
  assert.notEqual(result.isError, true, result.content[0]?.text);
  return result.structuredContent as T;
}

async function json(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200, url);
  return response.json();
}

describe('the OAuth management tools with the embedded authorization server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-oauth-admin-'));
  const env = { PORTCULLIS_SECRET: 'e2e-oauth-admin-secret-0123456789abcdef' };
  let serve: ServeProcess;
  let publicUrl: string;
  let store: string;
  let adminToken: string;
  let readToken: string;
  let admin: Client;

  before(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    store = `sqlite:${join(dir, 'portcullis.db')}`;
    serve = await startEmbedded(['--store', store, '--port', String(port), '--public-url', publicUrl], env);
    const mint = async (...args: string[]) => {
      const result = await runCli(['token', '--store', store, '--public-url', publicUrl, ...args], env);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    };
    adminToken = await mint('--sub', ADMIN.username, '--scope', 'mcp:admin');
    readToken = await mint('--sub', ADMIN.username, '--scope', 'incidents:read');
    admin = await connect(serve, adminToken);
  });
  after(async () => {
    await admin?.close();
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the six tools, each needing mcp:admin; scopes_supported has mcp:admin, the bare challenge still asks only incidents:read', TIMEOUT, async () => {
    const { tools } = await admin.listTools();
    const listed = Object.fromEntries(tools.filter((t) => t.name.startsWith('mcp_oauth_')).map((t) => [t.name, t._meta?.['dev.portcullis/scopes']]));
    assert.deepEqual(listed, Object.fromEntries(TOOLS.map((name) => [name, ['mcp:admin']])));
    assert.ok(tools.every((t) => !t.name.startsWith('mcp_oauth_') || t.outputSchema), 'each has an output schema');
    const prm = (await json(`${publicUrl}/.well-known/oauth-protected-resource/mcp`)) as { scopes_supported: string[] };
    assert.deepEqual(prm.scopes_supported, ['incidents:read', 'incidents:write', 'mcp:admin']);
    const bare = await fetch(serve.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(bare.status, 401);
    assert.match(bare.headers.get('www-authenticate')!, /, scope="incidents:read"$/);
  });

  it('the metadata tools return exactly what the well-known URLs serve', TIMEOUT, async () => {
    assert.deepEqual(structured(await call(admin, 'mcp_oauth_protected_resource_metadata')), await json(`${publicUrl}/.well-known/oauth-protected-resource/mcp`));
    assert.deepEqual(structured(await call(admin, 'mcp_oauth_authorization_server_metadata')), await json(`${publicUrl}/.well-known/oauth-authorization-server`));
  });

  it('mcp_oauth_get_configuration: the facts, no secret', TIMEOUT, async () => {
    const result = await call(admin, 'mcp_oauth_get_configuration');
    assert.deepEqual(structured(result), {
      issuer: publicUrl, resource: serve.url, mode: 'embedded', provider: null, token_validation: 'embedded', audience: serve.url,
      scopes_supported: ['incidents:read', 'incidents:write', 'mcp:admin'], required_scopes: [], challenge_scopes: ['incidents:read'],
      access_token_ttl_seconds: 3600, refresh_grace_seconds: 30, store: 'sqlite', private_keys_encrypted: true,
    });
    const all = JSON.stringify(result);
    assert.ok(!all.includes(env.PORTCULLIS_SECRET) && !all.includes(ADMIN.password));
  });

  it('mcp_oauth_validate_token: valid, expired, garbage; the tokens are never in the output or the logs', TIMEOUT, async () => {
    const valid = structured(await call(admin, 'mcp_oauth_validate_token', { token: readToken }));
    assert.equal(valid.active, true);
    assert.equal(valid.subject, decodeJwt(readToken).sub);
    assert.deepEqual(valid.scopes, ['incidents:read']);
    assert.deepEqual(valid.audience, [serve.url]);
    assert.equal(valid.issuer, publicUrl);
    assert.ok(typeof valid.expires_in === 'number' && valid.expires_in > 3500);

    // A token of this server's own key, issued two hours ago: what an old token in a client's cache looks like.
    const logger = pino({ level: 'silent' });
    const opened = await openStore(store, { logger });
    let expired: string;
    try {
      const keys = await openKeyRing({ secret: env.PORTCULLIS_SECRET, accessTokenTtl: 3600 }, opened, logger);
      const past = Math.floor(Date.now() / 1000) - 7200;
      expired = (await issueAccessToken({ issuer: publicUrl, resource: serve.url, keys, accessTokenTtl: 3600, now: () => past }, { subject: 'usr_old', clientId: 'portcullis-cli', scopes: ['incidents:read'] })).token;
    } finally {
      await opened.close();
    }
    assert.deepEqual(structured(await call(admin, 'mcp_oauth_validate_token', { token: expired })), { active: false, reason: 'The access token expired' });
    assert.equal((await restCall(serve, expired, 'get_user_info')).status, 401, 'the guard agrees');
    const garbage = structured(await call(admin, 'mcp_oauth_validate_token', { token: 'eyJub3Q.a.token' }));
    assert.equal(garbage.active, false);
    assert.equal(typeof garbage.reason, 'string');

    await serve.waitForLog((line) => line.target === 'mcp_oauth_validate_token' && line.status === 200);
    for (const token of [readToken, expired]) assert.ok(!serve.output().includes(token), 'no token in the logs');
  });

  it('mcp_oauth_register_client: a client_credentials client whose secret works at the token endpoint', TIMEOUT, async () => {
    const result = await call(admin, 'mcp_oauth_register_client', { client_name: 'nightly report', scope: 'incidents:read' });
    const client = structured<{ client_id: string; client_secret: string; grant_types: string[]; token_endpoint: string }>(result);
    assert.deepEqual(client.grant_types, ['client_credentials']);
    assert.equal(client.token_endpoint, `${publicUrl}/oauth/token`);

    const response = await fetch(client.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: serve.url }).toString(),
    });
    const issued = (await response.json()) as { access_token: string; scope: string };
    assert.equal(response.status, 200, JSON.stringify(issued));
    assert.equal(issued.scope, 'incidents:read');
    assert.equal((await restCall(serve, issued.access_token, 'list_incidents', { limit: 1 })).status, 200);
    const seen = structured(await call(admin, 'mcp_oauth_validate_token', { token: issued.access_token }));
    assert.equal(seen.client_id, client.client_id);

    const listed = await runCli(['clients', 'list', '--json', '--store', store], env);
    const stored = (JSON.parse(listed.stdout) as Array<{ client_id: string; origin: string }>).find((c) => c.client_id === client.client_id);
    assert.equal(stored?.origin, 'admin');
    assert.ok(!serve.output().includes(client.client_secret), 'the secret is not logged');
  });

  it('mcp_oauth_check_compliance: every requirement passes', TIMEOUT, async () => {
    const report = structured<{ requirements: Requirement[]; summary: { total: number; passed: number; failed: number } }>(await call(admin, 'mcp_oauth_check_compliance'));
    assert.deepEqual(report.requirements.filter((r) => r.status === 'fail'), []);
    assert.deepEqual(report.summary, { total: 14, passed: 14, failed: 0 });
  });

  it('a token without mcp:admin: 403 insufficient_scope naming mcp:admin, and the tool does not run', TIMEOUT, async () => {
    const clients = async () => (JSON.parse((await runCli(['clients', 'list', '--json', '--store', store], env)).stdout) as unknown[]).length;
    const before = await clients();
    const refused = await restCall(serve, readToken, 'mcp_oauth_register_client', { client_name: 'sneaky' });
    assert.equal(refused.status, 403);
    assert.equal(refused.result.error, 'insufficient_scope');
    assert.match(refused.challenge!, /error="insufficient_scope"/);
    assert.deepEqual(/scope="([^"]*)"/.exec(refused.challenge!)![1]!.split(' ').sort(), ['incidents:read', 'mcp:admin'], 'the needed scope plus the held one');

    const reader = await connect(serve, readToken);
    try {
      // The SDK surfaces the 403 challenge as its step-up error (there is no auth provider to step up with).
      await assert.rejects(reader.callTool({ name: 'mcp_oauth_register_client', arguments: { client_name: 'sneaky' } }), { name: 'InsufficientScopeError', message: /mcp:admin/ });
      assert.equal((await reader.callTool({ name: 'list_incidents', arguments: { limit: 1 } })).isError, undefined, 'the same client may call what its scope allows');
    } finally {
      await reader.close();
    }
    assert.equal(await clients(), before, 'no client was registered');
    await serve.waitForLog((line) => line.target === 'mcp_oauth_register_client' && line.decision === 'insufficient_scope');
  });
});

describe('the OAuth management tools with an external issuer', () => {
  let issuer: TestIssuer;
  let serve: ServeProcess;
  let admin: Client;
  before(async () => {
    // An IdP that does not advertise PKCE (nor registration, nor RFC 9207): MCP clients must refuse it.
    issuer = await startIssuer({ metadata: ({ code_challenge_methods_supported: _dropped, ...rest }) => rest });
    serve = await startServe(['--issuer', issuer.issuer, '--store', 'memory:']);
    admin = await connect(serve, await issuer.sign({ sub: 'ops', client_id: 'ops-console', scope: 'mcp:admin', aud: serve.url }));
  });
  after(async () => {
    await admin?.close();
    await serve?.stop();
    await issuer?.close();
  });

  it('mcp_oauth_check_compliance reports the missing S256, and what else the IdP lacks', TIMEOUT, async () => {
    const report = structured<{ requirements: Requirement[]; summary: { failed: number } }>(await call(admin, 'mcp_oauth_check_compliance'));
    const failed = Object.fromEntries(report.requirements.filter((r) => r.status === 'fail').map((r) => [r.id, r.detail]));
    assert.deepEqual(Object.keys(failed).sort(), ['as-client-registration', 'as-iss-parameter', 'as-pkce-s256']);
    assert.match(failed['as-pkce-s256']!, /code_challenge_methods_supported` is absent/);
    assert.equal(report.summary.failed, 3);
    const metadata = report.requirements.find((r) => r.id === 'as-metadata')!;
    assert.match(metadata.detail, new RegExp(`found at ${issuer.issuer}/.well-known/oauth-authorization-server`));
  });

  it('the other tools: discovered metadata, external configuration, validation by the JWT verifier, no registration here', TIMEOUT, async () => {
    const discovered = structured(await call(admin, 'mcp_oauth_authorization_server_metadata'));
    assert.equal(discovered.issuer, issuer.issuer);
    assert.equal(discovered.code_challenge_methods_supported, undefined);
    const configuration = structured(await call(admin, 'mcp_oauth_get_configuration'));
    assert.equal(configuration.mode, 'external');
    assert.equal(configuration.token_validation, 'jwt');
    assert.equal(configuration.issuer, issuer.issuer);

    const expired = await issuer.sign({ sub: 'bob', aud: serve.url }, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    assert.deepEqual(structured(await call(admin, 'mcp_oauth_validate_token', { token: expired })), { active: false, reason: 'The access token expired' });
    const registration = await call(admin, 'mcp_oauth_register_client', { client_name: 'x' });
    assert.equal(registration.isError, true);
    assert.match(registration.content[0]!.text!, /register clients there/);
  });
});

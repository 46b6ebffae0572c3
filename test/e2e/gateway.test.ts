/**
 * `portcullis proxy` (the gateway) in front of a real Streamable HTTP MCP server that records everything it
 * receives (test/fixtures/recording-backend.ts), each in its own process on loopback, with the official MCP
 * client on the other side:
 *
 * - the whole OAuth flow through the gateway (401 → metadata → registration → login + consent → token),
 *   then initialize, tools/list (every tool, with its scopes from the scope file) and tools/call;
 * - the backend never sees the client's token (no Authorization, Cookie or forwarding header ever), and
 *   sees the caller in `_meta["dev.portcullis/caller"]`, which a client cannot forge; the rest of the
 *   client's `_meta` (progressToken) arrives; the backend's Set-Cookie and challenges never reach the client;
 * - a 403 step-up for a tool the token lacks the scope for, the backend never receiving that call;
 * - sessions bound to the caller (another token with the session id: 404, nothing forwarded);
 * - a backend that refuses the gateway (401/403): 502, its challenge not relayed;
 * - the backend killed mid-call: a JSON-RPC error for the call, /health 200, /ready 503; restarted: the
 *   client initializes again and goes on;
 * - `--backend-token jwt`: the backend gets a gateway-signed JWT (verified here with jose against the
 *   gateway's JWKS), never the client's token;
 * - bad configuration: one line, exit 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { startRecordingBackend, type BackendProcess, type RecordedMessage, type RecordedRequest } from '../helpers/backend-process.js';
import { ADMIN, assertSequence, eventually, freePort, issuerOf, recordingFetch, runCli } from '../helpers/embedded-as.js';
import { mcpPost } from '../helpers/mcp-post.js';
import { UserOAuthProvider } from '../helpers/oauth-user-provider.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';
import { UserAgent } from '../helpers/user-agent.js';

const TIMEOUT = { timeout: 90_000 };
const CALLER = 'dev.portcullis/caller';
const SCOPES = 'dev.portcullis/scopes';
const TOOL_SCOPES = { tools: { 'create_*': ['things:write'], '*': ['things:read'] } };
/** The only headers the backend may receive (`connection` is the gateway's own keep-alive with it). */
const ALLOWED_BACKEND_HEADERS = new Set(['host', 'connection', 'content-type', 'content-length', 'accept', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']);

interface Setup {
  dir: string;
  scopesFile: string;
  backend: BackendProcess;
  backendPort: number;
  gateway: ServeProcess;
  gatewayPort: number;
}

async function startGateway(backend: BackendProcess, dir: string, scopesFile: string, name: string, extra: readonly string[] = []): Promise<{ gateway: ServeProcess; port: number }> {
  const port = await freePort();
  const args = ['--store', `sqlite:${join(dir, `${name}.db`)}`, '--port', String(port), '--backend-url', backend.url, '--tool-scopes', scopesFile, ...extra];
  const gateway = await startServe(args, { PORTCULLIS_ADMIN_PASSWORD: ADMIN.password }, { command: 'proxy' });
  return { gateway, port };
}

/** An access token of the gateway's embedded AS for the CLI client (`portcullis token`, same store and port). */
async function cliToken(setup: Pick<Setup, 'dir' | 'scopesFile'>, name: string, port: number, scope: string): Promise<string> {
  const result = await runCli(['token', '--store', `sqlite:${join(setup.dir, `${name}.db`)}`, '--port', String(port), '--tool-scopes', setup.scopesFile, '--scope', scope]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

function connect(url: string, provider: UserOAuthProvider, recorded: typeof fetch): { client: Client; transport: StreamableHTTPClientTransport } {
  const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider, fetch: recorded });
  return { client: new Client({ name: 'portcullis-gateway-e2e', version: '1.0.0' }), transport };
}

/** The JSON-RPC messages of a response body, JSON or SSE. */
function messagesOf(text: string): Record<string, unknown>[] {
  if (text.startsWith('{')) return [JSON.parse(text) as Record<string, unknown>];
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line.length > 6)
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

/** The `tools/call` messages among the records, optionally only those whose arguments or name mention `word`. */
function toolCalls(records: readonly RecordedRequest[], word?: string): RecordedMessage[] {
  const calls = records.flatMap((r) => r.messages).filter((m) => m.method === 'tools/call');
  return word === undefined ? calls : calls.filter((m) => JSON.stringify({ name: m.params?.['name'], arguments: m.params?.['arguments'] }).includes(word));
}

function assertNoCredentials(records: readonly RecordedRequest[]): void {
  assert.ok(records.length > 0);
  for (const record of records) {
    for (const name of Object.keys(record.headers)) assert.ok(ALLOWED_BACKEND_HEADERS.has(name), `the backend received ${name}: ${JSON.stringify(record.headers)}`);
    assert.equal(record.headers.authorization, undefined);
    assert.equal(record.headers.cookie, undefined);
  }
}

describe('portcullis proxy in front of a Streamable HTTP MCP server (embedded AS)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-gateway-'));
  const scopesFile = join(dir, 'tool-scopes.json');
  let setup: Setup;
  let provider: UserOAuthProvider;
  let exchanges: ReturnType<typeof recordingFetch>['exchanges'];
  let recorded: typeof fetch;
  let client: Client;
  let transport: StreamableHTTPClientTransport;

  before(async () => {
    writeFileSync(scopesFile, JSON.stringify(TOOL_SCOPES));
    const backendPort = await freePort();
    const backend = await startRecordingBackend(backendPort);
    const { gateway, port } = await startGateway(backend, dir, scopesFile, 'gateway');
    setup = { dir, scopesFile, backend, backendPort, gateway, gatewayPort: port };
    // A redirect URI on another host name than the gateway's: the step-up below relies on the login cookie.
    provider = new UserOAuthProvider(new UserAgent(ADMIN), { redirectUrl: 'http://localhost:33431/callback' });
    ({ fetch: recorded, exchanges } = recordingFetch());
  });
  after(async () => {
    await client?.close().catch(() => undefined);
    await setup?.gateway.stop();
    await setup?.backend.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the official client: OAuth through the gateway, initialize, tools/list with scopes, tools/call; the backend sees the caller, never the token', TIMEOUT, async () => {
    const { gateway, backend } = setup;
    let first = connect(gateway.url, provider, recorded);
    await assert.rejects(first.client.connect(first.transport), UnauthorizedError);
    const authorization = provider.authorizationUrls[0]!;
    assert.equal(`${authorization.origin}${authorization.pathname}`, `${issuerOf(gateway)}/oauth/authorize`);
    assert.equal(authorization.searchParams.get('resource'), gateway.url, 'RFC 8707: the resource is the gateway');
    assert.equal(authorization.searchParams.get('scope'), 'things:read', 'the challenge scope comes from the scope file ("*")');
    await first.transport.finishAuth(provider.callback!);
    ({ client, transport } = connect(gateway.url, provider, recorded));
    await client.connect(transport);
    assertSequence(exchanges, [
      'POST /mcp -> 401',
      'GET /.well-known/oauth-protected-resource/mcp -> 200',
      'GET /.well-known/oauth-authorization-server -> 200',
      'POST /oauth/register -> 201',
      'POST /oauth/token -> 200',
      'POST /mcp -> 200',
    ]);
    const metadata = exchanges.find((e) => e.url.pathname === '/.well-known/oauth-protected-resource/mcp')!.json!;
    assert.equal(metadata.resource, gateway.url);
    assert.deepEqual(metadata.scopes_supported, ['things:read', 'things:write']);
    assert.ok(!JSON.stringify(metadata).includes(backend.url), 'the public metadata names no backend');

    // Every backend tool is listed, each with the scopes of the file.
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((t) => [t.name, t._meta?.[SCOPES]]),
      [
        ['echo', ['things:read']],
        ['create_thing', ['things:write']],
        ['hang', ['things:read']],
      ],
    );
    const echoed = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
    assert.deepEqual(echoed.content, [{ type: 'text', text: 'hello' }]);

    const token = provider.tokens()!.access_token;
    const claims = decodeJwt(token);
    const records = await backend.records();
    assertNoCredentials(records);
    const call = toolCalls(records, 'hello').at(-1)!;
    assert.deepEqual(call.meta?.[CALLER], { sub: claims.sub, client_id: claims.client_id, scopes: ['things:read'] });
    const init = records.find((r) => r.messages.some((m) => m.method === 'initialize'))!;
    assert.deepEqual(init.messages[0]!.meta?.[CALLER], { sub: claims.sub, client_id: claims.client_id, scopes: ['things:read'] });

    // The client holds the gateway's session id, the backend its own: they differ, and map 1:1.
    assert.ok(transport.sessionId);
    const backendIds = new Set(records.map((r) => r.headers['mcp-session-id']).filter(Boolean));
    assert.equal(backendIds.size, 1);
    assert.ok(!backendIds.has(transport.sessionId), 'the backend session id is not the one the client holds');
    assert.ok(!gateway.output().includes(token), 'no token in the gateway output');
  });

  it("a client cannot forge the caller: its value is overwritten, progressToken and its other _meta keys arrive, progress comes back", TIMEOUT, async () => {
    const progress: unknown[] = [];
    const result = await client.callTool(
      { name: 'echo', arguments: { text: 'again' }, _meta: { [CALLER]: { sub: 'mallory', client_id: 'evil', scopes: ['things:write'] }, 'example.com/trace': 'abc' } },
      { onprogress: (p) => void progress.push(p) },
    );
    assert.deepEqual(result.content, [{ type: 'text', text: 'again' }]);
    assert.equal(progress.length, 1, 'the progress notification came back through the gateway (SSE)');
    const claims = decodeJwt(provider.tokens()!.access_token);
    const meta = toolCalls(await setup.backend.records(), 'again').at(-1)!.meta!;
    assert.deepEqual(meta[CALLER], { sub: claims.sub, client_id: claims.client_id, scopes: ['things:read'] });
    assert.equal(meta['example.com/trace'], 'abc');
    assert.equal(typeof meta.progressToken, 'number');
  });

  it('headers: credentials, cookies, forwarding and hop-by-hop headers never reach the backend; its cookies and challenges never reach the client', TIMEOUT, async () => {
    const token = provider.tokens()!.access_token;
    const before = (await setup.backend.records()).length;
    const answer = await mcpPost(setup.gateway.url, token, { jsonrpc: '2.0', id: 'raw-1', method: 'tools/call', params: { name: 'echo', arguments: { text: 'raw' } } }, {
      'mcp-session-id': transport.sessionId!,
      cookie: 'session=client-secret',
      'proxy-authorization': 'Basic c2VjcmV0',
      forwarded: 'for=203.0.113.9',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      connection: 'keep-alive, x-hop',
      'x-hop': 'hop-by-hop',
      'x-custom': 'not for the backend',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(messagesOf(answer.text).at(-1)?.result, { content: [{ type: 'text', text: 'raw' }] });
    for (const name of ['set-cookie', 'www-authenticate', 'x-backend-secret']) assert.equal(answer.headers[name], undefined, `${name} relayed to the client`);
    const records = (await setup.backend.records()).slice(before);
    assert.equal(records.length, 1);
    assertNoCredentials(records);
    assert.equal(records[0]!.headers['mcp-session-id'] !== transport.sessionId, true);
  });

  it('step-up: a tool whose scope the token lacks is refused with 403 before forwarding; after re-consent it runs', TIMEOUT, async () => {
    const { backend } = setup;
    const agent = provider.agent;
    agent.visits.length = 0;
    const from = exchanges.length;
    const recordsBefore = (await backend.records()).length;
    await assert.rejects(client.callTool({ name: 'create_thing', arguments: { name: 'widget' } }), UnauthorizedError);
    assertSequence(exchanges.slice(from), ['POST /mcp -> 403']);
    const stepUp = provider.authorizationUrls.at(-1)!;
    assert.deepEqual(stepUp.searchParams.get('scope')!.split(' ').sort(), ['things:read', 'things:write']);
    assert.deepEqual(agent.visits.map((v) => `${v.method} ${v.kind}`), ['GET consent', 'POST redirect']);
    assert.equal(toolCalls((await backend.records()).slice(recordsBefore)).length, 0, 'the backend never received the refused call');

    await transport.finishAuth(provider.callback!);
    const created = await client.callTool({ name: 'create_thing', arguments: { name: 'widget' } });
    assert.deepEqual(created.content, [{ type: 'text', text: 'created widget' }]);
    const meta = toolCalls(await backend.records(), 'widget').at(-1)!.meta!;
    assert.deepEqual([...(meta[CALLER] as { scopes: string[] }).scopes].sort(), ['things:read', 'things:write']);
  });

  it('a session belongs to its caller: another token presenting its id gets 404 and nothing is forwarded', TIMEOUT, async () => {
    const { backend, gateway } = setup;
    const other = await cliToken(setup, 'gateway', setup.gatewayPort, 'things:read');
    const before = (await backend.records()).length;
    const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { text: 'stolen' } } };
    const post = await mcpPost(gateway.url, other, call, { 'mcp-session-id': transport.sessionId! });
    assert.equal(post.status, 404, post.text);
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(gateway.url, { method, headers: { authorization: `Bearer ${other}`, accept: 'text/event-stream', 'mcp-session-id': transport.sessionId! }, signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, 404, method);
      await response.body?.cancel();
    }
    assert.equal((await backend.records()).length, before, 'nothing reached the backend');
    // The owner's session is untouched, and the other caller can open its own.
    assert.deepEqual((await client.callTool({ name: 'echo', arguments: { text: 'still mine' } })).content, [{ type: 'text', text: 'still mine' }]);
    const own = await mcpPost(gateway.url, other, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'other', version: '1' } } });
    assert.equal(own.status, 200, own.text);
    assert.ok(own.headers['mcp-session-id'] && own.headers['mcp-session-id'] !== transport.sessionId);
  });

  it('a backend that refuses the gateway (401, 403): 502 with a JSON-RPC error, its challenge not relayed', TIMEOUT, async () => {
    const token = provider.tokens()!.access_token;
    try {
      for (const status of [401, 403]) {
        await setup.backend.refuse(status);
        const answer = await mcpPost(setup.gateway.url, token, { jsonrpc: '2.0', id: `refused-${status}`, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } }, { 'mcp-session-id': transport.sessionId! });
        assert.equal(answer.status, 502, answer.text);
        const body = JSON.parse(answer.text) as { id: string; error: { code: number; message: string } };
        assert.equal(body.id, `refused-${status}`);
        assert.match(body.error.message, /refused the gateway/);
        assert.equal(answer.headers['www-authenticate'], undefined);
        assert.equal(answer.headers['set-cookie'], undefined);
      }
    } finally {
      await setup.backend.refuse(0);
    }
  });

  it('the backend killed mid-call: a JSON-RPC error for the call, the gateway stays up (/health 200, /ready 503); restarted, the client initializes again', TIMEOUT, async () => {
    const base = issuerOf(setup.gateway);
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    const progress: unknown[] = [];
    // The outcome is taken at once: the call fails while the test is still killing the backend.
    const outcome = client.callTool({ name: 'hang', arguments: {} }, { onprogress: (p) => void progress.push(p) }).then(
      () => assert.fail('the call outlived its backend'),
      (error: Error & { code?: number }) => error,
    );
    await eventually(() => (progress.length > 0 ? true : undefined), 10_000, 'the hang call started (its stream is open)');
    await setup.backend.kill();
    const error = await outcome;
    assert.equal(error.code, -32603, String(error));
    assert.match(error.message, /went away before answering/);

    assert.equal((await fetch(`${base}/health`)).status, 200);
    await eventually(async () => ((await fetch(`${base}/ready`)).status === 503 ? true : undefined), 10_000, '/ready 503 without the backend');
    await assert.rejects(client.callTool({ name: 'echo', arguments: { text: 'nobody' } }), /Bad Gateway: the backend MCP server cannot be reached/);

    setup.backend = await startRecordingBackend(setup.backendPort);
    await eventually(async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined), 10_000, '/ready 200 with the backend back');
    // The restarted backend does not know the old session: 404, which the client answers by initializing again.
    await assert.rejects(client.callTool({ name: 'echo', arguments: { text: 'old session' } }), /Session not found/);
    await client.close();
    ({ client, transport } = connect(setup.gateway.url, provider, recorded));
    await client.connect(transport);
    assert.deepEqual((await client.callTool({ name: 'echo', arguments: { text: 'back' } })).content, [{ type: 'text', text: 'back' }]);
    assertNoCredentials(await setup.backend.records());
  });
});

describe('portcullis proxy --backend-token jwt', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-gateway-jwt-'));
  const scopesFile = join(dir, 'tool-scopes.json');
  let backend: BackendProcess;
  let gateway: ServeProcess;
  let port: number;

  before(async () => {
    writeFileSync(scopesFile, JSON.stringify(TOOL_SCOPES));
    backend = await startRecordingBackend();
    ({ gateway, port } = await startGateway(backend, dir, scopesFile, 'gateway', ['--backend-token', 'jwt']));
  });
  after(async () => {
    await gateway?.stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the backend receives a short-lived JWT signed by the gateway (aud = the backend), never the client's token", TIMEOUT, async () => {
    const token = await cliToken({ dir, scopesFile }, 'gateway', port, 'things:read');
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'portcullis-gateway-e2e', version: '1.0.0' });
    await client.connect(transport);
    assert.deepEqual((await client.callTool({ name: 'echo', arguments: { text: 'signed' } })).content, [{ type: 'text', text: 'signed' }]);
    await client.close();

    const records = await backend.records();
    const issuer = issuerOf(gateway);
    const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
    for (const record of records) {
      const header = String(record.headers.authorization);
      assert.match(header, /^Bearer /);
      const jwt = header.slice('Bearer '.length);
      assert.notEqual(jwt, token, "never the client's token");
      const { payload, protectedHeader } = await jwtVerify(jwt, jwks, { issuer, audience: backend.url, algorithms: ['ES256'], typ: 'at+jwt' });
      assert.equal(payload.sub, 'portcullis-cli');
      assert.equal(payload.client_id, 'portcullis-cli');
      assert.equal(payload.scope, 'things:read');
      assert.ok(payload.exp! - payload.iat! <= 60, 'lives at most 60 s');
      assert.ok(protectedHeader.kid);
    }
    // Its audience is the backend: the gateway itself refuses it.
    const backendJwt = String(records[0]!.headers.authorization).slice('Bearer '.length);
    const replay = await mcpPost(gateway.url, backendJwt, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(replay.status, 401);
  });
});

describe('portcullis proxy configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-gateway-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a bad scope file, no backend or two, a backend token without the embedded AS or for stdio, a command that cannot run: one line, exit 2', TIMEOUT, async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ tools: { 'create_*': ['has space'] } }));
    const base = ['proxy', '--port', '0', '--store', 'memory:'];
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--backend-url', 'http://127.0.0.1:9/mcp', '--tool-scopes', bad], /--tool-scopes \/ PORTCULLIS_TOOL_SCOPES: .*bad\.json: "tools"\."create_\*": "has space" is not a scope/],
      [[...base, '--backend-url', 'http://127.0.0.1:9/mcp', '--tool-scopes', join(dir, 'missing.json')], /cannot read it \(ENOENT\)/],
      [base, /name the MCP server to protect: --backend-url URL .*or a stdio command after --/],
      [[...base, '--backend-url', 'ftp://127.0.0.1/mcp'], /--backend-url \/ PORTCULLIS_BACKEND_URL: must be an http\(s\) URL/],
      [[...base, '--backend-url', 'http://127.0.0.1:9/mcp', '--backend-token', 'jwt', '--issuer', 'https://idp.example.com'], /--backend-token jwt needs the embedded authorization server/],
      [[...base, '--backend-url', 'http://127.0.0.1:9/mcp', '--', 'node', 'server.js'], /--backend-url and a stdio command after -- name two backends/],
      [[...base, '--backend-token', 'jwt', '--', 'node', 'server.js'], /--backend-token jwt is for HTTP backends/],
      [[...base, '--', 'no-such-command-portcullis'], /cannot run the backend command "no-such-command-portcullis"/],
      [[...base, '--backend-env', 'NOT-A-NAME', '--', 'node'], /--backend-env \/ PORTCULLIS_BACKEND_ENV: must be environment variable names/],
    ];
    for (const [args, expected] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, expected);
    }
    // serve does not take the gateway's options.
    assert.equal((await runCli(['serve', '--backend-url', 'http://127.0.0.1:9/mcp'])).code, 2);
  });
});

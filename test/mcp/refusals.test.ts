/**
 * Every refusal of the MCP endpoint over real HTTP with raw fetch: status, JSON-RPC code, and that the
 * tool did not run when it must not.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { OAuthError } from '../../src/core/errors.js';
import { initialize, post, startServer, type TestServer } from './helpers.js';

let server: TestServer;
let session: string;
/** Headers of alice's 2025-11-25 session. */
let headers: Record<string, string>;

before(async () => {
  server = await startServer({ maxBodyBytes: 64 * 1024 });
  session = await initialize(server.url);
  headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
});
after(() => server.close());

const call = (id: number, name: string, args: object = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

async function rpcError(res: Response): Promise<{ id: unknown; error: { code: number; message: string; data?: unknown } }> {
  assert.equal(res.headers.get('content-type'), 'application/json');
  const body = (await res.json()) as { jsonrpc: string; id: unknown; error: { code: number; message: string } };
  assert.equal(body.jsonrpc, '2.0');
  return body;
}

test('bad JSON: HTTP 400, -32700 with id null', async () => {
  const res = await post(server.url, '{"jsonrpc": "2.0", "id": 1, "method": ', headers);
  assert.equal(res.status, 400);
  const body = await rpcError(res);
  assert.equal(body.error.code, -32700);
  assert.equal(body.id, null);
  assert.equal(server.logs.at(-1)?.decision, 'parse_error');
});

test('not JSON-RPC: HTTP 400, -32600', async () => {
  for (const body of [{ hello: 'world' }, { jsonrpc: '1.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: null, method: 'ping' }, 42, 'null']) {
    const res = await post(server.url, body, headers);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal((await rpcError(res)).error.code, -32600, JSON.stringify(body));
  }
});

test('a batch on a 2025-06-18 or 2025-11-25 session: HTTP 400, -32600, and nothing in it runs', async () => {
  for (const version of ['2025-11-25', '2025-06-18']) {
    const id = await initialize(server.url, version);
    const before = server.recorder.count('add');
    const res = await post(server.url, [call(1, 'add', { a: 1, b: 2 }), call(2, 'add', { a: 3, b: 4 })], { 'mcp-session-id': id, 'mcp-protocol-version': version });
    assert.equal(res.status, 400);
    const body = await rpcError(res);
    assert.equal(body.error.code, -32600);
    assert.equal(body.id, null);
    assert.equal(server.recorder.count('add'), before, 'no request of the batch ran');
  }
});

test('a batch on a 2025-03-26 session is answered as a batch', async () => {
  const id = await initialize(server.url, '2025-03-26');
  const res = await post(server.url, [call(1, 'add', { a: 1, b: 2 }), { jsonrpc: '2.0', method: 'notifications/progress', params: {} }, { nope: true }, { jsonrpc: '2.0', id: 3, method: 'ping' }], {
    'mcp-session-id': id,
    'mcp-protocol-version': '2025-03-26',
  });
  assert.equal(res.status, 200);
  const answers = (await res.json()) as { id: unknown; result?: unknown; error?: { code: number } }[];
  assert.equal(answers.length, 3, 'one answer per request and per invalid element, none for the notification');
  assert.deepEqual(answers.find((a) => a.id === 1)?.result, { content: [{ type: 'text', text: '3' }] });
  assert.deepEqual(answers.find((a) => a.id === 3)?.result, {});
  assert.equal(answers.find((a) => a.id === null)?.error?.code, -32600);
  const empty = await post(server.url, [], { 'mcp-session-id': id });
  assert.equal(empty.status, 400);
  assert.equal((await rpcError(empty)).error.code, -32600);
});

test('unknown method: -32601 with the request id', async () => {
  const res = await post(server.url, { jsonrpc: '2.0', id: 'abc', method: 'tools/frobnicate' }, headers);
  assert.equal(res.status, 200);
  const body = await rpcError(res);
  assert.deepEqual(body, { jsonrpc: '2.0', id: 'abc', error: { code: -32601, message: 'Method not found' } });
});

test('invalid params: -32602', async () => {
  const cases: object[] = [
    call(1, 'no_such_tool'),
    { jsonrpc: '2.0', id: 2, method: 'tools/call', params: {} },
    { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'add', arguments: [1, 2] } },
    { jsonrpc: '2.0', id: 4, method: 'prompts/get', params: { name: 'summarize', arguments: {} } },
    { jsonrpc: '2.0', id: 5, method: 'prompts/get', params: { name: 'nope' } },
    { jsonrpc: '2.0', id: 6, method: 'logging/setLevel', params: { level: 'loud' } },
    { jsonrpc: '2.0', id: 7, method: 'tools/list', params: { cursor: 'made-up' } },
    { jsonrpc: '2.0', id: 8, method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'summarize' } } },
    { jsonrpc: '2.0', id: 9, method: 'resources/read', params: {} },
  ];
  for (const request of cases) {
    const res = await post(server.url, request, headers);
    assert.equal(res.status, 200);
    assert.equal((await rpcError(res)).error.code, -32602, JSON.stringify(request));
  }
  const positional = await post(server.url, { jsonrpc: '2.0', id: 10, method: 'ping', params: [1] }, headers);
  assert.equal(positional.status, 400);
  assert.deepEqual((await rpcError(positional)).id, 10);
});

test('a resource that does not exist: -32002 with its uri', async () => {
  const res = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'nothing://here' } }, headers);
  assert.deepEqual((await rpcError(res)).error, { code: -32002, message: 'Resource not found', data: { uri: 'nothing://here' } });
});

test('invalid tool arguments: a tool result with isError, the tool not run', async () => {
  const before = server.recorder.count('add');
  const res = await post(server.url, call(1, 'add', { a: 1 }), headers);
  const body = (await res.json()) as { result: { isError: boolean; content: { text: string }[] } };
  assert.equal(body.result.isError, true);
  assert.match(body.result.content[0]!.text, /^Invalid arguments for tool add: b: /);
  assert.equal(server.recorder.count('add'), before);
});

test('a failing handler: -32603 with a generic message, nothing of the exception on the wire', async () => {
  const res = await post(server.url, call(1, 'boom'), headers);
  const text = await res.text();
  assert.equal(server.recorder.count('boom'), 1);
  assert.deepEqual(JSON.parse(text), { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'Internal error' } });
  assert.doesNotMatch(text, /hunter2|at .*\.ts/);
});

test('a JsonRpcError thrown by a handler is sent as it is', async () => {
  const res = await post(server.url, call(1, 'rpc_fail'), headers);
  assert.deepEqual((await rpcError(res)).error, { code: -32602, message: 'That note is locked', data: { note: 7 } });
});

test('a body over the limit: the client really receives 413 (declared length and chunked)', async () => {
  const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4 * 1024 * 1024) } });
  const res = await post(server.url, big, headers);
  assert.equal(res.status, 413);
  await res.text();
  // Without Content-Length: the limit trips while streaming.
  const chunk = new TextEncoder().encode('x'.repeat(256 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 16) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const chunked = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: stream, duplex: 'half' } as RequestInit);
  assert.equal(chunked.status, 413);
  await chunked.text();
});

test('wrong content type: 415; Accept without both types: 406', async () => {
  const res = await fetch(server.url, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain', accept: 'application/json, text/event-stream' }, body: '{}' });
  assert.equal(res.status, 415);
  assert.equal((await rpcError(res)).id, null);
  for (const accept of ['application/json', 'text/event-stream', '']) {
    const refused = await fetch(server.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', accept }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
    assert.equal(refused.status, 406, `Accept: ${accept}`);
    await refused.text();
  }
});

test('unsupported MCP-Protocol-Version: 400; absent: accepted', async () => {
  const res = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { ...headers, 'mcp-protocol-version': '2024-01-01' });
  assert.equal(res.status, 400);
  assert.match((await rpcError(res)).error.message, /MCP-Protocol-Version/);
  const absent = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, { 'mcp-session-id': session });
  assert.equal(absent.status, 200);
  await absent.text();
});

test('no Mcp-Session-Id on anything but initialize: 400', async () => {
  const res = await post(server.url, call(1, 'add', { a: 1, b: 1 }), { 'mcp-protocol-version': '2025-11-25' });
  assert.equal(res.status, 400);
  assert.match((await rpcError(res)).error.message, /Mcp-Session-Id/);
  const get = await fetch(server.url, { headers: { accept: 'text/event-stream' } });
  assert.equal(get.status, 400);
  await get.text();
});

test("a session presented by another subject or client: 404, the tool not run, the owner's session intact", async () => {
  const before = server.recorder.count('add');
  for (const intruder of ['bob', 'alice-other-app']) {
    const res = await post(server.url, call(1, 'add', { a: 1, b: 1 }), { ...headers, 'x-test-caller': intruder });
    assert.equal(res.status, 404, intruder);
    await res.text();
    const del = await fetch(server.url, { method: 'DELETE', headers: { ...headers, 'x-test-caller': intruder } });
    assert.equal(del.status, 404, intruder);
    const get = await fetch(server.url, { headers: { ...headers, accept: 'text/event-stream', 'x-test-caller': intruder } });
    assert.equal(get.status, 404, intruder);
    await get.text();
  }
  assert.equal(server.recorder.count('add'), before, 'the tool did not run');
  const owner = await post(server.url, call(2, 'add', { a: 1, b: 1 }), headers);
  assert.equal(owner.status, 200);
  await owner.text();
});

test('after DELETE the session is gone: 404', async () => {
  const id = await initialize(server.url);
  const mine = { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
  const del = await fetch(server.url, { method: 'DELETE', headers: mine });
  assert.equal(del.status, 204);
  const res = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, mine);
  assert.equal(res.status, 404);
  await res.text();
  assert.equal((await fetch(server.url, { method: 'DELETE', headers: mine })).status, 404);
});

test('missing scope: handle() rejects with insufficient_scope before anything runs or is written', async () => {
  const before = server.recorder.count('write_note');
  // Same subject and client as the session's creator, fewer scopes: the session is found, the call refused.
  const res = await post(server.url, call(1, 'write_note', { text: 'hi' }), { ...headers, 'x-test-caller': 'reader' });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="notes:write"');
  assert.equal(((await res.json()) as { error: string }).error, 'insufficient_scope');
  assert.equal(server.recorder.count('write_note'), before, 'the tool did not run');
  const log = server.logs.at(-1)!;
  assert.deepEqual({ method: log.method, target: log.target, decision: log.decision, session: log.session }, { method: 'tools/call', target: 'write_note', decision: 'insufficient_scope', session });

  const read = await post(server.url, { jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri: 'notes://all' } }, { ...headers, 'x-test-caller': 'alice-no-scopes' });
  assert.equal(read.status, 403);
  assert.equal(read.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="notes:read"');
  await read.text();
  assert.equal(server.recorder.count('notes://all'), 0);

  // The same rejection from handle() itself, without the HTTP rendering.
  const allowed = await post(server.url, call(3, 'write_note', { text: 'ok' }), headers);
  assert.equal(allowed.status, 200);
  await allowed.text();
  assert.equal(server.recorder.count('write_note'), before + 1);
});

test('a batch (2025-03-26) needing a scope the token lacks: 403 listing every scope it needs, nothing run', async () => {
  const id = await initialize(server.url, '2025-03-26', { 'x-test-caller': 'alice-no-scopes' });
  const before = server.recorder.count('add');
  const res = await post(server.url, [call(1, 'add', { a: 1, b: 1 }), call(2, 'write_note', { text: 'x' }), { jsonrpc: '2.0', id: 3, method: 'resources/read', params: { uri: 'notes://7' } }], {
    'mcp-session-id': id,
    'x-test-caller': 'alice-no-scopes',
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer error="insufficient_scope", scope="notes:write notes:read"');
  await res.text();
  assert.equal(server.recorder.count('add'), before);
});

test('the OAuthError handle() rejects with carries the scopes', async () => {
  const { McpServer } = await import('../../src/mcp/server.js');
  assert.ok(server.mcp instanceof McpServer);
  await assert.rejects(server.mcp.callTool('write_note', { text: 'x' }, { subject: 'z', clientId: 'c', scopes: [], audience: [], issuer: 'i', expiresAt: 0, claims: {} }), (error: unknown) => {
    assert.ok(error instanceof OAuthError);
    assert.equal(error.code, 'insufficient_scope');
    assert.equal(error.status, 403);
    assert.deepEqual(error.scopes, ['notes:write']);
    return true;
  });
});

test('other HTTP methods: 405 with Allow', async () => {
  const res = await fetch(server.url, { method: 'PUT', headers, body: '{}' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, POST, DELETE');
  await res.text();
});

test('notifications and responses only: 202 with no body', async () => {
  const res = await post(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  assert.equal(res.status, 202);
  assert.equal(await res.text(), '');
  const response = await post(server.url, { jsonrpc: '2.0', id: 99, result: {} }, headers);
  assert.equal(response.status, 202);
  assert.equal(await response.text(), '');
});

test('initialize: the client version when supported, else the latest; a fresh 144-bit id each time', async () => {
  const ids = new Set<string>();
  for (const [asked, answered] of [
    ['2025-11-25', '2025-11-25'],
    ['2025-06-18', '2025-06-18'],
    ['2025-03-26', '2025-03-26'],
    ['2024-11-05', '2025-11-25'],
    ['2099-01-01', '2025-11-25'],
  ] as const) {
    const res = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: asked, capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const body = (await res.json()) as { result: { protocolVersion: string; serverInfo: { name: string } } };
    assert.equal(body.result.protocolVersion, answered, asked);
    assert.equal(body.result.serverInfo.name, 'test');
    const id = res.headers.get('mcp-session-id')!;
    assert.match(id, /^[A-Za-z0-9_-]{24}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 5);
  const bad = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
  assert.equal(bad.status, 400);
  assert.equal((await rpcError(bad)).error.code, -32602);
});

test('an idle session expires: 404 once past sessionIdleMs', async () => {
  let now = 1_000_000;
  const clocked = await startServer({ now: () => now, sessionIdleMs: 60_000 });
  try {
    const id = await initialize(clocked.url);
    const mine = { 'mcp-session-id': id };
    now += 59_000;
    const alive = await post(clocked.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, mine);
    assert.equal(alive.status, 200, 'use keeps it alive');
    await alive.text();
    now += 60_001;
    const expired = await post(clocked.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, mine);
    assert.equal(expired.status, 404);
    await expired.text();
    assert.equal(clocked.mcp.sessionCount, 0);
  } finally {
    await clocked.close();
  }
});

test('initialize is not refused for its MCP-Protocol-Version header: the body negotiates', async () => {
  const res = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2026-07-28', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }, { 'mcp-protocol-version': '2026-07-28' });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { result: { protocolVersion: string } }).result.protocolVersion, '2025-11-25');
});

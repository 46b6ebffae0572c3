/**
 * The relay (src/gateway/relay.ts) over real HTTP, with the backend's answer played by a stream the test
 * writes: an SSE `tools/list` result annotated in its event (id kept), a stream cut off before its answers
 * (a JSON-RPC error event for each unanswered request), one ended cleanly (left for the client to resume),
 * and a backend's 401 (502, its challenge not relayed); and the same answers handed over whole (a Buffer
 * or a string, as a backend gives a body that had all arrived), which take no stream.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger, RequestLog } from '../../src/core/log.js';
import type { BackendResponse } from '../../src/gateway/backend.js';
import { relay } from '../../src/gateway/relay.js';
import { ToolScopes } from '../../src/gateway/tool-scopes.js';

const policy = ToolScopes.parse({ tools: { 'create_*': ['w'], '*': ['r'] } });
let answer: BackendResponse;
let pending: Set<string | number>;
/** The `tools/list` requests the relay annotates. */
let toolsList = new Set<string | number>([1]);
let server: http.Server;
let url: string;

before(async () => {
  server = http.createServer((_req, res) => {
    void relay({ res, log: new RequestLog(), logger: createLogger('silent'), toolScopes: policy, sessionId: 'gateway-id', pending, toolsList: new Set(toolsList), errorId: 9 }, answer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function backendAnswer(status: number, headers: http.IncomingHttpHeaders): PassThrough {
  const body = new PassThrough();
  answer = { status, headers, body };
  return body;
}

describe('relay', () => {
  it('SSE: a tools/list result gets each tool scopes in its event; other events pass unchanged; the session id is the gateway one', async () => {
    pending = new Set([1, 2]);
    const body = backendAnswer(200, { 'content-type': 'text/event-stream', 'mcp-session-id': 'backend-id', 'set-cookie': ['x=y'] });
    body.write('id: 1_0\nretry: 500\ndata: \n\n');
    body.write('id: 1_1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":2,"progress":1}}\n\n');
    body.end('id: 1_2\ndata: {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"create_x"},{"name":"echo"}]}}\n\n');
    const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.equal(response.headers.get('mcp-session-id'), 'gateway-id');
    assert.equal(response.headers.get('set-cookie'), null);
    const text = await response.text();
    assert.equal(
      text,
      'id: 1_0\nretry: 500\ndata: \n\n' +
        'id: 1_1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":2,"progress":1}}\n\n' +
        'id: 1_2\ndata: {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"create_x","_meta":{"dev.portcullis/scopes":["w"]}},{"name":"echo","_meta":{"dev.portcullis/scopes":["r"]}}]}}\n\n',
    );
    assert.deepEqual([...pending], [2], 'request 2 is still unanswered (the stream ended cleanly: the client may resume it)');
  });

  it('SSE cut off by the backend: a JSON-RPC error event for each unanswered request, then the end', async () => {
    pending = new Set([1, 2]);
    const body = backendAnswer(200, { 'content-type': 'text/event-stream' });
    body.write('id: 1_0\ndata: \n\nid: 1_1\ndata: {"jsonrpc":"2.0","id":2,"result":{}}\n\n');
    const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    // Read until request 2's answer has arrived (the stream ends at most when the backend's does).
    let seen = '';
    while (!seen.includes('"id":2,"result"')) {
      const chunk = await reader.read();
      assert.ok(!chunk.done, `the stream ended before the answer to 2: ${seen}`);
      seen += decoder.decode(chunk.value, { stream: true });
    }
    body.destroy();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value, { stream: true });
    const errors = rest.split('\n').filter((line) => line.startsWith('data: ')).map((line) => JSON.parse(line.slice(6)) as { id: number; error: { code: number; message: string } });
    assert.deepEqual(errors.map((e) => [e.id, e.error.code]), [[1, -32603]]);
    assert.match(errors[0]!.error.message, /went away before answering/);
  });

  it("a backend 401: 502 with a JSON-RPC error for the request, the backend's challenge not relayed", async () => {
    pending = new Set([9]);
    const body = backendAnswer(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="backend"' });
    body.end('{"error":"invalid_token"}');
    const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 502);
    assert.equal(response.headers.get('www-authenticate'), null);
    const json = (await response.json()) as { id: number; error: { code: number; message: string } };
    assert.equal(json.id, 9);
    assert.match(json.error.message, /refused the gateway/);
  });

  it('JSON: a tools/list result is annotated and sent with its new length', async () => {
    pending = new Set([1]);
    const body = backendAnswer(200, { 'content-type': 'application/json' });
    body.end('{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"create_x"}]}}');
    const response = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(text)));
    assert.deepEqual(JSON.parse(text), { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'create_x', _meta: { 'dev.portcullis/scopes': ['w'] } }] } });
  });

  it('a body handed over whole: JSON passes byte for byte with its length, a tools/list result (JSON or SSE) is annotated', async () => {
    pending = new Set();
    toolsList = new Set();
    const plain = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"caf\u00e9 \u2713"}]}}';
    answer = { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(plain)), 'set-cookie': ['x=y'] }, body: Buffer.from(plain) };
    const passed = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.equal(passed.headers.get('content-length'), String(Buffer.byteLength(plain)));
    assert.equal(passed.headers.get('set-cookie'), null);
    assert.equal(passed.headers.get('mcp-session-id'), 'gateway-id');
    assert.equal(await passed.text(), plain);

    pending = new Set([1]);
    toolsList = new Set([1]);
    answer = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]}}' };
    const annotated = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.deepEqual(await annotated.json(), { jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'echo', _meta: { 'dev.portcullis/scopes': ['r'] } }] } });

    pending = new Set([1]);
    answer = { status: 200, headers: { 'content-type': 'text/event-stream' }, body: Buffer.from('id: 1_0\ndata: {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"create_y"}]}}\n\n') };
    const events = await fetch(url, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.equal(await events.text(), 'id: 1_0\ndata: {"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"create_y","_meta":{"dev.portcullis/scopes":["w"]}}]}}\n\n');
    assert.equal(pending.size, 0);
  });
});

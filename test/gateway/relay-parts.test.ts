/**
 * The small parts of the gateway's relaying: SSE events cut and rebuilt (src/gateway/lib/sse-events.ts), the
 * header policy both ways (headers.ts), the caller stamped into `_meta` (identity.ts), and `tools/list`
 * results annotated with scopes (tools-list.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backendHeaders, clientHeaders } from '../../src/gateway/headers.js';
import { callerIdentity, CALLER_META_KEY, stampCaller } from '../../src/gateway/identity.js';
import { EventSplitter, eventData, withData } from '../../src/gateway/lib/sse-events.js';
import { ToolScopes } from '../../src/gateway/tool-scopes.js';
import { annotateToolsLists } from '../../src/gateway/tools-list.js';
import type { AuthInfo } from '../../src/core/auth.js';

describe('EventSplitter', () => {
  it('cuts events at blank lines, across chunks, whatever the line ends', () => {
    const splitter = new EventSplitter();
    assert.deepEqual(splitter.push(Buffer.from('id: 1_0\nretry: 1000\ndata: \n\nid: 1_1\r')), ['id: 1_0\nretry: 1000\ndata: ']);
    assert.deepEqual(splitter.push(Buffer.from('\ndata: {"a":1}\r\n\r\ndata: x\r\rdata: y')), ['id: 1_1\ndata: {"a":1}', 'data: x']);
    assert.equal(splitter.rest(), 'data: y');
  });

  it('keeps a character split between chunks whole', () => {
    const splitter = new EventSplitter();
    const bytes = Buffer.from('data: "é"\n\n');
    const cut = bytes.indexOf(0xa9); // the second byte of é
    assert.deepEqual(splitter.push(bytes.subarray(0, cut)), []);
    assert.deepEqual(splitter.push(bytes.subarray(cut)), ['data: "é"']);
  });

  it('reads and replaces the data of an event, keeping id, event and comment lines', () => {
    assert.equal(eventData('id: 3\ndata: {"a":\ndata:1}'), '{"a":\n1}');
    assert.equal(eventData('data'), '');
    assert.equal(eventData(': ping'), undefined);
    assert.equal(withData('id: 3\nevent: message\ndata: {"a":\ndata:1}\n: note', '{"b":2}'), 'id: 3\nevent: message\ndata: {"b":2}\n: note');
  });
});

describe('header policy', () => {
  it('to the backend: only what it needs, never credentials, forwarding or hop-by-hop headers', () => {
    const sent = backendHeaders(
      {
        authorization: 'Bearer secret',
        cookie: 'a=b',
        'proxy-authorization': 'Basic x',
        forwarded: 'for=1.2.3.4',
        'x-forwarded-for': '1.2.3.4',
        connection: 'keep-alive, last-event-id',
        'last-event-id': '1_2',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        'mcp-session-id': 'the-clients-id',
        'content-type': 'text/plain',
        host: 'gateway.example',
      },
      'backend-id',
      true,
    );
    assert.deepEqual(sent, { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', 'content-type': 'application/json', 'mcp-session-id': 'backend-id' });
  });

  it('to the client: no cookies, challenges, CORS or hop-by-hop headers; the session id mapped', () => {
    const relayed = clientHeaders(
      {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'content-length': '12',
        'set-cookie': ['a=b'],
        'www-authenticate': 'Bearer realm="backend"',
        'access-control-allow-origin': '*',
        'mcp-session-id': 'backend-id',
        connection: 'close, cache-control',
        'transfer-encoding': 'chunked',
      },
      'gateway-id',
      true,
    );
    assert.deepEqual(relayed, { 'content-type': 'text/event-stream', 'content-length': '12', 'mcp-session-id': 'gateway-id' });
    assert.deepEqual(clientHeaders({ 'content-length': '12' }, undefined, false), {});
  });
});

describe('caller identity', () => {
  const auth: AuthInfo = { subject: 'ada', clientId: 'app', scopes: ['things:read'], audience: [], issuer: 'i', expiresAt: 0, claims: { secret: 'x' } };

  it('overwrites the client value under its key, keeps the rest of _meta, creates params and _meta when missing', () => {
    const request: Record<string, unknown> = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', _meta: { progressToken: 7, [CALLER_META_KEY]: { sub: 'mallory' } } } };
    stampCaller(request, callerIdentity(auth));
    assert.deepEqual(request.params, { name: 'x', _meta: { progressToken: 7, [CALLER_META_KEY]: { sub: 'ada', client_id: 'app', scopes: ['things:read'] } } });
    const bare: Record<string, unknown> = { jsonrpc: '2.0', id: 2, method: 'ping' };
    stampCaller(bare, callerIdentity(auth));
    assert.deepEqual(bare.params, { _meta: { [CALLER_META_KEY]: { sub: 'ada', client_id: 'app', scopes: ['things:read'] } } });
    const odd: Record<string, unknown> = { jsonrpc: '2.0', id: 3, method: 'ping', params: { _meta: 'not an object' } };
    stampCaller(odd, callerIdentity(auth));
    assert.deepEqual(odd.params, { _meta: { [CALLER_META_KEY]: { sub: 'ada', client_id: 'app', scopes: ['things:read'] } } });
  });
});

describe('tools/list annotation', () => {
  it('adds each tool scopes to the results of the awaited requests only, replacing a backend value under the key', () => {
    const policy = ToolScopes.parse({ tools: { 'create_*': ['w'], '*': ['r'] } });
    const ids = new Set<string | number>([5]);
    const batch = [
      { jsonrpc: '2.0', id: 4, result: { tools: [{ name: 'create_x' }] } },
      { jsonrpc: '2.0', id: 5, result: { tools: [{ name: 'create_x', _meta: { keep: 1, 'dev.portcullis/scopes': ['forged'] } }, { name: 'echo' }] } },
    ];
    assert.equal(annotateToolsLists(batch, ids, policy), true);
    assert.deepEqual(batch[0]!.result.tools, [{ name: 'create_x' }]);
    assert.deepEqual(batch[1]!.result.tools, [
      { name: 'create_x', _meta: { keep: 1, 'dev.portcullis/scopes': ['w'] } },
      { name: 'echo', _meta: { 'dev.portcullis/scopes': ['r'] } },
    ]);
    assert.equal(ids.size, 0);
  });
});

/**
 * SSE over real HTTP: the lazy upgrade of a POST answer, event ids, cancellation, the GET stream,
 * resumption with Last-Event-ID, and server-to-client requests answered by POST.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { EventReader, initialize, post, readEvents, resolvers, startServer, waitFor, type TestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

async function session(capabilities: object = {}): Promise<Record<string, string>> {
  const id = await initialize(server.url, '2025-11-25', {}, capabilities);
  return { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
}

const call = (id: number | string, name: string, extra: object = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: {}, ...extra } });

test('a tool that reports progress turns its answer into an SSE stream: priming event, notifications, result', async () => {
  const headers = await session();
  const res = await post(server.url, call(7, 'progress', { _meta: { progressToken: 'tok' } }), headers);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const events = await readEvents(res);
  const [priming, ...messages] = events;
  assert.deepEqual(priming, { id: '1_0', data: '' }, 'a priming event with an id and empty data comes first');
  const parsed = messages.map((e) => JSON.parse(e.data) as { id?: number; method?: string; params?: { progress?: number; progressToken?: string; level?: string }; result?: unknown });
  assert.deepEqual(
    parsed.filter((m) => m.method === 'notifications/progress').map((m) => [m.params?.progressToken, m.params?.progress]),
    [['tok', 1], ['tok', 2], ['tok', 3]],
  );
  assert.deepEqual(parsed.filter((m) => m.method === 'notifications/message').map((m) => m.params?.level), ['info', 'debug'], 'no level set: every level goes out');
  assert.deepEqual(parsed.at(-1), { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'progressed' }] } }, 'the result is the last event');
  assert.deepEqual(
    messages.map((e) => e.id),
    messages.map((_, i) => `1_${i + 1}`),
    'every event has a distinct, increasing id',
  );
});

test('a tool that sends nothing before its result answers with plain JSON', async () => {
  const headers = await session();
  // No progress token and a level above the tool's messages: nothing to send before the result.
  await post(server.url, { jsonrpc: '2.0', id: 1, method: 'logging/setLevel', params: { level: 'error' } }, headers).then((r) => r.text());
  const res = await post(server.url, call(2, 'progress'), headers);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(Number(res.headers.get('content-length')), (await res.clone().arrayBuffer()).byteLength);
  assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 2, result: { content: [{ type: 'text', text: 'progressed' }] } });
});

test('notifications/cancelled aborts the running tool; the cancelled request gets no response', async () => {
  const headers = await session();
  server.recorder.slowStarted = resolvers();
  const aborted = server.recorder.aborted.length;
  const pending = post(server.url, call('slow-1', 'slow'), headers);
  await server.recorder.slowStarted.promise;
  const cancel = await post(server.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1', reason: 'user' } }, headers);
  assert.equal(cancel.status, 202);
  const res = await pending;
  assert.equal(res.status, 202);
  assert.equal(await res.text(), '', 'no JSON-RPC response for a cancelled request');
  assert.equal(server.recorder.aborted.length, aborted + 1);
});

test('the official client cancelling with an AbortSignal aborts the tool', async () => {
  const client = new Client({ name: 'cancel-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(server.url));
  await client.connect(transport);
  try {
    server.recorder.slowStarted = resolvers();
    const aborted = server.recorder.aborted.length;
    const controller = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: {} }, { signal: controller.signal });
    await server.recorder.slowStarted.promise;
    controller.abort('changed my mind');
    await assert.rejects(call);
    await waitFor(() => server.recorder.aborted.length === aborted + 1);
  } finally {
    await client.close();
  }
});

test('a client that drops a JSON answer’s connection aborts the tool', async () => {
  const headers = await session();
  server.recorder.slowStarted = resolvers();
  const aborted = server.recorder.aborted.length;
  const controller = new AbortController();
  const pending = fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(call(1, 'slow')), signal: controller.signal });
  await server.recorder.slowStarted.promise;
  controller.abort();
  await assert.rejects(pending);
  await waitFor(() => server.recorder.aborted.length === aborted + 1);
});

test('the GET stream: 406 without SSE, one per session (409), carries resources/updated, replays after Last-Event-ID', async () => {
  const headers = await session();
  const refused = await fetch(server.url, { headers: { ...headers, accept: 'application/json' } });
  assert.equal(refused.status, 406);
  await refused.text();

  await post(server.url, { jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'notes://3' } }, headers).then((r) => r.text());
  const first = await fetch(server.url, { headers: { ...headers, accept: 'text/event-stream' } });
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('content-type'), 'text/event-stream');
  const reader = new EventReader(first);
  assert.deepEqual(await reader.next(), { id: '0_0', data: '' });

  const second = await fetch(server.url, { headers: { ...headers, accept: 'text/event-stream' } });
  assert.equal(second.status, 409);
  await second.text();

  server.mcp.resourceUpdated('notes://3');
  server.mcp.resourceUpdated('notes://other');
  const update = await reader.next();
  assert.equal(update?.id, '0_1');
  assert.deepEqual(JSON.parse(update!.data), { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'notes://3' } });
  await reader.cancel();

  // Every event is kept (bounded) in the stream's buffer, so one sent while the client is away is
  // replayed when it resumes after the last id it saw.
  server.mcp.resourceUpdated('notes://3');
  const resumed = await fetch(server.url, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': '0_1' } });
  assert.equal(resumed.status, 200);
  const again = new EventReader(resumed);
  const missed = await again.next();
  assert.equal(missed?.id, '0_2');
  assert.deepEqual(JSON.parse(missed!.data).params, { uri: 'notes://3' });
  await again.cancel();
});

test('SEP-1699 polling: a tool closes its connection mid-call; GET with Last-Event-ID delivers the rest', async () => {
  const headers = await session();
  server.recorder.pollGate = resolvers();
  const res = await post(server.url, call(5, 'poll', { _meta: { progressToken: 'p' } }), headers);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const before = await readEvents(res); // the server ends this connection before the result
  assert.equal(before.length, 2);
  assert.equal(before[0]!.data, '');
  assert.equal(JSON.parse(before[1]!.data).params.progress, 1);
  const lastId = before[1]!.id!;
  assert.match(lastId, /^\d+_1$/);

  const resumed = await fetch(server.url, { headers: { ...headers, accept: 'text/event-stream', 'last-event-id': lastId } });
  assert.equal(resumed.status, 200);
  server.recorder.pollGate.resolve();
  const rest = await new EventReader(resumed).rest();
  const messages = rest.map((e) => JSON.parse(e.data) as { id?: number; params?: { progress: number }; result?: unknown });
  assert.equal(messages.length, 2, 'progress 2 then the result; the stream ends after the result');
  assert.equal(messages[0]!.params?.progress, 2);
  assert.deepEqual(messages[1], { jsonrpc: '2.0', id: 5, result: { content: [{ type: 'text', text: 'polled' }] } });
});

test('a server-to-client request goes out on the POST stream and the answer POSTed back resumes the tool', async () => {
  const headers = await session({ sampling: {} });
  const res = await post(server.url, call(3, 'ask', { arguments: { question: 'ready?' } }), headers);
  const reader = new EventReader(res);
  assert.equal((await reader.next())?.data, '', 'priming');
  const request = JSON.parse((await reader.next())!.data) as { id: number; method: string; params: { messages: { content: { text: string } }[] } };
  assert.equal(request.method, 'sampling/createMessage');
  assert.equal(request.params.messages[0]?.content.text, 'ready?');
  const answer = await post(server.url, { jsonrpc: '2.0', id: request.id, result: { role: 'assistant', model: 'm', content: { type: 'text', text: 'yes' } } }, headers);
  assert.equal(answer.status, 202);
  const result = JSON.parse((await reader.next())!.data);
  assert.deepEqual(result, { jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text: 'answer: yes' }] } });
  assert.equal(await reader.next(), undefined, 'the stream ends after the response');
});

test('a server-to-client request to a client without the capability fails without sending anything', async () => {
  const headers = await session();
  const res = await post(server.url, call(4, 'ask', { arguments: { question: 'q' } }), headers);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 4, error: { code: -32600, message: 'The client does not support sampling/createMessage' } });
});

test('a 2025-03-26 batch whose tool streams: every response, the early ones included, goes out as an event', async () => {
  const id = await initialize(server.url, '2025-03-26');
  const headers = { 'mcp-session-id': id, 'mcp-protocol-version': '2025-03-26' };
  const res = await post(server.url, [{ jsonrpc: '2.0', id: 'bad', method: 'ping', params: [] }, call(1, 'add', { arguments: { a: 1, b: 2 } }), call(2, 'progress', { _meta: { progressToken: 9 } })], headers);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const messages = (await readEvents(res)).filter((e) => e.data !== '').map((e) => JSON.parse(e.data) as { id?: unknown; method?: string; result?: unknown; error?: { code: number } });
  const responses = messages.filter((m) => m.method === undefined);
  assert.deepEqual(responses.map((m) => m.id).sort(), [1, 2, 'bad']);
  assert.equal(responses.find((m) => m.id === 'bad')?.error?.code, -32602);
  assert.deepEqual(responses.find((m) => m.id === 1)?.result, { content: [{ type: 'text', text: '3' }] });
  assert.equal(messages.filter((m) => m.method === 'notifications/progress').length, 3);
});

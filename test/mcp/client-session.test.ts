/**
 * A full session with the official client (`@modelcontextprotocol/client`, SDK v2) over real HTTP:
 * initialize, tools, resources, prompts, completion, logging, progress, sampling, subscription, DELETE.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { SCOPES_META_KEY } from '../../src/mcp/types.js';
import { initialize, post, resolvers, startServer, waitFor, type TestServer } from './helpers.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(() => server.close());

async function connect(caller = 'alice'): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'official-client-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
  const transport = new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers: { 'x-test-caller': caller } } });
  await client.connect(transport);
  return { client, transport };
}

test('a whole session with the official client', async () => {
  const { client, transport } = await connect();
  try {
    assert.equal(client.getServerVersion()?.name, 'test');
    assert.ok(transport.sessionId !== undefined && transport.sessionId.length >= 22, 'a session id of at least 128 bits');
    const capabilities = client.getServerCapabilities();
    assert.ok(capabilities?.tools && capabilities.resources?.subscribe && capabilities.prompts && capabilities.logging && capabilities.completions);

    // tools/list: every tool, with its JSON Schema from zod and its scopes in _meta.
    const { tools } = await client.listTools();
    const add = tools.find((t) => t.name === 'add');
    assert.deepEqual(add?.inputSchema.required, ['a', 'b']);
    assert.equal((add?.inputSchema.properties as Record<string, { type: string }>)['a']?.type, 'number');
    assert.deepEqual(tools.find((t) => t.name === 'write_note')?._meta?.[SCOPES_META_KEY], ['notes:write']);
    assert.deepEqual(tools.find((t) => t.name === 'raw_schema')?.inputSchema, { type: 'object', properties: { anything: {} }, additionalProperties: true });

    // tools/call, and a validation failure reported as a tool error (SEP-1303).
    const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
    assert.deepEqual(sum.content, [{ type: 'text', text: '5' }]);
    const invalid = await client.callTool({ name: 'add', arguments: { a: 'two', b: 3 } });
    assert.equal(invalid.isError, true);
    assert.match((invalid.content as { text: string }[])[0]!.text, /Invalid arguments for tool add: a: .*expected number/);

    // resources
    const { resources } = await client.listResources();
    assert.deepEqual(resources.map((r) => r.uri).sort(), ['notes://1', 'notes://all']);
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['notes://{id}']);
    const note = await client.readResource({ uri: 'notes://12' });
    assert.deepEqual(note.contents, [{ uri: 'notes://12', mimeType: 'text/plain', text: 'note 12' }]);
    // -32002 on the wire (spec 2025-11-25); this client surfaces it as its ResourceNotFoundError.
    await assert.rejects(client.readResource({ uri: 'notes://404' }), { message: 'Resource not found', data: { uri: 'notes://404' } });

    // prompts and completion
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p) => p.name), ['summarize']);
    const prompt = await client.getPrompt({ name: 'summarize', arguments: { topic: 'scopes' } });
    assert.deepEqual(prompt.messages[0]?.content, { type: 'text', text: 'Summarize scopes' });
    const topics = await client.complete({ ref: { type: 'ref/prompt', name: 'summarize' }, argument: { name: 'topic', value: 'se' } });
    assert.deepEqual(topics.completion.values, ['security', 'sessions']);
    const ids = await client.complete({ ref: { type: 'ref/resource', uri: 'notes://{id}' }, argument: { name: 'id', value: '1' } });
    assert.deepEqual(ids.completion.values, ['1', '12']);

    // logging/setLevel filters ctx.log; progress arrives through the SSE upgrade of the POST.
    const logs: unknown[] = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params));
    assert.deepEqual(await client.setLoggingLevel('info'), {});
    const progress: number[] = [];
    const done = await client.callTool({ name: 'progress', arguments: {} }, { onprogress: (p) => void progress.push(p.progress) });
    assert.deepEqual(done.content, [{ type: 'text', text: 'progressed' }]);
    assert.deepEqual(progress, [1, 2, 3]);
    assert.deepEqual(logs, [{ level: 'info', logger: 'progress-tool', data: { step: 'done' } }], 'the debug message is filtered out');

    // sampling: the server-to-client request goes out on the POST's stream, the answer comes back by POST.
    client.setRequestHandler('sampling/createMessage', async (request) => ({
      model: 'test-model',
      role: 'assistant',
      content: { type: 'text', text: `echo ${(request.params.messages[0]?.content as { text: string }).text}` },
    }));
    const asked = await client.callTool({ name: 'ask', arguments: { question: 'why?' } });
    assert.deepEqual(asked.content, [{ type: 'text', text: 'answer: echo why?' }]);

    assert.deepEqual(await client.ping(), {});
  } finally {
    await transport.terminateSession();
    await client.close();
  }
});

test('resources/subscribe: resourceUpdated reaches the subscriber on its GET stream, not others', async () => {
  const subscriber = await connect();
  const bystander = await connect('bob');
  try {
    const updated = resolvers<string>();
    const bystanderSaw: string[] = [];
    subscriber.client.setNotificationHandler('notifications/resources/updated', (n) => updated.resolve(n.params.uri));
    bystander.client.setNotificationHandler('notifications/resources/updated', (n) => void bystanderSaw.push(n.params.uri));
    await subscriber.client.subscribeResource({ uri: 'notes://1' });
    // The client opens its GET stream after `initialized`; the server attaches it in the same tick as it
    // logs the GET, so once the log shows it the notification has a stream to go to.
    const sessionId = subscriber.transport.sessionId!;
    await waitFor(() => server.logs.some((log) => log.method === 'GET' && log.session === sessionId));
    server.mcp.resourceUpdated('notes://1');
    assert.equal(await updated.promise, 'notes://1');
    await subscriber.client.unsubscribeResource({ uri: 'notes://1' });
    await bystander.client.ping(); // a round trip on the bystander's session
    assert.deepEqual(bystanderSaw, []);
  } finally {
    await subscriber.client.close();
    await bystander.client.close();
  }
});

test('a session negotiated at 2025-03-26 by an older client still works, and DELETE ends it', async () => {
  const id = await initialize(server.url, '2025-03-26');
  const headers = { 'mcp-session-id': id, 'mcp-protocol-version': '2025-03-26' };
  const res = await post(server.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 1 } } }, headers);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.deepEqual(await res.json(), { jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text: '2' }] } });
  const deleted = await fetch(server.url, { method: 'DELETE', headers });
  assert.equal(deleted.status, 204);
});

/**
 * MCP over stdio (`McpServer.serveStdio`): the official client (`StdioClientTransport`) driving the
 * conformance fixture as a real child process, and the protocol's edges line by line against the core's
 * test registry (whose recorder shows that a refused call never ran).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { LineSplitter } from '../../src/core/line-splitter.js';
import { McpServer } from '../../src/mcp/server.js';
import { CALLERS, Recorder, testRegistry, waitFor } from './helpers.js';

describe('the official client over stdio, against a child process', () => {
  let client: Client;
  let transport: StdioClientTransport;
  const progress: number[] = [];
  const logs: unknown[] = [];

  before(async () => {
    client = new Client({ name: 'stdio-test', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
    client.setRequestHandler('sampling/createMessage', async (request) => ({
      role: 'assistant',
      model: 'test-model',
      content: { type: 'text', text: `sampled: ${(request.params.messages[0]!.content as { text: string }).text}` },
    }));
    client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { username: 'ada', email: 'ada@example.test' } }));
    client.setNotificationHandler('notifications/message', (notification) => void logs.push(notification.params.data));
    transport = new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/conformance-server.ts', '--stdio'], stderr: 'pipe' });
    await client.connect(transport);
  });
  after(() => client.close());

  it('initializes, lists and calls tools, reads resources, gets prompts', async () => {
    assert.equal(client.getServerVersion()?.name, 'portcullis-conformance');
    assert.ok(client.getServerCapabilities()?.resources?.subscribe);
    const { tools } = await client.listTools();
    assert.ok(tools.some((tool) => tool.name === 'test_simple_text'));
    const simple = await client.callTool({ name: 'test_simple_text', arguments: {} });
    assert.deepEqual(simple.content, [{ type: 'text', text: 'This is a simple text response for testing.' }]);
    const read = await client.readResource({ uri: 'test://static-text' });
    assert.equal((read.contents[0] as { text: string }).text, 'This is the content of the static text resource.');
    const prompts = await client.listPrompts();
    assert.ok(prompts.prompts.length > 0);
    await client.ping();
  });

  it('progress and log notifications arrive while a tool runs', async () => {
    await client.setLoggingLevel('debug');
    const result = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, { onprogress: (p) => void progress.push(p.progress) });
    // The last one (100) is written just before the response and often arrives in the same chunk: this
    // client runs notification handlers a microtask late but settles responses at once, dropping the
    // request's progress handler first. The wire order is checked line by line below.
    assert.deepEqual(progress.slice(0, 2), [0, 50]);
    assert.deepEqual(result.content, [{ type: 'text', text: 'Progress tool completed' }]);
    await client.callTool({ name: 'test_tool_with_logging', arguments: {} });
    assert.deepEqual(logs.slice(-3), ['Tool execution started', 'Tool processing data', 'Tool execution completed']);
  });

  it('server-to-client requests (sampling, elicitation) are answered over the same pipe', async () => {
    const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'hello' } });
    assert.deepEqual(sampled.content, [{ type: 'text', text: 'LLM response: sampled: hello' }]);
    const elicited = await client.callTool({ name: 'test_elicitation', arguments: { message: 'who?' } });
    assert.deepEqual(elicited.content, [{ type: 'text', text: 'User response: action=accept, content={"username":"ada","email":"ada@example.test"}' }]);
  });
});

/** A stdio connection to the core's test registry in this process, spoken line by line. */
function connect(caller = CALLERS['alice']!, maxLineBytes?: number) {
  const recorder = new Recorder();
  const mcp = new McpServer({ registry: testRegistry(recorder), info: { name: 'test', version: '1.0.0' } });
  const input = new PassThrough();
  const output = new PassThrough();
  const received: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  const splitter = new LineSplitter(1 << 20, (line) => {
    received.push(JSON.parse(line) as Record<string, unknown>);
    wake?.();
  }, () => assert.fail('the server wrote an oversized line'));
  let writes = 0;
  output.on('data', (chunk: Buffer) => {
    writes++;
    splitter.push(chunk);
  });
  const served = mcp.serveStdio({ input, output, auth: caller, maxLineBytes });
  return {
    mcp,
    recorder,
    served,
    send(...messages: unknown[]): void {
      for (const message of messages) input.write(`${typeof message === 'string' ? message : JSON.stringify(message)}\n`);
    },
    /** The next message the server writes (at most 5 s). */
    async next(): Promise<Record<string, unknown>> {
      const deadline = Date.now() + 5_000;
      while (received.length === 0) {
        if (Date.now() > deadline) assert.fail('the server wrote nothing within 5 s');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return received.shift()!;
    },
    pending: () => received.length,
    /** How many writes the server made to its output. */
    writes: () => writes,
    end(): void {
      input.end();
    },
  };
}

const INITIALIZE = (id: number, protocolVersion = '2025-11-25') => ({ jsonrpc: '2.0', id, method: 'initialize', params: { protocolVersion, capabilities: { sampling: {} }, clientInfo: { name: 't', version: '1' } } });
/** A connection that has been through `initialize` (its answer read). */
async function initialized(caller = CALLERS['alice']!, maxLineBytes?: number): Promise<ReturnType<typeof connect>> {
  const stdio = connect(caller, maxLineBytes);
  stdio.send(INITIALIZE(1));
  await stdio.next();
  return stdio;
}

const call = (id: number | string, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args, ...(meta === undefined ? {} : { _meta: meta }) },
});

describe('stdio transport, line by line', () => {
  it('before initialize: ping answers, other requests get -32600 and do not run; bad JSON is -32700 with id null; the answers of one turn go in one write', async () => {
    const stdio = connect();
    stdio.send({ jsonrpc: '2.0', id: 1, method: 'ping' }, call(2, 'add', { a: 1, b: 2 }), 'not json', { jsonrpc: '2.0', method: 'tools/call' });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 1, result: {} });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 2, error: { code: -32600, message: 'Invalid Request: send initialize first' } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: a line is not JSON' } });
    assert.equal(stdio.recorder.count('add'), 0);
    assert.equal(stdio.writes(), 1, 'the three answers, written in one turn of the event loop, went out together');
    stdio.end();
    await stdio.served;
    assert.equal(stdio.pending(), 0, 'a notification before initialize is not answered');
  });

  it('initialize negotiates the version once; a second initialize, an invalid message and a batch after 2025-03-26 are refused', async () => {
    const stdio = connect();
    stdio.send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: {} });
    assert.equal(((await stdio.next())['error'] as { code: number }).code, -32602);
    stdio.send(INITIALIZE(1, '1999-01-01'));
    const result = (await stdio.next())['result'] as Record<string, unknown>;
    assert.equal(result['protocolVersion'], '2025-11-25', 'an unknown version is answered with the latest');
    assert.deepEqual(result['serverInfo'], { name: 'test', version: '1.0.0' });
    stdio.send(INITIALIZE(2), { jsonrpc: '1.0', id: 3, method: 'ping' }, [call(4, 'add', { a: 1, b: 1 })], { jsonrpc: '2.0', id: 5, method: 'nope' });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 2, error: { code: -32600, message: 'Invalid Request: this connection is initialized already' } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 3, error: { code: -32600, message: 'Invalid Request: jsonrpc must be "2.0"' } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: JSON-RPC batches are not part of protocol version 2025-11-25' } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 5, error: { code: -32601, message: 'Method not found' } });
    assert.equal(stdio.recorder.count('add'), 0);
    stdio.end();
    await stdio.served;
  });

  it('a 2025-03-26 connection takes a batch and answers it with one array line', async () => {
    const stdio = connect();
    stdio.send(INITIALIZE(1, '2025-03-26'));
    assert.equal(((await stdio.next())['result'] as Record<string, unknown>)['protocolVersion'], '2025-03-26');
    stdio.send([call(2, 'add', { a: 1, b: 2 }), { jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 3, method: 'ping' }, INITIALIZE(4)]);
    const answer = (await stdio.next()) as unknown as Record<string, unknown>[];
    assert.ok(Array.isArray(answer));
    assert.deepEqual(
      answer.map((item) => [item['id'], item['result'] !== undefined ? 'result' : (item['error'] as { message: string }).message]),
      [
        [2, 'result'],
        [3, 'result'],
        [4, 'Invalid Request: initialize cannot be part of a batch'],
      ].sort((a, b) => (a[0] as number) - (b[0] as number)),
    );
    stdio.end();
    await stdio.served;
  });

  it('a tool whose scope the caller lacks is a JSON-RPC error naming the scope, and does not run', async () => {
    const stdio = await initialized(CALLERS['reader']);
    stdio.send(call(2, 'write_note', { text: 'x' }));
    const refused = await stdio.next();
    assert.deepEqual(refused['error'], { code: -32600, message: 'The access token lacks a required scope', data: { error: 'insufficient_scope', scope: 'notes:write' } });
    assert.equal(stdio.recorder.count('write_note'), 0);
    stdio.end();
    await stdio.served;
  });

  it('progress and logs go out before the response; sampling goes to the client and its answer comes back', async () => {
    const stdio = await initialized();
    stdio.send({ jsonrpc: '2.0', id: 2, method: 'logging/setLevel', params: { level: 'info' } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 2, result: {} });
    stdio.send(call(3, 'progress', {}, { progressToken: 'p' }));
    const seen: unknown[] = [];
    for (;;) {
      const message = await stdio.next();
      if (message['id'] === 3) {
        assert.deepEqual(message['result'], { content: [{ type: 'text', text: 'progressed' }] });
        break;
      }
      seen.push([message['method'], (message['params'] as Record<string, unknown>)['progress'] ?? (message['params'] as Record<string, unknown>)['level']]);
    }
    // The debug line is below the level the client set.
    assert.deepEqual(seen, [
      ['notifications/progress', 1],
      ['notifications/progress', 2],
      ['notifications/progress', 3],
      ['notifications/message', 'info'],
    ]);

    stdio.send(call(4, 'ask', { question: 'why?' }));
    const ask = await stdio.next();
    assert.equal(ask['method'], 'sampling/createMessage');
    stdio.send({ jsonrpc: '2.0', id: ask['id'], result: { role: 'assistant', model: 'm', content: { type: 'text', text: 'because' } } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: 'answer: because' }] } });
    stdio.end();
    await stdio.served;
  });

  it('notifications/cancelled stops a running request, whose response is never written', async () => {
    const stdio = await initialized();
    stdio.send(call('slow-1', 'slow'));
    await stdio.recorder.slowStarted.promise;
    stdio.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1' } }, { jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 2, result: {} });
    // Stopped by the cancellation while the connection is still open (not by its end).
    await waitFor(() => stdio.recorder.aborted.length === 1);
    stdio.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 3, result: {} }, 'the cancelled request got no response');
    stdio.end();
    await stdio.served;
    assert.equal(stdio.pending(), 0);
  });

  it('the end of input cancels what runs and resolves once the handlers returned', async () => {
    const stdio = await initialized();
    stdio.send(call(2, 'slow'));
    await stdio.recorder.slowStarted.promise;
    stdio.end();
    await stdio.served;
    assert.deepEqual(stdio.recorder.aborted, ['slow']);
  });

  it('a subscribed resource update is written to the connection; a line over the limit is skipped with -32600', async () => {
    const stdio = await initialized(CALLERS['alice'], 256);
    stdio.send({ jsonrpc: '2.0', id: 2, method: 'resources/subscribe', params: { uri: 'notes://1' } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 2, result: {} });
    stdio.mcp.resourceUpdated('notes://2');
    stdio.mcp.resourceUpdated('notes://1');
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'notes://1' } });

    stdio.send(call(3, 'write_note', { text: 'x'.repeat(300) }), call(4, 'add', { a: 2, b: 2 }));
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: a message longer than 256 bytes was skipped' } });
    assert.deepEqual(await stdio.next(), { jsonrpc: '2.0', id: 4, result: { content: [{ type: 'text', text: '4' }] } });
    assert.equal(stdio.recorder.count('write_note'), 0);
    stdio.end();
    await stdio.served;
    stdio.mcp.resourceUpdated('notes://1');
    assert.equal(stdio.pending(), 0, 'an ended connection is no longer a subscriber');
  });
});

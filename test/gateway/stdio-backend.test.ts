/**
 * The stdio backend (src/gateway/backends/stdio.ts) driven directly with Streamable-HTTP-shaped exchanges,
 * against real processes of test/fixtures/stdio-server.ts (the official SDK's server over stdio): one
 * process per session, SSE answers with progress before the response, isolation between sessions,
 * elicitation round trips, supervision (crash → -32603, restart with the replayed initialize), DELETE,
 * the process cap, unknown sessions, commands that cannot start, the child's environment, and skipped
 * stdout noise. Every wait is bounded (helpers' WAIT_MS); nothing asserts on time.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import pino from 'pino';
import { createLogger } from '../../src/core/log.js';
import { bodyStream, type Backend } from '../../src/gateway/backend.js';
import { createStdioBackend, type StdioBackendOptions } from '../../src/gateway/backends/stdio.js';
import { alive, answerReader, CALLER_META, callTool, eventually, EventReader, get, initialize, post, remove, text, toolResult, type Json } from '../helpers/backend-exchanges.js';

const FIXTURE = new URL('../fixtures/stdio-server.ts', import.meta.url).pathname;

function backend(t: TestContext, options: Partial<StdioBackendOptions> = {}, fixtureArgs: string[] = []): Backend {
  const created = createStdioBackend({ command: process.execPath, args: ['--import', 'tsx', FIXTURE, ...fixtureArgs], logger: createLogger('silent'), ...options });
  t.after(() => created.close());
  return created;
}

/** A logger whose lines the test can read. */
function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: Json[] } {
  const lines: Json[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Json);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

describe('stdio backend', () => {
  it('initialize answers with the process answer and a session id; a tool call answered at once is JSON, _meta intact', async (t) => {
    const stdio = backend(t);
    const { sessionId, result } = await initialize(stdio);
    assert.match(sessionId, /^[A-Za-z0-9_-]{24}$/); // 144 bits, base64url
    assert.equal(result['serverInfo']['name'], 'stdio-fixture');
    const reader = await callTool(stdio, sessionId, 7, 'echo', { text: 'hello' }, { progressToken: 'p-7' });
    assert.equal(reader.kind, 'json', 'nothing came before the response');
    const messages = await reader.rest();
    assert.equal(messages.length, 1);
    assert.equal(messages[0]!['id'], 7);
    const echoed = toolResult(messages[0]);
    assert.equal(echoed['text'], 'hello');
    assert.deepEqual(echoed['meta'], { progressToken: 'p-7', ...CALLER_META });
  });

  it('progress and logging reach the request stream before its response, and the stream then ends', async (t) => {
    const stdio = backend(t);
    const { sessionId } = await initialize(stdio);
    const reader = await callTool(stdio, sessionId, 'slow-1', 'slow', { steps: 3 }, { progressToken: 'tok' });
    assert.equal(reader.kind, 'sse', 'the first message was a notification');
    const messages = await reader.rest();
    const methods = messages.map((message) => message['method'] ?? `response ${message['id']}`);
    assert.deepEqual(methods, ['notifications/message', 'notifications/progress', 'notifications/progress', 'notifications/progress', 'response slow-1']);
    assert.deepEqual(
      messages.slice(1, 4).map((message) => message['params']['progress']),
      [1, 2, 3],
    );
    assert.equal(toolResult(messages[4])['steps'], 3);
  });

  it('two sessions run two processes and never see each other messages', async (t) => {
    const stdio = backend(t);
    const [a, b] = await Promise.all([initialize(stdio), initialize(stdio)]);
    assert.notEqual(a.sessionId, b.sessionId);
    const streamA = new EventReader((await get(stdio, a.sessionId)).body);
    const streamB = new EventReader((await get(stdio, b.sessionId)).body);
    const [slowA, echoB] = await Promise.all([callTool(stdio, a.sessionId, 1, 'slow', { steps: 4 }, { progressToken: 'a' }), callTool(stdio, b.sessionId, 1, 'echo', { text: 'b' })]);
    const [fromA, fromB] = await Promise.all([slowA.rest(), echoB.rest()]);
    const pidA = toolResult(fromA.at(-1))['pid'];
    const pidB = toolResult(fromB.at(-1))['pid'];
    assert.notEqual(pidA, pidB);
    assert.deepEqual(fromB.map((message) => message['id']), [1]); // only its own response: no progress, no log of A
    assert.ok(fromA.every((message) => message['id'] === 1 || message['params']?.['progressToken'] === 'a' || message['method'] === 'notifications/message'));
    // After the answer, `later` logs outside any POST stream: the GET stream of its own session has it.
    await (await callTool(stdio, b.sessionId, 2, 'later', { text: 'for b only' })).rest();
    const [logged] = await streamB.until((message) => message['method'] === 'notifications/message');
    assert.equal(logged!['params']['data'], 'for b only');
    await remove(stdio, a.sessionId);
    assert.deepEqual(await streamA.rest(), []); // A's stream saw nothing of B, and ended with its session
  });

  it('elicitation: the server request arrives on the call stream, the client answer is accepted with 202, the tool finishes', async (t) => {
    const stdio = backend(t);
    const { sessionId } = await initialize(stdio);
    const reader = await callTool(stdio, sessionId, 'ask-1', 'ask', { question: 'Deploy?' });
    const [request] = await reader.until((message) => message['method'] === 'elicitation/create');
    assert.equal(request!['params']['message'], 'Deploy?');
    const reply = { action: 'accept', content: { reply: 'yes' } };
    const answered = await post(stdio, { jsonrpc: '2.0', id: request!['id'], result: reply }, sessionId);
    assert.equal(answered.status, 202);
    assert.equal(await text(answered.body), '');
    const rest = await reader.rest();
    assert.equal(rest.length, 1);
    assert.equal(rest[0]!['id'], 'ask-1');
    assert.deepEqual(toolResult(rest[0])['answer'], reply);
  });

  it('a crash mid-call answers -32603 naming the exit; the next call restarts the process without a new initialize', async (t) => {
    const { logger, lines } = recordingLogger();
    const stdio = backend(t, { logger, restart: { initialMs: 50, maxMs: 200 } });
    const { sessionId } = await initialize(stdio);
    const before = toolResult((await (await callTool(stdio, sessionId, 1, 'echo', { text: 'x' })).rest())[0])['pid'] as number;
    const standalone = new EventReader((await get(stdio, sessionId)).body);
    const crashed = await (await callTool(stdio, sessionId, 2, 'crash', { code: 3 }, { progressToken: 'c' })).rest();
    assert.equal(crashed[0]!['method'], 'notifications/progress');
    const error = crashed.at(-1)!;
    assert.equal(error['id'], 2);
    assert.equal(error['error']['code'], -32603);
    assert.match(error['error']['message'], /exited \(exit code 3\)/);
    assert.ok(!alive(before));
    assert.deepEqual(await standalone.rest(), []); // the GET stream ended cleanly with the process
    const after = toolResult((await (await callTool(stdio, sessionId, 3, 'echo', { text: 'again' })).rest())[0]);
    assert.equal(after['text'], 'again');
    assert.notEqual(after['pid'], before);
    assert.ok(lines.some((line) => line['msg'] === 'stdio backend: process restarted, session initialize replayed'));
  });

  it('messages sent while no stream is open wait for the GET stream; a cancelled or abandoned call no longer holds anything', async (t) => {
    const stdio = backend(t);
    const { sessionId } = await initialize(stdio);
    await (await callTool(stdio, sessionId, 1, 'later', { text: 'kept for GET' })).rest();
    const standalone = new EventReader((await get(stdio, sessionId)).body);
    const [held] = await standalone.until((message) => message['method'] === 'notifications/message');
    assert.equal(held!['params']['data'], 'kept for GET');

    // Cancelled by the client: its stream ends without an answer (the server owes none).
    const asking = await callTool(stdio, sessionId, 'ask-2', 'ask', { question: 'never answered' });
    await asking.until((message) => message['method'] === 'elicitation/create');
    const cancel = await post(stdio, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'ask-2', reason: 'user gave up' } }, sessionId);
    assert.equal(cancel.status, 202);
    assert.deepEqual(await asking.rest(), []);

    // Abandoned (the client went away mid-stream): its stream is gone, and what the process still sends for
    // it (progress, the answer) reaches no other stream; the session goes on.
    const controller = new AbortController();
    const params = { name: 'slow', arguments: { steps: 5 }, _meta: { progressToken: 'gone' } };
    const abandoned = await post(stdio, { jsonrpc: '2.0', id: 'slow-2', method: 'tools/call', params }, sessionId, undefined, controller.signal);
    const abandonedStream = new EventReader(abandoned.body);
    await abandonedStream.next();
    controller.abort();
    assert.ok(abandonedStream.body.destroyed);
    const after = await (await callTool(stdio, sessionId, 'echo-3', 'echo', { text: 'after' })).rest();
    assert.deepEqual(after.map((message) => message['id']), ['echo-3']);
    await (await callTool(stdio, sessionId, 'later-4', 'later', { text: 'last' })).rest();
    const [last] = await standalone.until((message) => message['method'] === 'notifications/message');
    assert.equal(last!['params']['data'], 'last'); // nothing of slow-2 came before it
  });

  it('DELETE stops the process; the session is then unknown (404)', async (t) => {
    const stdio = backend(t);
    const { sessionId } = await initialize(stdio);
    const pid = toolResult((await (await callTool(stdio, sessionId, 1, 'echo', { text: 'x' })).rest())[0])['pid'] as number;
    const deleted = await remove(stdio, sessionId);
    assert.equal(deleted.status, 204);
    assert.ok(!alive(pid));
    assert.equal((await post(stdio, { jsonrpc: '2.0', id: 2, method: 'ping' }, sessionId)).status, 404);
  });

  it('refusals: the process cap (503), unknown (404) and missing (400) session ids, a second GET (409), a batch after 2025-03-26 (400)', async (t) => {
    const stdio = backend(t, { maxProcesses: 1 });
    const { sessionId } = await initialize(stdio);
    const full = await post(stdio, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    assert.equal(full.status, 503);
    assert.equal(full.headers['retry-after'], '5');
    assert.deepEqual(JSON.parse(await text(full.body)), { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Service Unavailable: too many backend processes, try again later' } });
    for (const answer of [await post(stdio, { jsonrpc: '2.0', id: 1, method: 'ping' }, 'no-such-session'), await get(stdio, 'no-such-session'), await remove(stdio, 'no-such-session')]) {
      assert.equal(answer.status, 404);
      assert.equal(JSON.parse(await text(answer.body))['error']['message'], 'Session not found');
    }
    assert.equal((await post(stdio, { jsonrpc: '2.0', id: 1, method: 'ping' })).status, 400);
    const stream = await get(stdio, sessionId);
    assert.equal(stream.status, 200);
    assert.equal((await get(stdio, sessionId)).status, 409);
    bodyStream(stream.body).destroy();
    const batch = await post(stdio, [{ jsonrpc: '2.0', id: 1, method: 'ping' }], sessionId);
    assert.equal(batch.status, 400);
  });

  it('a 2025-03-26 session takes a batch: one stream carries both answers', async (t) => {
    const stdio = backend(t);
    const { sessionId, result } = await initialize(stdio, '2025-03-26');
    assert.equal(result['protocolVersion'], '2025-03-26');
    const body = [1, 2].map((id) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `m${id}` } } }));
    const answer = await post(stdio, body, sessionId, { 'mcp-protocol-version': '2025-03-26' });
    assert.equal(answer.status, 200);
    const messages = await answerReader(answer).rest();
    assert.deepEqual(messages.map((message) => message['id']).sort(), [1, 2]);
  });

  it('MCP-Protocol-Version: one the gateway does not speak is 400; another it speaks is answered (the process keeps its own)', async (t) => {
    const stdio = backend(t);
    const { sessionId } = await initialize(stdio);
    const unsupported = await post(stdio, { jsonrpc: '2.0', id: 1, method: 'ping' }, sessionId, { 'mcp-protocol-version': '1999-01-01' });
    assert.equal(unsupported.status, 400);
    assert.match(JSON.parse(await text(unsupported.body))['error']['message'], /^Bad Request: unsupported MCP-Protocol-Version \(supported: 2025-11-25, 2025-06-18, 2025-03-26\)$/);
    const older = await post(stdio, { jsonrpc: '2.0', id: 2, method: 'ping' }, sessionId, { 'mcp-protocol-version': '2025-03-26' });
    assert.equal(older.status, 200);
    assert.equal(older.headers['content-type'], 'application/json');
    assert.deepEqual(await answerReader(older).rest(), [{ jsonrpc: '2.0', id: 2, result: {} }]);
  });

  it('a command that cannot be started rejects the exchange, naming the command; ready() says so', async (t) => {
    const stdio = backend(t, { command: 'portcullis-no-such-command', args: [] });
    assert.equal(await stdio.ready(), false);
    await assert.rejects(
      post(stdio, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
      (error: Error) => error.message.includes('"portcullis-no-such-command"') && error.message.includes('ENOENT'),
    );
    assert.equal(await backend(t).ready(), true);
  });

  it('the child gets the given env and PATH, never the gateway environment', async (t) => {
    process.env['PORTCULLIS_SECRET'] = 'gateway-only';
    t.after(() => delete process.env['PORTCULLIS_SECRET']);
    const stdio = backend(t, { env: { FIXTURE_SETTING: 'on' } });
    const { sessionId } = await initialize(stdio);
    const names = toolResult((await (await callTool(stdio, sessionId, 1, 'env', {})).rest())[0])['names'] as string[];
    assert.ok(names.includes('FIXTURE_SETTING') && names.includes('PATH'));
    assert.ok(!names.includes('PORTCULLIS_SECRET'));
  });

  it('stdout lines that are not JSON-RPC are skipped and logged by a short prefix only; stderr is logged at debug', async (t) => {
    const { logger, lines } = recordingLogger();
    const stdio = backend(t, { logger }, ['--noise']);
    const { sessionId } = await initialize(stdio);
    assert.equal(toolResult((await (await callTool(stdio, sessionId, 1, 'echo', { text: 'ok' })).rest())[0])['text'], 'ok');
    await eventually(() => lines.some((line) => line['stderr'] === 'fixture: starting with noise'), 'stderr logged');
    const skipped = lines.filter((line) => /was skipped/.test(line['msg'] as string));
    assert.equal(skipped.length, 2);
    assert.ok(!JSON.stringify(lines).includes('hunter2'));
    assert.ok(lines.filter((line) => line['stderr'] !== undefined).every((line) => typeof line['stdioSession'] === 'number'));
  });

  it('an idle session is stopped; close() stops every process', async (t) => {
    const idle = backend(t, { idleMs: 200 });
    const { sessionId } = await initialize(idle);
    const pid = toolResult((await (await callTool(idle, sessionId, 1, 'echo', { text: 'x' })).rest())[0])['pid'] as number;
    await eventually(() => !alive(pid), 'idle process stopped');
    assert.equal((await post(idle, { jsonrpc: '2.0', id: 2, method: 'ping' }, sessionId)).status, 404);

    const busy = backend(t);
    const pids = await Promise.all(
      [1, 2].map(async () => {
        const { sessionId: id } = await initialize(busy);
        return toolResult((await (await callTool(busy, id, 1, 'echo', { text: 'x' })).rest())[0])['pid'] as number;
      }),
    );
    await busy.close();
    assert.ok(pids.every((each) => !alive(each)));
  });
});

/**
 * The transport-free operations the REST endpoints use (same scope checks as JSON-RPC), and what the
 * server checks when it is built.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { JsonRpcError, OAuthError } from '../../src/core/errors.js';
import { Registry } from '../../src/mcp/registry.js';
import { McpServer } from '../../src/mcp/server.js';
import { SCOPES_META_KEY } from '../../src/mcp/types.js';
import { caller, Recorder, resolvers, testRegistry } from './helpers.js';

const writer = caller('alice', 'app', ['notes:read', 'notes:write']);
const nobody = caller('eve', 'app', []);

function server(): { mcp: McpServer; recorder: Recorder } {
  const recorder = new Recorder();
  return { mcp: new McpServer({ registry: testRegistry(recorder), info: { name: 't', version: '1' } }), recorder };
}

test('listTools lists every tool whatever the token, with its scopes; the schema is generated once', () => {
  const { mcp } = server();
  try {
    const tools = mcp.listTools(nobody);
    assert.ok(tools.some((t) => t.name === 'write_note' && (t._meta?.[SCOPES_META_KEY] as string[])[0] === 'notes:write'));
    assert.deepEqual(tools.find((t) => t.name === 'add')?._meta?.[SCOPES_META_KEY], []);
    assert.equal(mcp.listTools(writer), tools, 'the same cached list');
  } finally {
    mcp.close();
  }
});

test('callTool: 403 insufficient_scope before the tool runs; -32602 for an unknown tool; isError for bad arguments', async () => {
  const { mcp, recorder } = server();
  try {
    await assert.rejects(mcp.callTool('write_note', { text: 'x' }, nobody), (error: unknown) => error instanceof OAuthError && error.code === 'insufficient_scope' && error.scopes?.join() === 'notes:write');
    assert.equal(recorder.count('write_note'), 0);
    assert.deepEqual(await mcp.callTool('write_note', { text: 'x' }, writer), { content: [{ type: 'text', text: 'saved: x' }] });
    await assert.rejects(mcp.callTool('nope', {}, writer), (error: unknown) => error instanceof JsonRpcError && error.code === -32602);
    const bad = await mcp.callTool('add', { a: 1, b: 'two' }, writer);
    assert.equal(bad.isError, true);
    assert.equal(recorder.count('add'), 0);
  } finally {
    mcp.close();
  }
});

test('callTool forwards the caller’s AbortSignal to the tool', async () => {
  const { mcp, recorder } = server();
  try {
    recorder.slowStarted = resolvers();
    const controller = new AbortController();
    const result = mcp.callTool('slow', {}, writer, controller.signal);
    await recorder.slowStarted.promise;
    controller.abort();
    assert.deepEqual(await result, { content: [{ type: 'text', text: 'aborted' }] });
    assert.deepEqual(recorder.aborted, ['slow']);
  } finally {
    mcp.close();
  }
});

test('resources: scopes enforced on read; template entries listed only for callers holding the template’s scopes', async () => {
  const { mcp, recorder } = server();
  try {
    await assert.rejects(mcp.readResource('notes://all', nobody), (error: unknown) => error instanceof OAuthError && error.status === 403);
    assert.equal(recorder.count('notes://all'), 0);
    assert.deepEqual((await mcp.readResource('notes://9', writer)).contents, [{ uri: 'notes://9', mimeType: 'text/plain', text: 'note 9' }]);
    await assert.rejects(mcp.readResource('missing://x', writer), (error: unknown) => error instanceof JsonRpcError && error.code === -32002);
    assert.deepEqual((await mcp.listResources(nobody)).map((r) => r.uri), ['notes://all']);
    assert.deepEqual((await mcp.listResources(writer)).map((r) => r.uri), ['notes://all', 'notes://1']);
    assert.deepEqual(mcp.listPrompts(nobody).map((p) => p.name), ['summarize']);
  } finally {
    mcp.close();
  }
});

test('a tool registered later shows up in tools/list (the cache follows the registry)', () => {
  const registry = new Registry();
  const mcp = new McpServer({ registry, info: { name: 't', version: '1' } });
  try {
    assert.equal(mcp.listTools(writer).length, 0);
    registry.tool({ name: 'late', description: 'Late', input: z.object({ n: z.number().default(1) }), run: () => ({ content: [] }) });
    const [late] = mcp.listTools(writer);
    assert.equal(late?.name, 'late');
    assert.equal(late?.inputSchema.required, undefined, 'a field with a default is optional for the caller');
  } finally {
    mcp.close();
  }
});

test('bad definitions and options fail when the server is built', () => {
  const registry = new Registry().resourceTemplate({ uriTemplate: 'x://{+path}', name: 'x', read: () => [] });
  assert.throws(() => new McpServer({ registry, info: { name: 't', version: '1' } }), /only RFC 6570 level-1 variables/);
  assert.throws(() => new McpServer({ registry: new Registry(), info: { name: 't', version: '1' }, maxBodyBytes: -1 }), /maxBodyBytes/);
});

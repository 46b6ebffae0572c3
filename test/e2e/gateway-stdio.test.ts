/**
 * `portcullis proxy -- COMMAND`: the gateway in front of a stdio MCP server (a real SDK server, one process
 * per session), driven by the official MCP client with a token of the gateway's embedded authorization
 * server: the caller's identity reaches the process in `_meta` and the token never does, two sessions get
 * two processes, progress flows back, a process that dies mid-call gives that call a JSON-RPC error and the
 * next call works on a restarted process without the client re-initializing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { ADMIN, freePort, runCli } from '../helpers/embedded-as.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

const TIMEOUT = { timeout: 90_000 };
const FIXTURE = new URL('../fixtures/stdio-server.ts', import.meta.url).pathname;
const TOOL_SCOPES = { tools: { '*': ['fixture:use'] } };

interface Result {
  pid: number;
  meta: Record<string, unknown> | null;
  text?: string;
}

function parse(result: unknown): Result {
  const content = (result as { content: { text: string }[] }).content;
  return JSON.parse(content[0]!.text) as Result;
}

describe('the gateway in front of a stdio MCP server', TIMEOUT, () => {
  let dir: string;
  let gateway: ServeProcess;
  let token: string;
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'portcullis-stdio-e2e', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-stdio-'));
    const scopes = join(dir, 'scopes.json');
    writeFileSync(scopes, JSON.stringify(TOOL_SCOPES));
    const port = await freePort();
    const store = `sqlite:${join(dir, 'gateway.db')}`;
    gateway = await startServe(['--store', store, '--port', String(port), '--tool-scopes', scopes, '--', process.execPath, '--import', 'tsx', FIXTURE], { PORTCULLIS_ADMIN_PASSWORD: ADMIN.password }, { command: 'proxy' });
    const minted = await runCli(['token', '--store', store, '--port', String(port), '--tool-scopes', scopes, '--scope', 'fixture:use']);
    assert.equal(minted.code, 0, minted.stderr);
    token = minted.stdout.trim();
  });

  after(async () => {
    for (const client of clients) await client.close().catch(() => {});
    await gateway?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the tools with their scopes; the process sees the caller in _meta, never the token', async () => {
    const client = await connect();
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['ask', 'crash', 'echo', 'env', 'later', 'slow']);
    assert.deepEqual(tools[0]!._meta?.['dev.portcullis/scopes'], ['fixture:use']);
    const claims = decodeJwt(token);
    const echoed = parse(await client.callTool({ name: 'echo', arguments: { text: 'hi' }, _meta: { 'dev.portcullis/caller': { sub: 'forged' } } }));
    assert.deepEqual(echoed.meta?.['dev.portcullis/caller'], { sub: claims.sub, client_id: claims.client_id, scopes: ['fixture:use'] });
    const names = (parse(await client.callTool({ name: 'env', arguments: {} })) as unknown as { names: string[] }).names;
    assert.deepEqual(names, ['PATH'], 'the process gets PATH and nothing of the gateway (no secret, no admin password)');
    assert.ok(!gateway.output().includes(token), 'the token is never logged');
  });

  it('two sessions run in two processes; progress comes back on the call', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const [pidA, pidB] = await Promise.all([a, b].map(async (c) => parse(await c.callTool({ name: 'echo', arguments: { text: 'x' } })).pid));
    assert.notEqual(pidA, pidB);
    const progress: number[] = [];
    await a.callTool({ name: 'slow', arguments: { steps: 3 } }, { onprogress: (p) => progress.push(p.progress) });
    assert.deepEqual(progress, [1, 2, 3]);
  });

  it('a process that dies mid-call fails that call; the next call works on a new process, same session', async () => {
    const client = await connect();
    const before = parse(await client.callTool({ name: 'echo', arguments: { text: 'before' } })).pid;
    await assert.rejects(client.callTool({ name: 'crash', arguments: { code: 3 } }), /exited|backend/i);
    const after = parse(await client.callTool({ name: 'echo', arguments: { text: 'after' } }));
    assert.notEqual(after.pid, before, 'a restarted process');
    const health = await fetch(new URL('/health', gateway.url));
    assert.equal(health.status, 200, 'the gateway stayed up');
  });
});

/**
 * What idle sessions cost: 10,000 sessions created through handle() (initialize over a lightweight fake
 * request/response, the same code path as over HTTP minus the socket) must stay far below 50 MB. Also
 * the session store's expiry sweep.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { McpServer } from '../../src/mcp/server.js';
import { SessionStore } from '../../src/mcp/session.js';
import { Stream } from '../../src/mcp/sse.js';
import { caller, Recorder, testRegistry } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const INITIALIZE = Buffer.from(
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: { sampling: {} }, clientInfo: { name: 'memory-test', version: '1.0.0' } } }),
);
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'content-length': String(INITIALIZE.length) };

function fakeRequest(): IncomingMessage {
  const req = Readable.from([INITIALIZE], { objectMode: false }) as unknown as IncomingMessage;
  Object.assign(req, { method: 'POST', url: '/mcp', headers: HEADERS });
  return req;
}

class FakeResponse {
  statusCode = 0;
  sessionId: string | undefined;
  headersSent = false;
  destroyed = false;
  writeHead(status: number, headers?: Record<string, string | number>): this {
    this.statusCode = status;
    this.sessionId = headers?.['mcp-session-id'] as string | undefined;
    this.headersSent = true;
    return this;
  }
  end(): this {
    return this;
  }
}

function settle(): { heap: number; rss: number } {
  for (let i = 0; i < 3; i++) gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

test('10,000 idle sessions cost well under 50 MB', async (t) => {
  const mcp = new McpServer({ registry: testRegistry(new Recorder()), info: { name: 'memory', version: '1' } });
  try {
    const auth = caller('alice', 'app', ['notes:read']);
    const open = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const res = new FakeResponse();
        await mcp.handle(fakeRequest(), res as unknown as ServerResponse, auth, {});
        assert.equal(res.statusCode, 200);
        assert.ok(res.sessionId);
      }
    };
    await open(200); // warm up: JIT, lazily built structures
    const before = settle();
    await open(10_000);
    const after = settle();
    assert.equal(mcp.sessionCount, 10_200);
    const heapMb = (after.heap - before.heap) / 2 ** 20;
    const rssMb = (after.rss - before.rss) / 2 ** 20;
    t.diagnostic(`10,000 idle sessions: heap +${heapMb.toFixed(1)} MB (${Math.round((after.heap - before.heap) / 10_000)} bytes each), RSS +${rssMb.toFixed(1)} MB`);
    assert.ok(heapMb < 50, `heap grew ${heapMb.toFixed(1)} MB`);
    assert.ok(rssMb < 50, `RSS grew ${rssMb.toFixed(1)} MB`);
  } finally {
    mcp.close();
  }
});

test('the sweep ends sessions idle past idleMs, keeps the recently used', async () => {
  let now = 0;
  const store = new SessionStore({ idleMs: 1_000, maxSessions: 3, now: () => now });
  try {
    const auth = caller('alice', 'app', []);
    const old = (await store.create(auth, '2025-11-25', 0))!;
    now = 600;
    const recent = (await store.create(auth, '2025-11-25', 0))!;
    now = 1_200;
    store.sweep();
    assert.equal(store.size, 1);
    assert.equal(store.find(old.id, auth), undefined);
    assert.equal(store.find(recent.id, auth), recent);
    // Full: the next create sweeps first, then refuses when nothing can go.
    await store.create(auth, '2025-11-25', 0);
    await store.create(auth, '2025-11-25', 0);
    assert.equal(await store.create(auth, '2025-11-25', 0), undefined);
    now = 10_000;
    assert.ok(await store.create(auth, '2025-11-25', 0), 'expired sessions make room');
    assert.equal(store.size, 1);
  } finally {
    store.close();
  }
});

test('the sweep keeps a session whose GET stream is open, and pings that stream', async () => {
  let now = 0;
  const store = new SessionStore({ idleMs: 1_000, maxSessions: 10, now: () => now });
  try {
    const auth = caller('alice', 'app', []);
    const listening = (await store.create(auth, '2025-11-25', 0))!;
    const written: string[] = [];
    const res = { destroyed: false, writeHead: () => res, write: (chunk: string) => written.push(chunk), end: () => res };
    const stream = new Stream(0, 8, 1_000);
    stream.attach(res as unknown as ServerResponse, {});
    (listening.streams = new Map()).set(0, stream);
    now = 5_000;
    store.sweep();
    assert.equal(store.size, 1, 'an open stream is activity');
    assert.deepEqual(written, ['id: 0_0\nretry: 1000\ndata: \n\n', ': ping\n\n']);
    res.destroyed = true;
    store.sweep();
    assert.equal(store.size, 0, 'once the connection is gone the idle session ends');
  } finally {
    store.close();
  }
});

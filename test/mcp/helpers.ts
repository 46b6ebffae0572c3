/**
 * A minimal node:http server around McpServer for the MCP core's tests, with a registry whose handlers
 * record what ran. The caller is chosen per request by the `x-test-caller` header (the real bearer guard
 * is tested elsewhere); an `insufficient_scope` rejection from handle() is rendered as the HTTP layer would,
 * 403 with a `WWW-Authenticate` step-up challenge.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { AuthInfo } from '../../src/core/auth.js';
import { JsonRpcCode, JsonRpcError, OAuthError } from '../../src/core/errors.js';
import { sendJson } from '../../src/core/http.js';
import type { RequestLog } from '../../src/core/log.js';
import { Registry } from '../../src/mcp/registry.js';
import { McpServer, type McpServerOptions } from '../../src/mcp/server.js';

export function caller(subject: string, clientId: string, scopes: readonly string[]): AuthInfo {
  return { subject, clientId, scopes, audience: ['http://127.0.0.1/mcp'], issuer: 'https://issuer.test', expiresAt: Math.floor(Date.now() / 1000) + 3600, claims: {} };
}

/** Callers by `x-test-caller` (default alice). */
export const CALLERS: Readonly<Record<string, AuthInfo>> = {
  alice: caller('alice', 'app', ['notes:read', 'notes:write']),
  reader: caller('alice', 'app', ['notes:read']),
  bob: caller('bob', 'app', ['notes:read', 'notes:write']),
  'alice-other-app': caller('alice', 'other-app', ['notes:read', 'notes:write']),
  'alice-no-scopes': caller('alice', 'app', []),
};

/** What the test handlers did, for asserting that a refused call never ran. */
export class Recorder {
  readonly runs = new Map<string, number>();
  readonly aborted: string[] = [];
  /** Resolved when the `slow` tool starts (so a test can cancel it mid-run). */
  slowStarted: PromiseWithResolversLike<void> = resolvers();
  /** The `poll` tool finishes once this resolves. */
  pollGate: PromiseWithResolversLike<void> = resolvers();

  ran(name: string): void {
    this.runs.set(name, (this.runs.get(name) ?? 0) + 1);
  }

  count(name: string): number {
    return this.runs.get(name) ?? 0;
  }
}

export interface PromiseWithResolversLike<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function resolvers<T>(): PromiseWithResolversLike<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export function testRegistry(recorder: Recorder): Registry {
  const registry = new Registry();
  registry
    .tool({
      name: 'add',
      description: 'Adds two numbers',
      input: z.object({ a: z.number(), b: z.number() }),
      run: ({ a, b }) => (recorder.ran('add'), { content: [{ type: 'text', text: String(a + b) }] }),
    })
    .tool({
      name: 'write_note',
      description: 'Writes a note (needs notes:write)',
      input: z.object({ text: z.string() }),
      scopes: ['notes:write'],
      run: ({ text }) => (recorder.ran('write_note'), { content: [{ type: 'text', text: `saved: ${text}` }] }),
    })
    .tool({
      name: 'progress',
      description: 'Reports progress three times',
      input: z.object({}),
      run: async (_args, ctx) => {
        recorder.ran('progress');
        for (let i = 1; i <= 3; i++) await ctx.progress(i, 3, `step ${i}`);
        await ctx.log('info', { step: 'done' }, 'progress-tool');
        await ctx.log('debug', 'debug detail');
        return { content: [{ type: 'text', text: 'progressed' }] };
      },
    })
    .tool({
      name: 'slow',
      description: 'Runs until cancelled (at most 10 s)',
      input: z.object({}),
      run: async (_args, ctx) => {
        recorder.ran('slow');
        const signal = ctx.signal;
        recorder.slowStarted.resolve();
        await sleep(10_000, undefined, { signal }).catch(() => recorder.aborted.push('slow'));
        return { content: [{ type: 'text', text: signal.aborted ? 'aborted' : 'finished' }] };
      },
    })
    .tool({
      name: 'poll',
      description: 'Closes its connection mid-call (SEP-1699 polling); finishes when the test releases it',
      input: z.object({}),
      run: async (_args, ctx) => {
        recorder.ran('poll');
        await ctx.progress(1, 2);
        ctx.closeStream?.();
        await recorder.pollGate.promise;
        await ctx.progress(2, 2);
        return { content: [{ type: 'text', text: 'polled' }] };
      },
    })
    .tool({
      name: 'ask',
      description: 'Asks the client to sample an LLM',
      input: z.object({ question: z.string() }),
      run: async ({ question }, ctx) => {
        recorder.ran('ask');
        const answer = await ctx.request('sampling/createMessage', { messages: [{ role: 'user', content: { type: 'text', text: question } }], maxTokens: 10 });
        return { content: [{ type: 'text', text: `answer: ${(answer['content'] as { text: string }).text}` }] };
      },
    })
    .tool({
      name: 'boom',
      description: 'Fails with an internal error',
      input: z.object({}),
      run: () => {
        recorder.ran('boom');
        throw new Error('database password is hunter2');
      },
    })
    .tool({
      name: 'rpc_fail',
      description: 'Fails with a JSON-RPC error',
      input: z.object({}),
      run: () => {
        throw new JsonRpcError(JsonRpcCode.InvalidParams, 'That note is locked', { note: 7 });
      },
    })
    .tool({
      name: 'raw_schema',
      description: 'Takes a raw JSON Schema input',
      input: { jsonSchema: { type: 'object', properties: { anything: {} }, additionalProperties: true } },
      run: (args) => ({ content: [{ type: 'text', text: JSON.stringify(args) }] }),
    });

  registry
    .resource({
      uri: 'notes://all',
      name: 'All notes',
      mimeType: 'application/json',
      scopes: ['notes:read'],
      read: () => (recorder.ran('notes://all'), [{ uri: 'notes://all', mimeType: 'application/json', text: '[1,2]' }]),
    })
    .resourceTemplate({
      uriTemplate: 'notes://{id}',
      name: 'One note',
      mimeType: 'text/plain',
      scopes: ['notes:read'],
      complete: { id: (value) => ['1', '2', '12'].filter((id) => id.startsWith(value)) },
      list: () => [{ uri: 'notes://1', name: 'Note 1' }],
      read: (uri, { id }) => (id === '404' ? undefined : [{ uri, mimeType: 'text/plain', text: `note ${id}` }]),
    });

  registry.prompt({
    name: 'summarize',
    description: 'Summarizes a topic',
    arguments: [{ name: 'topic', required: true }],
    complete: { topic: (value) => ['security', 'sessions', 'scopes'].filter((t) => t.startsWith(value)) },
    get: ({ topic }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Summarize ${topic}` } }] }),
  });
  return registry;
}

export interface TestServer {
  url: string;
  mcp: McpServer;
  recorder: Recorder;
  /** The request log of every request, in arrival order. */
  logs: RequestLog[];
  close(): Promise<void>;
}

export async function startServer(options: Partial<McpServerOptions> = {}): Promise<TestServer> {
  const recorder = new Recorder();
  const mcp = new McpServer({ registry: testRegistry(recorder), info: { name: 'test', version: '1.0.0' }, ...options });
  const logs: RequestLog[] = [];
  const server = http.createServer((req, res) => {
    const log: RequestLog = {};
    logs.push(log);
    const auth = CALLERS[(req.headers['x-test-caller'] as string | undefined) ?? 'alice'];
    if (auth === undefined) return sendJson(res, 401, { error: 'invalid_token' });
    mcp.handle(req, res, auth, log).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof OAuthError) {
        return sendJson(res, error.status, error.toJSON(), { 'www-authenticate': `Bearer error="${error.code}", scope="${(error.scopes ?? []).join(' ')}"` });
      }
      sendJson(res, 500, { error: 'server_error' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    mcp,
    recorder,
    logs,
    async close() {
      mcp.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const POST_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } as const;

/** POSTs one JSON-RPC body (object, array or raw string) and returns the fetch response. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { ...POST_HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** Initializes a session over raw HTTP and returns its id. */
export async function initialize(url: string, protocolVersion = '2025-11-25', headers: Record<string, string> = {}, capabilities: object = {}): Promise<string> {
  const res = await post(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion, capabilities, clientInfo: { name: 'raw', version: '1' } } }, headers);
  if (res.status !== 200) throw new Error(`initialize answered ${res.status}: ${await res.text()}`);
  const id = res.headers.get('mcp-session-id');
  if (id === null) throw new Error('initialize gave no session id');
  await res.text();
  await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': protocolVersion }).then((r) => r.text());
  return id;
}

/** Reads an SSE body into its events (id and parsed data; the priming event has data ''). */
export async function readEvents(res: Response): Promise<{ id: string | undefined; data: string }[]> {
  return parseEvents(await res.text());
}

export function parseEvents(text: string): { id: string | undefined; data: string }[] {
  const events: { id: string | undefined; data: string }[] = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    let id: string | undefined;
    const data: string[] = [];
    let sawData = false;
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data:')) {
        sawData = true;
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
    if (sawData || id !== undefined) events.push({ id, data: data.join('\n') });
  }
  return events;
}

/** Polls `condition` until it holds (bounded: fails after `timeoutMs`). */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Reads SSE events one at a time as they arrive (each read bounded by a timeout). */
export class EventReader {
  private buffer = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(res: Response) {
    if (res.body === null) throw new Error('no body');
    this.reader = res.body.getReader();
  }

  /** The next event, or undefined when the stream ended. */
  async next(timeoutMs = 5_000): Promise<{ id: string | undefined; data: string } | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end !== -1) {
        const block = this.buffer.slice(0, end + 2);
        this.buffer = this.buffer.slice(end + 2);
        const [event] = parseEvents(block);
        if (event !== undefined) return event;
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no SSE event in time')), timeoutMs)));
      const { value, done } = await Promise.race([this.reader.read(), timeout]).finally(() => clearTimeout(timer));
      if (done) return undefined;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Every remaining event until the stream ends. */
  async rest(): Promise<{ id: string | undefined; data: string }[]> {
    const events: { id: string | undefined; data: string }[] = [];
    for (let event = await this.next(); event !== undefined; event = await this.next()) events.push(event);
    return events;
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

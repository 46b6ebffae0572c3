/**
 * Streamable-HTTP-shaped exchanges for driving a `Backend` directly (no HTTP in between): request
 * builders, an SSE reader with bounded waits, and the client's side of `initialize`.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { AuthInfo } from '../../src/core/auth.js';
import { abandonOn, bodyStream, type Backend, type BackendResponse } from '../../src/gateway/backend.js';
import { EventSplitter, eventData } from '../../src/gateway/lib/sse-events.js';

/** Every wait of these helpers gives up after this long. */
export const WAIT_MS = 20_000;

export const caller: AuthInfo = { subject: 'alice', clientId: 'client-1', scopes: ['mcp'], audience: [], issuer: 'https://as.example', expiresAt: 0, claims: {} };

/** What the gateway stamps into `params._meta` (identity.ts): the backend must pass it through unchanged. */
export const CALLER_META = { 'dev.portcullis/caller': { sub: 'alice', client_id: 'client-1', scopes: ['mcp'] } };

/** Parsed JSON, loosely typed so that assertions can reach into it tersely. */
export type Json = Record<string, any>;

function headers(sessionId: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    ...(sessionId !== undefined ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } : {}),
    ...extra,
  };
}

export function post(backend: Backend, body: unknown, sessionId?: string, extra?: Record<string, string>, signal = AbortSignal.timeout(WAIT_MS)): Promise<BackendResponse> {
  return backend.send({ method: 'POST', headers: headers(sessionId, extra), body: JSON.stringify(body), caller, onAbandon: abandonOn(signal) });
}

export function get(backend: Backend, sessionId: string | undefined, signal = new AbortController().signal): Promise<BackendResponse> {
  const sent: Record<string, string> = { accept: 'text/event-stream', ...(sessionId !== undefined ? { 'mcp-session-id': sessionId } : {}) };
  return backend.send({ method: 'GET', headers: sent, caller, onAbandon: abandonOn(signal) });
}

export function remove(backend: Backend, sessionId: string): Promise<BackendResponse> {
  return backend.send({ method: 'DELETE', headers: { 'mcp-session-id': sessionId }, caller, onAbandon: abandonOn(AbortSignal.timeout(WAIT_MS)) });
}

/** The whole body as text (within {@link WAIT_MS}). */
export async function text(whole: BackendResponse['body']): Promise<string> {
  if (!(whole instanceof Readable)) return whole.toString();
  const body = whole;
  const chunks: Buffer[] = [];
  const timer = setTimeout(() => body.destroy(new Error(`the body did not end within ${WAIT_MS} ms`)), WAIT_MS);
  try {
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer));
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The JSON-RPC messages of an SSE stream (or of a JSON body, `kind: 'json'`: its one message, or a batch's
 * items), read one at a time, each wait bounded.
 */
export class EventReader {
  readonly #queue: Json[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  readonly body: Readable;

  constructor(
    source: BackendResponse['body'],
    readonly kind: 'sse' | 'json' = 'sse',
  ) {
    const body = bodyStream(source);
    this.body = body;
    const splitter = new EventSplitter();
    const chunks: Buffer[] = [];
    body.on('data', (chunk: Buffer) => {
      if (kind === 'json') return void chunks.push(chunk);
      for (const event of splitter.push(chunk)) {
        const data = eventData(event);
        if (data !== undefined && data !== '') this.#queue.push(JSON.parse(data) as Json);
      }
      this.#wake?.();
    });
    const end = (): void => {
      if (kind === 'json' && !this.#ended && chunks.length > 0) {
        const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json | Json[];
        this.#queue.push(...(Array.isArray(value) ? value : [value]));
      }
      this.#ended = true;
      this.#wake?.();
    };
    body.once('end', end);
    body.once('close', end);
    body.once('error', end);
  }

  /** The next message; undefined once the stream ended. */
  async next(): Promise<Json | undefined> {
    const deadline = Date.now() + WAIT_MS;
    while (this.#queue.length === 0 && !this.#ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${WAIT_MS} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.#queue.shift();
  }

  /** Every message until the stream ends. */
  async rest(): Promise<Json[]> {
    const all: Json[] = [];
    for (let message = await this.next(); message !== undefined; message = await this.next()) all.push(message);
    return all;
  }

  /** Messages until one matches (returned last). */
  async until(match: (message: Json) => boolean): Promise<Json[]> {
    const seen: Json[] = [];
    for (;;) {
      const message = await this.next();
      if (message === undefined) throw new Error(`the stream ended before the expected message; saw ${JSON.stringify(seen)}`);
      seen.push(message);
      if (match(message)) return seen;
    }
  }
}

/** The client's side of `initialize` + `notifications/initialized`; resolves with the session id. */
export async function initialize(backend: Backend, protocolVersion = '2025-11-25'): Promise<{ sessionId: string; result: Json }> {
  const params = { protocolVersion, capabilities: { elicitation: { form: {} } }, clientInfo: { name: 'stdio-backend-test', version: '1.0.0' } };
  const answer = await post(backend, { jsonrpc: '2.0', id: 'init-1', method: 'initialize', params });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['content-type'], 'application/json');
  const sessionId = answer.headers['mcp-session-id'];
  assert.ok(typeof sessionId === 'string');
  const message = JSON.parse(await text(answer.body)) as Json;
  assert.equal(message['id'], 'init-1');
  const initialized = await post(backend, { jsonrpc: '2.0', method: 'notifications/initialized' }, sessionId, { 'mcp-protocol-version': protocolVersion });
  assert.equal(initialized.status, 202);
  await text(initialized.body);
  return { sessionId, result: message['result'] as Json };
}

/** The messages of a POST's answer, whether JSON or an SSE stream (`reader.kind` says which). */
export function answerReader(answer: BackendResponse): EventReader {
  return new EventReader(answer.body, answer.headers['content-type'] === 'application/json' ? 'json' : 'sse');
}

/** A `tools/call` as the gateway forwards it (the caller stamped in `_meta`); resolves with its answer's reader. */
export async function callTool(backend: Backend, sessionId: string, id: string | number, name: string, args: Json, meta: Json = {}): Promise<EventReader> {
  const params = { name, arguments: args, _meta: { ...meta, ...CALLER_META } };
  const answer = await post(backend, { jsonrpc: '2.0', id, method: 'tools/call', params }, sessionId);
  assert.equal(answer.status, 200);
  assert.match(String(answer.headers['content-type']), /^(application\/json|text\/event-stream)$/);
  assert.equal(answer.headers['mcp-session-id'], sessionId);
  return answerReader(answer);
}

/** The fixture's tool result (`{ pid, meta, ... }`) carried by a response. */
export function toolResult(response: Json | undefined): Json {
  assert.ok(response?.['result'], `not a result: ${JSON.stringify(response)}`);
  return JSON.parse(response['result']['content'][0]['text'] as string) as Json;
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until `check` holds. */
export async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

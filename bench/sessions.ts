/**
 * What idle MCP sessions cost: opens `count` sessions (initialize + `initialized`, over a keep-alive
 * agent with bounded concurrency) against a fresh server process and reports how much its resident
 * memory grew.
 *
 * The server is warmed first with as many requests that create nothing, on one session, so the
 * baseline already includes what any load costs (JIT code, V8's young generation grown to its working
 * size, socket buffers); the delta is then what the sessions themselves keep. RSS is read after a
 * short settle, without forcing a GC (the server is measured from outside).
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { rssMegabytes } from './lib/proc.js';
import { CALL_BODY, INITIALIZE_BODY, INITIALIZED_BODY, mcpHeaders } from './lib/mcp-client.js';

export interface SessionMemory {
  sessions: number;
  /** Sessions the server refused or answered without an `Mcp-Session-Id`. */
  failed: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  deltaMb: number;
  /** Bytes per session, from the delta. */
  bytesPerSession: number;
  seconds: number;
}

export interface SessionOptions {
  url: string;
  token: string;
  pid: number;
  count: number;
  concurrency: number;
  settleMs?: number;
}

interface Reply {
  status: number;
  sessionId: string | undefined;
}

function post(agent: http.Agent, url: URL, headers: Record<string, string>, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.once('end', () => {
        const sessionId = res.headers['mcp-session-id'];
        resolve({ status: res.statusCode ?? 0, sessionId: typeof sessionId === 'string' ? sessionId : undefined });
      });
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function pool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * @example
 * const memory = await measureIdleSessions({ url, token, pid: serve.pid, count: 10_000, concurrency: 16 });
 */
export async function measureIdleSessions(options: SessionOptions): Promise<SessionMemory> {
  const { token, pid, count, concurrency, settleMs = 1500 } = options;
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    const warm = await post(agent, url, mcpHeaders(token), INITIALIZE_BODY);
    if (warm.sessionId === undefined) throw new Error(`initialize answered ${warm.status} without a session`);
    await post(agent, url, mcpHeaders(token, warm.sessionId), INITIALIZED_BODY);
    const callHeaders = mcpHeaders(token, warm.sessionId);
    await pool(count * 2, concurrency, async (i) => {
      await post(agent, url, callHeaders, CALL_BODY.replace('"[<id>]"', String(i)));
    });
    await sleep(settleMs);
    const rssBeforeMb = rssMegabytes(pid);

    const started = performance.now();
    let failed = 0;
    await pool(count, concurrency, async () => {
      const reply = await post(agent, url, mcpHeaders(token), INITIALIZE_BODY);
      if (reply.status !== 200 || reply.sessionId === undefined) {
        failed += 1;
        return;
      }
      await post(agent, url, mcpHeaders(token, reply.sessionId), INITIALIZED_BODY);
    });
    const seconds = (performance.now() - started) / 1000;
    await sleep(settleMs);
    const rssAfterMb = rssMegabytes(pid);
    const deltaMb = rssAfterMb - rssBeforeMb;
    const opened = count - failed;
    return { sessions: opened, failed, rssBeforeMb, rssAfterMb, deltaMb, bytesPerSession: opened > 0 ? (deltaMb * 1024 * 1024) / opened : 0, seconds };
  } finally {
    agent.destroy();
  }
}

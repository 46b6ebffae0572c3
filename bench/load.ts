/**
 * The load generator: a child process (forked by `run.ts` with an IPC channel) that runs `autocannon`
 * on request, so the load never shares an event loop with the orchestrator or a server.
 *
 * Each job is one autocannon run; the reply carries throughput and latency. Latency percentiles come
 * from every response time autocannon measures (sub-millisecond resolution), not from autocannon's own
 * histogram, which records whole milliseconds. Every response body must contain `expect`; the ones
 * that do not are counted as `mismatches` (a JSON-RPC error answered with HTTP 200 is not a success).
 */
import { createRequire } from 'node:module';

/** What the orchestrator asks for. `[<id>]` in `body` becomes a unique JSON-RPC id per request. */
export interface LoadJob {
  url: string;
  headers: Record<string, string>;
  body: string;
  expect: string;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  /** Successful (2xx, expected body) requests completed in the run. */
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
}

export type LoadMessage = { type: 'run'; job: LoadJob } | { type: 'exit' };
export type LoadReply = { type: 'result'; result: LoadResult } | { type: 'failed'; error: string };

interface AutocannonResult {
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  '2xx': number;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (options: Record<string, unknown>, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function run(job: LoadJob): Promise<LoadResult> {
  let times = new Float64Array(1 << 16);
  let count = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        method: 'POST',
        headers: job.headers,
        body: job.body,
        idReplacement: true,
        verifyBody: (body: string) => body.includes(job.expect),
        connections: job.connections,
        duration: job.seconds,
        pipelining: 1,
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const sorted = times.subarray(0, count).sort();
        const requests = result['2xx'] - result.mismatches;
        resolve({
          requests,
          seconds: result.duration,
          rps: requests / result.duration,
          p50: percentile(sorted, 0.5),
          p90: percentile(sorted, 0.9),
          p99: percentile(sorted, 0.99),
          max: percentile(sorted, 1),
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches,
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status < 200 || status >= 300) return;
      if (count === times.length) {
        const grown = new Float64Array(times.length * 2);
        grown.set(times);
        times = grown;
      }
      times[count++] = ms;
    });
  });
}

process.on('message', (message: LoadMessage) => {
  if (message.type === 'exit') {
    process.disconnect();
    return;
  }
  // The orchestrator may be gone by then (interrupted): there is nobody to answer.
  const reply = (message: LoadReply): void => void (process.connected && process.send!(message));
  run(message.job).then(
    (result) => reply({ type: 'result', result }),
    (error: unknown) => reply({ type: 'failed', error: String(error) }),
  );
});

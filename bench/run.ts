/**
 * `npm run bench`: authenticated MCP `tools/call` throughput of Portcullis against the Node `http` floor
 * and the official SDK v2 anchor (stateful and stateless); `portcullis serve` with its embedded
 * authorization server on SQLite, Redis and PostgreSQL, for `tools/call` and for its token endpoint
 * (`client_credentials`); the gateway (`portcullis proxy`) in front of a lean MCP server, beside that
 * server called directly; then the memory of 10,000 idle sessions.
 *
 * Every server runs in its own process and the load comes from autocannon in another (`load.ts`), so
 * the orchestrator's event loop carries no load. Rounds alternate between the servers (the order
 * rotates each round) so drift on a shared machine spreads over all rows: per round a short warm-up,
 * then a measured run with server CPU read from `/proc` before and after. Each row reports the median
 * of its rounds. Output: the Markdown table on stdout (for the README) and everything, rounds
 * included, as JSON in `bench/results.json`. Loopback only; Linux (`/proc`) only.
 *
 * Portcullis runs from `dist/` (`npm run build` first), as `portcullis serve --port 0 --issuer <local
 * issuer> --store memory: --log-level info` for the `portcullis` row and `portcullis serve --port 0
 * --store <fresh place> --log-level info` for the store rows (`stores.ts`), its log lines drained from a
 * pipe. The gateway rows run `portcullis proxy` the same way (`--issuer <local issuer> --store memory:`) in
 * front of their own backend (`servers/backend.ts`), started and stopped with the row. The CPU per request
 * of the other processes working for a row (the Redis or PostgreSQL store server, the backend behind a
 * gateway) is read over the same measured run and reported beside the server's own. A row
 * that cannot start because something outside the bench is missing (Portcullis not built, Redis or
 * PostgreSQL down) is reported as skipped; any other failure to start a row makes the exit code 1.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerProcess } from './lib/child.js';
import { compileServers } from './lib/compile.js';
import { startLoadGenerator, type LoadGenerator } from './lib/load-client.js';
import { USAGE, parseOptions, type BenchOptions } from './lib/options.js';
import { cpuDelta, cpuMicros, rssMegabytes } from './lib/proc.js';
import { formatProfile, summarizeProfile } from './lib/profile.js';
import { startIssuer, type Issuer } from './issuer.js';
import { RowUnavailable } from './lib/unavailable.js';
import { caveatLines, gatewayTargetLines, markdownTable, otherCpuLines, sessionLine, summarize, targetLines, type RowResult } from './report.js';
import { defineRows, portcullisMissing, startPortcullis, type Row, type RowContext, type Target } from './rows.js';
import { measureIdleSessions, type SessionMemory } from './sessions.js';
import { benchStores } from './stores.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

interface Running {
  row: Row;
  server: ServerProcess;
  target: Target;
  result: RowResult;
}

/** Starts the rows, appending each ready one to `running` at once, so a later failure still stops it. */
async function startRows(rows: readonly Row[], results: RowResult[], running: Running[]): Promise<void> {
  for (const row of rows) {
    const result: RowResult = { id: row.id, label: row.label, operation: row.operation, ...(row.others && { others: row.others.kind }), rounds: [] };
    results.push(result);
    let server: ServerProcess | undefined;
    try {
      server = await row.start();
      const target = await row.prepare(server);
      running.push({ row, server, target, result });
      progress(`ready ${row.id} at ${server.url} (pid ${server.pid})`);
    } catch (error) {
      await server?.stop();
      result.skipped = (error as Error).message;
      if (error instanceof RowUnavailable) result.unavailable = true;
      progress(`skip ${row.id}: ${result.skipped}`);
    }
  }
}

/** The CPU of the row's other processes, or undefined when there are none or they cannot be read now (that store down). */
async function othersCpu(row: Row): Promise<Map<number, number> | undefined> {
  try {
    return await row.others?.cpu();
  } catch {
    return undefined;
  }
}

async function measureRound(entry: Running, round: number, options: BenchOptions, load: LoadGenerator): Promise<void> {
  const { url, headers, body, expect } = entry.target;
  const job = { url, headers, body, expect, connections: options.connections };
  if (options.warmup > 0) await load.run({ ...job, seconds: options.warmup });
  const { pid } = entry.server;
  // Read after the warm-up, which (re)opens the store connections an idle pool may have closed.
  const othersBefore = await othersCpu(entry.row);
  const cpuBefore = cpuMicros(pid);
  const bytesBefore = entry.server.stdoutBytes;
  const result = await load.run({ ...job, seconds: options.seconds });
  const cpu = cpuMicros(pid) - cpuBefore;
  const bytes = entry.server.stdoutBytes - bytesBefore;
  const othersAfter = othersBefore && (await othersCpu(entry.row));
  const perRequest = (value: number): number => (result.requests > 0 ? value / result.requests : Number.NaN);
  const othersMicros = othersBefore && othersAfter ? perRequest(cpuDelta(othersBefore, othersAfter)) : undefined;
  const { requests, seconds, rps, p50, p90, p99, max, non2xx, errors, timeouts, mismatches } = result;
  const others = othersMicros === undefined ? {} : { otherCpuMicrosPerRequest: othersMicros };
  entry.result.rounds.push({ round, requests, seconds, rps, p50, p90, p99, max, cpuMicrosPerRequest: perRequest(cpu), ...others, stdoutBytesPerRequest: perRequest(bytes), non2xx, errors, timeouts, mismatches });
  const failures = non2xx + errors + timeouts + mismatches;
  const othersNote = othersMicros === undefined ? '' : ` + ${entry.row.others!.kind} ${Math.round(othersMicros)}`;
  progress(
    `round ${round}/${options.rounds} ${entry.row.id.padEnd(14)} ${Math.round(rps).toString().padStart(6)} req/s  p50 ${p50.toFixed(2)} ms  p99 ${p99.toFixed(2)} ms  CPU ${Math.round(perRequest(cpu))}${othersNote} µs/req${failures > 0 ? `  ⚠ ${failures} failed` : ''}`,
  );
}

async function measureSessions(context: RowContext, options: BenchOptions): Promise<SessionMemory | undefined> {
  if (options.sessions === 0 || !options.only.includes('portcullis') || portcullisMissing(root)) return undefined;
  const server = await startPortcullis({ ...context, portcullisNodeFlags: [] });
  try {
    const token = await context.issuer.sign({ audience: server.url });
    progress(`opening ${options.sessions} idle sessions on a fresh portcullis (pid ${server.pid})…`);
    return await measureIdleSessions({ url: server.url, token, pid: server.pid, count: options.sessions, concurrency: 16 });
  } finally {
    await server.stop();
  }
}

function newestProfile(dir: string): string | undefined {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => join(dir, name))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  let options: BenchOptions;
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const started = Date.now();
  const profileDir = join(root, '.cache/bench/profiles');
  if (options.profile) rmSync(profileDir, { recursive: true, force: true });
  const serversDir = compileServers(join(root, 'bench/servers'), join(root, '.cache/bench/servers'));
  const issuer: Issuer = await startIssuer();
  const secret = randomBytes(32).toString('base64url');
  const stores = benchStores({ root, redisUrl: options.redisUrl, postgresUrl: options.postgresUrl, secret, progress });
  const context: RowContext = { root, serversDir, issuer, portcullisNodeFlags: options.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [], stores, secret };
  const load = startLoadGenerator(join(root, 'bench/load.ts'));
  const results: RowResult[] = [];
  const running: Running[] = [];
  let sessions: SessionMemory | undefined;
  const loadAverage = os.loadavg();

  const cleanup = async (): Promise<void> => {
    for (const problem of await stores.cleanup()) progress(`⚠ ${problem}: remove it by hand`);
  };
  const interrupt = (): void => {
    void Promise.all(running.map((entry) => entry.server.stop(500)))
      .then(cleanup)
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  try {
    await startRows(defineRows(context).filter((row) => options.only.includes(row.id)), results, running);
    for (let round = 1; round <= options.rounds; round++) {
      const offset = (round - 1) % Math.max(1, running.length);
      for (const entry of [...running.slice(offset), ...running.slice(0, offset)]) await measureRound(entry, round, options, load);
    }
    for (const entry of running) entry.result.rssMb = rssMegabytes(entry.server.pid);
    await Promise.all(running.splice(0).map((entry) => entry.server.stop()));
    sessions = await measureSessions(context, options);
  } finally {
    await Promise.all(running.map((entry) => entry.server.stop()));
    await cleanup();
    await load.close();
    await issuer.close();
    process.off('SIGINT', interrupt);
  }

  const summary = summarize(results);
  const table = markdownTable(summary);
  const lines = [table, ''];
  if (sessions) lines.push(sessionLine(sessions), '');
  for (const row of results) if (row.skipped) lines.push(`(${row.id} not measured: ${row.skipped.split('\n')[0]})`);
  lines.push(...otherCpuLines(summary), ...targetLines(summary, results, sessions), ...gatewayTargetLines(summary, results), ...caveatLines(summary));
  lines.push(
    '',
    `${options.rounds} rounds × ${options.seconds} s per server (after ${options.warmup} s warm-up), ${options.connections} connections, median of rounds; ` +
      `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, load average at start ${loadAverage.map((l) => l.toFixed(2)).join(' ')}.`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);

  let profile;
  if (options.profile) {
    const file = newestProfile(profileDir);
    if (file) {
      profile = summarizeProfile(file, root);
      process.stdout.write(`\n${formatProfile(profile)}\n(profile: ${file})\n`);
    } else {
      process.stdout.write('\nno CPU profile was written (did portcullis run?)\n');
    }
  }

  const out = resolve(root, options.out);
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim(),
    loadAverageAtStart: loadAverage,
    options,
    jwksFetches: issuer.jwksFetches,
    summary,
    sessions,
    rows: results,
    markdown: table,
    profile,
    wallSeconds: (Date.now() - started) / 1000,
  };
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  progress(`wrote ${out} (${report.wallSeconds.toFixed(0)} s)`);
  return results.some((row) => row.skipped && !row.unavailable) ? 1 : 0;
}

process.exitCode = await main();

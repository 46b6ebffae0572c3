/**
 * From rounds to the published table: medians per row, ratios to the floor and (for `tools/call` rows) to
 * the SDK anchor's best configuration, the Markdown table for the README and the target checks of issue 2.
 */
import type { RowId } from './lib/options.js';
import type { LoadResult } from './load.js';
import type { Operation } from './rows.js';
import type { SessionMemory } from './sessions.js';

export interface RoundSample extends LoadResult {
  round: number;
  cpuMicrosPerRequest: number;
  /** CPU of the store server (Redis, PostgreSQL) per request, not included in `cpuMicrosPerRequest`; absent when not read. */
  storeCpuMicrosPerRequest?: number;
  /** Bytes the server wrote to stdout per request (its logs). */
  stdoutBytesPerRequest: number;
}

export interface RowResult {
  id: RowId;
  label: string;
  operation: Operation;
  rounds: RoundSample[];
  /** Resident memory after the last round. */
  rssMb?: number;
  /** Why the row has no numbers. */
  skipped?: string;
  /** Skipped because something outside the bench is missing (not built, store server down): not a failure. */
  unavailable?: boolean;
}

export interface RowSummary {
  id: RowId;
  label: string;
  operation: Operation;
  rps: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  /** Median CPU of the store server per request (Redis, PostgreSQL), or null when not read. */
  storeCpuMicrosPerRequest: number | null;
  rssMb: number;
  vsFloor: number | null;
  /** Null for token rows: the anchor answers `tools/call`, not token requests. */
  vsSdkBest: number | null;
  /** Server CPU per request relative to the floor's (1 = as cheap as the floor). */
  cpuVsFloor: number | null;
  failures: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(results: readonly RowResult[]): RowSummary[] {
  const measured = results.filter((row) => row.rounds.length > 0);
  const rps = new Map(measured.map((row) => [row.id, median(row.rounds.map((r) => r.rps))]));
  const floor = rps.get('floor');
  const sdk = [rps.get('sdk-stateful'), rps.get('sdk-stateless')].filter((v): v is number => v !== undefined);
  const sdkBest = sdk.length > 0 ? Math.max(...sdk) : undefined;
  const floorRow = measured.find((row) => row.id === 'floor');
  const floorCpu = floorRow ? median(floorRow.rounds.map((r) => r.cpuMicrosPerRequest)) : undefined;
  return measured.map((row) => {
    const own = rps.get(row.id)!;
    const cpu = median(row.rounds.map((r) => r.cpuMicrosPerRequest));
    const storeCpu = row.rounds.flatMap((r) => (r.storeCpuMicrosPerRequest === undefined ? [] : [r.storeCpuMicrosPerRequest]));
    return {
      id: row.id,
      label: row.label,
      operation: row.operation,
      rps: own,
      p50: median(row.rounds.map((r) => r.p50)),
      p99: median(row.rounds.map((r) => r.p99)),
      cpuMicrosPerRequest: cpu,
      storeCpuMicrosPerRequest: storeCpu.length === 0 ? null : median(storeCpu),
      rssMb: row.rssMb ?? Number.NaN,
      vsFloor: floor === undefined ? null : own / floor,
      vsSdkBest: sdkBest === undefined || row.operation !== 'tools/call' ? null : own / sdkBest,
      cpuVsFloor: floorCpu === undefined ? null : cpu / floorCpu,
      failures: row.rounds.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts + r.mismatches, 0),
    };
  });
}

const ratio = (value: number | null): string => (value === null ? '—' : `${value.toFixed(2)}×`);

/** The table as Markdown, ready for the README. */
export function markdownTable(summaries: readonly RowSummary[]): string {
  const lines = [
    '| Server | req/s | p50 (ms) | p99 (ms) | CPU/req (µs) | RSS (MB) | vs floor | vs SDK best |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of summaries) {
    const failures = row.failures > 0 ? ` ⚠ ${row.failures} failed` : '';
    lines.push(
      `| ${row.label}${failures} | ${Math.round(row.rps)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${Math.round(row.cpuMicrosPerRequest)} | ${Math.round(row.rssMb)} | ${ratio(row.vsFloor)} | ${ratio(row.vsSdkBest)} |`,
    );
  }
  return lines.join('\n');
}

export function sessionLine(memory: SessionMemory): string {
  const failed = memory.failed > 0 ? `, ${memory.failed} refused` : '';
  return `Idle sessions: ${memory.sessions} sessions → RSS +${memory.deltaMb.toFixed(1)} MB (${memory.rssBeforeMb.toFixed(1)} → ${memory.rssAfterMb.toFixed(1)} MB, ~${Math.round(memory.bytesPerSession)} B/session${failed}; opened in ${memory.seconds.toFixed(1)} s)`;
}

/**
 * What the req/s ratios can and cannot say on this machine. When the floor keeps less than a core busy,
 * the single autocannon process is the bottleneck and every server at least that cheap looks close to
 * the floor; CPU per request then compares the servers' own cost.
 */
export function caveatLines(summaries: readonly RowSummary[]): string[] {
  const floor = summaries.find((s) => s.id === 'floor');
  if (!floor) return [];
  const cores = (floor.rps * floor.cpuMicrosPerRequest) / 1e6;
  const lines = [
    `The floor kept ${cores.toFixed(2)} of a core busy at ${Math.round(floor.rps)} req/s${cores < 0.8 ? ': the load generator, not the server, set that rate, so req/s ratios near the floor understate differences in server cost' : ''}.`,
  ];
  const costs = summaries.filter((s) => s.id !== 'floor' && s.cpuVsFloor !== null).map((s) => `${s.id} ${s.cpuVsFloor!.toFixed(1)}×`);
  if (costs.length > 0) lines.push(`Server CPU per request relative to the floor: ${costs.join(', ')}.`);
  return lines;
}

/**
 * The store servers' own CPU per request, which CPU/req (the Portcullis process alone) leaves out. Redis is
 * read as its whole process, so other clients of that Redis during the run count too.
 */
export function storeCpuLines(summaries: readonly RowSummary[]): string[] {
  const read = summaries.filter((s) => s.storeCpuMicrosPerRequest !== null);
  if (read.length === 0) return [];
  const each = read.map((s) => `${s.id} ${Math.round(s.storeCpuMicrosPerRequest!)} µs`).join(', ');
  return [`Store server CPU per request, not in CPU/req (redis-server: the whole process; PostgreSQL: the row's own backends): ${each}.`];
}

/** Issue 2's targets for Portcullis, one line each, or nothing when Portcullis was not measured. */
export function targetLines(summaries: readonly RowSummary[], memory: SessionMemory | undefined): string[] {
  const row = summaries.find((s) => s.id === 'portcullis');
  const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  const lines: string[] = [];
  if (row) {
    if (row.vsFloor !== null) lines.push(`target ≥ 0.70× floor: ${row.vsFloor.toFixed(2)}× — ${mark(row.vsFloor >= 0.7)}`);
    if (row.vsSdkBest !== null) lines.push(`target ≥ 6× SDK best: ${row.vsSdkBest.toFixed(2)}× — ${mark(row.vsSdkBest >= 6)}`);
    const floorP99 = summaries.find((s) => s.id === 'floor')?.p99;
    const context = floorP99 === undefined ? '' : ` (the floor's p99 in the same run: ${floorP99.toFixed(2)} ms)`;
    lines.push(`target p99 ≤ 2 ms at this concurrency: ${row.p99.toFixed(2)} ms — ${mark(row.p99 <= 2)}${context}`);
  }
  if (memory) {
    const verdict = memory.sessions + memory.failed < 10_000 ? 'not judged (fewer than 10,000 asked for)' : mark(memory.deltaMb <= 50 && memory.failed === 0);
    lines.push(`target 10,000 idle sessions ≤ 50 MB: +${memory.deltaMb.toFixed(1)} MB for ${memory.sessions} — ${verdict}`);
  }
  return lines;
}

/**
 * From rounds to the published table: medians per row, ratios to the floor and (for `tools/call` rows) to
 * the SDK anchor's best configuration, the Markdown table for the README, and the target checks of issue 2
 * (Portcullis `serve`) and issue 4 (the gateway).
 */
import type { RowId } from './lib/options.js';
import type { LoadResult } from './load.js';
import type { Operation, OtherKind } from './rows.js';
import type { SessionMemory } from './sessions.js';

export interface RoundSample extends LoadResult {
  round: number;
  cpuMicrosPerRequest: number;
  /**
   * CPU per request of the other processes working for the row (its store server, the backend behind a
   * gateway), read in the same measured run, not included in `cpuMicrosPerRequest`; absent when not read.
   */
  otherCpuMicrosPerRequest?: number;
  /** Bytes the server wrote to stdout per request (its logs). */
  stdoutBytesPerRequest: number;
}

export interface RowResult {
  id: RowId;
  label: string;
  operation: Operation;
  /** What the row's other processes are (`Row.others`), when it has any. */
  others?: OtherKind;
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
  /** What the row's other processes are, or null when it has none. */
  others: OtherKind | null;
  /** Median CPU per request of the row's other processes, or null when not read. */
  otherCpuMicrosPerRequest: number | null;
  /** Median over rounds of the server's CPU per request divided by its other processes' in the same round, or null. */
  cpuVsOthers: number | null;
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
    const read = row.rounds.filter((r): r is RoundSample & { otherCpuMicrosPerRequest: number } => r.otherCpuMicrosPerRequest !== undefined);
    const ratios = read.filter((r) => r.otherCpuMicrosPerRequest > 0).map((r) => r.cpuMicrosPerRequest / r.otherCpuMicrosPerRequest);
    return {
      id: row.id,
      label: row.label,
      operation: row.operation,
      rps: own,
      p50: median(row.rounds.map((r) => r.p50)),
      p99: median(row.rounds.map((r) => r.p99)),
      cpuMicrosPerRequest: cpu,
      others: row.others ?? null,
      otherCpuMicrosPerRequest: read.length === 0 ? null : median(read.map((r) => r.otherCpuMicrosPerRequest)),
      cpuVsOthers: ratios.length === 0 ? null : median(ratios),
      rssMb: row.rssMb ?? Number.NaN,
      vsFloor: floor === undefined ? null : own / floor,
      vsSdkBest: sdkBest === undefined || row.operation !== 'tools/call' ? null : own / sdkBest,
      cpuVsFloor: floorCpu === undefined ? null : cpu / floorCpu,
      failures: row.rounds.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts + r.mismatches, 0),
    };
  });
}

const ratio = (value: number | null): string => (value === null ? '—' : `${value.toFixed(2)}×`);

/**
 * A row's other processes' CPU per request as a table cell: `backend 41`, `store 44`, or `—` when there
 * are none or none could be read (SQLite runs in the server's process; a remote store's CPU is not ours to read).
 */
function othersCell(row: RowSummary): string {
  return row.others === null || row.otherCpuMicrosPerRequest === null ? '—' : `${row.others} ${Math.round(row.otherCpuMicrosPerRequest)}`;
}

/**
 * The table as Markdown, ready for the README. CPU/req is the row's server process alone; when the CPU of
 * some row's other processes (a store server, the backend behind a gateway) was read, a column after it
 * gives theirs, named by kind; without any, the table keeps its older shape.
 */
export function markdownTable(summaries: readonly RowSummary[]): string {
  const others = summaries.some((row) => row.otherCpuMicrosPerRequest !== null);
  const lines = [
    `| Server | req/s | p50 (ms) | p99 (ms) | CPU/req (µs) |${others ? ' + other processes (µs/req) |' : ''} RSS (MB) | vs floor | vs SDK best |`,
    `|---|---:|---:|---:|---:|${others ? '---:|' : ''}---:|---:|---:|`,
  ];
  for (const row of summaries) {
    const failures = row.failures > 0 ? ` ⚠ ${row.failures} failed` : '';
    lines.push(
      `| ${row.label}${failures} | ${Math.round(row.rps)} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${Math.round(row.cpuMicrosPerRequest)} |${others ? ` ${othersCell(row)} |` : ''} ${Math.round(row.rssMb)} | ${ratio(row.vsFloor)} | ${ratio(row.vsSdkBest)} |`,
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

/** How each kind of other process is read, for the line under the table. */
const OTHERS_READ: Readonly<Record<OtherKind, string>> = {
  store: "Store server CPU per request, not in CPU/req (redis-server: the whole process, so other clients of that Redis count too; PostgreSQL: the row's own backends)",
  backend: 'Backend CPU per request, not in CPU/req (the MCP server behind the gateway: its whole process, or for stdio the processes the gateway spawned)',
};

/** The other processes' own CPU per request, which CPU/req (the row's server alone) leaves out: one line per kind. */
export function otherCpuLines(summaries: readonly RowSummary[]): string[] {
  const lines: string[] = [];
  for (const kind of Object.keys(OTHERS_READ) as OtherKind[]) {
    const read = summaries.filter((s) => s.others === kind && s.otherCpuMicrosPerRequest !== null);
    if (read.length === 0) continue;
    lines.push(`${OTHERS_READ[kind]}: ${read.map((s) => `${s.id} ${Math.round(s.otherCpuMicrosPerRequest!)} µs`).join(', ')}.`);
  }
  return lines;
}

const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/**
 * The median, over the rounds that measured both rows, of row `id`'s req/s divided by row `ref`'s in the
 * same round; null when no round measured both. Rounds alternate the rows, so a machine that runs faster in
 * one round than in the next moves both numbers of a pair: on this shared machine speed moved by up to 2×
 * between rounds of one run, which the ratio of two medians taken from different rounds does not cancel.
 */
export function pairedRpsRatio(results: readonly RowResult[], id: RowId, ref: RowId): number | null {
  const rows = new Map(results.map((row) => [row.id, row]));
  const refRounds = new Map((rows.get(ref)?.rounds ?? []).map((r) => [r.round, r.rps]));
  const ratios = (rows.get(id)?.rounds ?? []).flatMap((r) => {
    const other = refRounds.get(r.round);
    return other === undefined || other <= 0 ? [] : [r.rps / other];
  });
  return ratios.length === 0 ? null : median(ratios);
}

/**
 * A throughput ratio and its verdict: the ratio of the two medians and the median of the rounds' own
 * ratios ({@link pairedRpsRatio}); met only when both reach `target`.
 */
function rpsVerdict(ofMedians: number, paired: number | null, target: number): string {
  const roundByRound = paired === null ? '' : `; round by round ${paired.toFixed(2)}×`;
  return `${ofMedians.toFixed(2)}×${roundByRound} — ${mark(ofMedians >= target && (paired === null || paired >= target))}`;
}

/** Issue 2's targets for Portcullis, one line each, or nothing when Portcullis was not measured. */
export function targetLines(summaries: readonly RowSummary[], results: readonly RowResult[], memory: SessionMemory | undefined): string[] {
  const row = summaries.find((s) => s.id === 'portcullis');
  const lines: string[] = [];
  if (row) {
    if (row.vsFloor !== null) lines.push(`target ≥ 0.70× floor: ${rpsVerdict(row.vsFloor, pairedRpsRatio(results, 'portcullis', 'floor'), 0.7)}`);
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

/** The gateway rows' anchors: what a bare bridge reaches over HTTP and over stdio. */
const ANCHORS = [
  ['forwarder', 'bare forwarder'],
  ['stdio-forwarder', 'bare stdio bridge'],
] as const;

/**
 * Issue 4's targets for each gateway row measured: req/s ≥ 0.45× the backend called directly (the `backend`
 * row, over HTTP, in the same run; both the ratio of medians and round by round must reach it), and the
 * gateway's CPU per proxied call ≤ 2× its backend's (per round, both read in the same measured run; the
 * median of those ratios).
 */
export function gatewayTargetLines(summaries: readonly RowSummary[], results: readonly RowResult[]): string[] {
  const direct = summaries.find((s) => s.id === 'backend');
  const lines: string[] = [];
  for (const [id, name] of ANCHORS) {
    const anchor = summaries.find((s) => s.id === id);
    if (anchor === undefined || direct === undefined) continue;
    const cpu = anchor.cpuVsOthers === null ? '' : `, its CPU per call ${anchor.cpuVsOthers.toFixed(2)}× the backend's`;
    const paired = pairedRpsRatio(results, id, 'backend');
    const roundByRound = paired === null ? '' : ` (round by round ${paired.toFixed(2)}×)`;
    lines.push(`anchor: the ${name} reaches ${(anchor.rps / direct.rps).toFixed(2)}×${roundByRound} the backend called directly${cpu}`);
  }
  for (const gateway of summaries.filter((s) => s.id.startsWith('gateway-'))) {
    if (direct) {
      const share = gateway.rps / direct.rps;
      const verdict = rpsVerdict(share, pairedRpsRatio(results, gateway.id, 'backend'), 0.45);
      lines.push(`target ${gateway.id} ≥ 0.45× the backend called directly (medians ${Math.round(gateway.rps)} against ${Math.round(direct.rps)} req/s): ${verdict}`);
    }
    if (gateway.cpuVsOthers !== null) {
      const cpu = `medians ${Math.round(gateway.cpuMicrosPerRequest)} and ${Math.round(gateway.otherCpuMicrosPerRequest!)} µs/req`;
      lines.push(`target ${gateway.id} CPU per proxied call ≤ 2× the backend's: ${gateway.cpuVsOthers.toFixed(2)}× (${cpu}) — ${mark(gateway.cpuVsOthers <= 2)}`);
    }
  }
  return lines;
}

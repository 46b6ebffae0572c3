/**
 * CPU time and resident memory of another process, read from Linux `/proc`, so every server is measured
 * the same way from outside (Portcullis has no IPC channel to ask it). Linux only.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

function clockTicks(): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number.parseInt(out.stdout ?? '', 10);
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}

const TICKS_PER_SECOND = clockTicks();

/** User + system CPU time the process has used so far, in microseconds (resolution: one clock tick). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the `(comm)` one: state is field 3, utime 14, stime 15 (proc(5))
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / TICKS_PER_SECOND;
}

/** {@link cpuMicros} of each process in `pids` that still exists. */
export function cpuMicrosOf(pids: Iterable<number>): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      times.set(pid, cpuMicros(pid));
    } catch {
      // exited since it was listed
    }
  }
  return times;
}

/**
 * CPU used between two {@link cpuMicrosOf} readings: a process that started in between counts from zero,
 * one that exited in between is lost (its last slice cannot be read any more).
 */
export function cpuDelta(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, micros] of after) total += micros - (before.get(pid) ?? 0);
  return total;
}

/** Resident set size in MB (`VmRSS`). */
export function rssMegabytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  return kilobytes / 1024;
}

/** The processes whose parent is `pid` (the stdio backends a gateway spawned), read from `/proc`. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // the field after `(comm) state` is the parent's pid (proc(5))
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // exited while listed
    }
  }
  return children;
}

/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and says where the time went: self time per
 * function and per source file, as shares of the busy (non-idle) time.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Hotspot {
  name: string;
  /** Share of busy time, 0..1. */
  share: number;
  ms: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: Hotspot[];
  files: Hotspot[];
}

function shortUrl(url: string, root: string): string {
  if (url === '') return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) return path.slice(inModules + 1);
  return path.startsWith(root) ? path.slice(root.length + 1) : path;
}

function top(totals: Map<string, number>, busy: number, count: number): Hotspot[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => ({ name, share: micros / busy, ms: micros / 1000 }));
}

/**
 * @example
 * const summary = summarizeProfile('.cache/bench/profiles/CPU.…cpuprofile', process.cwd());
 */
export function summarizeProfile(file: string, root: string, count = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, number>();
  const files = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, micros] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') {
      idle += micros;
      continue;
    }
    busy += micros;
    const where = shortUrl(url, root);
    const name = url === '' ? functionName : `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + micros);
    files.set(url === '' ? functionName : where, (files.get(url === '' ? functionName : where) ?? 0) + micros);
  }
  return { busyMs: busy / 1000, idleMs: idle / 1000, functions: top(functions, busy, count), files: top(files, busy, count) };
}

export function formatProfile(summary: ProfileSummary): string {
  const line = (h: Hotspot): string => `  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.ms.toFixed(0).padStart(6)} ms  ${h.name}`;
  return [
    `CPU profile of portcullis: ${summary.busyMs.toFixed(0)} ms busy, ${summary.idleMs.toFixed(0)} ms idle`,
    'Top functions by self time:',
    ...summary.functions.map(line),
    'Top files by self time:',
    ...summary.files.map(line),
  ].join('\n');
}

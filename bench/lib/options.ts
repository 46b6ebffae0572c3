/**
 * `npm run bench -- [flags]`: the run's bounds. Defaults keep a full run under about two minutes.
 */
import { parseArgs } from 'node:util';

export const ROW_IDS = ['floor', 'sdk-stateful', 'sdk-stateless', 'portcullis'] as const;
export type RowId = (typeof ROW_IDS)[number];

export interface BenchOptions {
  rounds: number;
  /** Measured seconds per round. */
  seconds: number;
  /** Warm-up seconds before each measured round (not counted). */
  warmup: number;
  connections: number;
  /** Idle sessions to open against Portcullis; 0 skips that measurement. */
  sessions: number;
  only: readonly RowId[];
  /** Run Portcullis under `--cpu-prof` and print where its time goes (its numbers include the profiler). */
  profile: boolean;
  /** Where the JSON results go. */
  out: string;
}

export const USAGE = `usage: npm run bench -- [--rounds 3] [--seconds 5] [--warmup 1] [--connections 10]
                       [--sessions 10000] [--only floor,sdk-stateful,sdk-stateless,portcullis]
                       [--profile] [--out bench/results.json]`;

function positive(name: string, value: string | undefined, fallback: number, min = 1, max = 600): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < min || number > max) throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return number;
}

/** Parses and bounds the flags; throws one message per bad flag. */
export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      sessions: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  const only = values.only === undefined ? [...ROW_IDS] : values.only.split(',').map((id) => id.trim());
  for (const id of only) if (!(ROW_IDS as readonly string[]).includes(id)) throw new Error(`--only: unknown row "${id}" (rows: ${ROW_IDS.join(', ')})`);
  return {
    rounds: Math.round(positive('rounds', values.rounds, 3, 1, 20)),
    seconds: positive('seconds', values.seconds, 5, 1, 60),
    warmup: positive('warmup', values.warmup, 1, 0, 30),
    connections: Math.round(positive('connections', values.connections, 10, 1, 1000)),
    sessions: Math.round(positive('sessions', values.sessions, 10_000, 0, 100_000)),
    only: only as RowId[],
    profile: values.profile ?? false,
    out: values.out ?? 'bench/results.json',
  };
}

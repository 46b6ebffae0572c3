/**
 * When to sweep expired records. Stores delete expired codes, grants, rate-limit windows and metadata
 * documents on their own write (or cache-read) paths, at most once per {@link SWEEP_INTERVAL_SECONDS} per
 * table and store instance, using the time the caller passed to that method — not a timer: nothing runs
 * while the server is idle, nothing keeps a process alive, and a test's clock is the store's clock.
 * Expired records are refused by every read whether or not they have been swept; the sweep only bounds
 * how much dead data accumulates.
 */

export const SWEEP_INTERVAL_SECONDS = 60;

export class SweepSchedule {
  readonly #last = new Map<string, number>();

  /** True (and remembered) when `table` was not swept in the interval before `now`. A clock that went back sweeps again. */
  due(table: string, now: number): boolean {
    const last = this.#last.get(table);
    if (last !== undefined && now >= last && now < last + SWEEP_INTERVAL_SECONDS) return false;
    this.#last.set(table, now);
    return true;
  }
}

/** The store clock (milliseconds, `Date.now` by default) as epoch seconds. */
export function epochSeconds(nowMs: () => number): number {
  return Math.floor(nowMs() / 1000);
}

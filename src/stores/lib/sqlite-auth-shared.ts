/**
 * What the SQLite record stores of the authorization server share: the connection, the error guard, the
 * store clock and the sweep schedule, and the translation of a unique-constraint failure into
 * `StoreError('conflict')`.
 */
import type { Database } from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { SweepSchedule } from './sweep.js';

export interface SqliteAuthContext {
  readonly db: Database;
  /** Runs a driver call, turning the errors callers act on into StoreErrors (see `sqlite.ts`). */
  readonly guard: <T>(fn: () => T) => T;
  /** The store clock in milliseconds. */
  readonly nowMs: () => number;
  /** Per connection: each process sweeps on its own schedule; two sweeping at once is harmless. */
  readonly sweeps: SweepSchedule;
}

export function createSqliteAuthContext(db: Database, guard: <T>(fn: () => T) => T, nowMs: () => number): SqliteAuthContext {
  return { db, guard, nowMs, sweeps: new SweepSchedule() };
}

/**
 * Runs `fn`; a UNIQUE or PRIMARY KEY failure on one of `columns` (`table.column`, as SQLite names them)
 * becomes `StoreError('conflict')` with `message`.
 */
export function conflictOn<T>(columns: readonly string[], message: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const text = String((err as Error | null)?.message ?? '');
    if ((code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') && columns.some((column) => text.includes(column))) {
      throw new StoreError('conflict', message, { cause: err });
    }
    throw err;
  }
}

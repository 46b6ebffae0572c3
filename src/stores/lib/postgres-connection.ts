/**
 * The PostgreSQL connection of a store: the pool, the translation of driver errors into StoreErrors, and
 * the small query interface the record stores use — `all`, `get`, `run` and `transaction`, named after
 * better-sqlite3's statement methods so the two adapters read alike.
 *
 * Failing fast: a new connection gives up after {@link CONNECT_TIMEOUT_MS} (also the longest wait for a
 * free pooled connection), a statement after {@link STATEMENT_TIMEOUT_MS} on the server, and the client
 * stops waiting for an answer a second later (a server that vanished without closing the socket). All of
 * these, a refused or dropped connection, and a server shutting down become `StoreError('unavailable')`.
 * The pool replaces broken connections on the next call, so the store recovers by itself when the server
 * is back; an idle connection that dies is logged, never thrown (it would crash the process).
 */
import pg from 'pg';
import type { Logger } from '../../core/log.js';
import { StoreError } from '../errors.js';
import type { PostgresLocation } from './postgres-url.js';
import { SweepSchedule } from './sweep.js';

export const CONNECT_TIMEOUT_MS = 2000;
export const STATEMENT_TIMEOUT_MS = 5000;
/** The client-side bound: the statement timeout plus the time for the server's answer to arrive. */
const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 1000;
/** A session that holds a transaction open this long without a statement (a hung process) loses it, and its locks. */
const IDLE_IN_TRANSACTION_MS = 30_000;

/** SQL on a pooled connection, or on the one connection of a transaction. Parameters are `$1`, `$2`, … */
export interface Sql {
  /** Every row of one statement. */
  all<R>(text: string, values?: readonly unknown[]): Promise<R[]>;
  /** The first row of one statement, or undefined. */
  get<R>(text: string, values?: readonly unknown[]): Promise<R | undefined>;
  /** Runs one statement; returns how many rows it inserted, updated or deleted. */
  run(text: string, values?: readonly unknown[]): Promise<number>;
}

/** What the record stores share: SQL on the pool, transactions, the store clock and the sweep schedule. */
export interface PostgresContext extends Sql {
  /**
   * Runs `fn` in one transaction (READ COMMITTED) on one connection: COMMIT when it resolves, ROLLBACK
   * when it throws. Row locks (`FOR UPDATE`) and table locks taken inside are held until then.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** The store clock in milliseconds. */
  readonly nowMs: () => number;
  /** Per store instance: each process sweeps on its own schedule; two sweeping at once is harmless. */
  readonly sweeps: SweepSchedule;
}

/**
 * Type parsers of the store's connections (not the driver's global ones, which other code may rely on):
 * `bigint` columns — epoch seconds, milliseconds, counts, all far below 2^53 — read back as numbers, and
 * `json` columns as their text, which the shared helpers parse and freeze as they do SQLite's.
 */
const TYPES = new pg.TypeOverrides();
TYPES.setTypeParser(pg.types.builtins.INT8, (text: string) => Number(text));
TYPES.setTypeParser(pg.types.builtins.JSON, (text: string) => text);

/**
 * The driver settings of one connection. `statementTimeouts: false` is for migrations, which may
 * legitimately run long (rebuilding an index on a large table) and run on a connection of their own.
 */
export function connectionConfig(location: PostgresLocation, { statementTimeouts }: { statementTimeouts: boolean }): pg.ClientConfig {
  return {
    connectionString: location.connectionString,
    options: location.options,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(statementTimeouts ? { statement_timeout: STATEMENT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS } : {}),
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
    keepAlive: true,
    // The URL's application_name, if any, wins (tests use it to find the store's sessions in pg_stat_activity).
    fallback_application_name: 'portcullis',
    types: TYPES,
  };
}

/** The pool of one store, with the {@link PostgresContext} its record stores use. */
export class PostgresConnection implements PostgresContext {
  readonly sweeps = new SweepSchedule();
  readonly #pool: pg.Pool;
  readonly #target: string;
  #closing: Promise<void> | undefined;

  constructor(
    location: PostgresLocation,
    readonly nowMs: () => number,
    logger: Logger | undefined,
  ) {
    this.#target = location.target;
    this.#pool = new pg.Pool({ ...connectionConfig(location, { statementTimeouts: true }), max: location.poolMax });
    // An idle connection the server closed (restart, pg_terminate_backend, network): the pool has already
    // dropped it and opens a new one on the next call. Without this listener the error would crash the process.
    this.#pool.on('error', (err) => logger?.warn({ store: 'postgres', target: this.#target, err: err.message }, 'PostgreSQL closed an idle connection; the next call opens a new one'));
  }

  async all<R>(text: string, values?: readonly unknown[]): Promise<R[]> {
    this.#assertOpen();
    try {
      return (await this.#pool.query(text, values as unknown[] | undefined)).rows as R[];
    } catch (err) {
      throw this.#storeError(err);
    }
  }

  async get<R>(text: string, values?: readonly unknown[]): Promise<R | undefined> {
    return (await this.all<R>(text, values))[0];
  }

  async run(text: string, values?: readonly unknown[]): Promise<number> {
    this.#assertOpen();
    try {
      return (await this.#pool.query(text, values as unknown[] | undefined)).rowCount ?? 0;
    } catch (err) {
      throw this.#storeError(err);
    }
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    this.#assertOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw this.#storeError(err);
    }
    // A connection that dies between two statements emits 'error' on the checked-out client, which must
    // be listened to; the statement that follows fails, and the client is discarded on release.
    const state = { broken: false };
    const onError = () => (state.broken = true);
    client.on('error', onError);
    try {
      return await inTransaction(client, state, fn);
    } catch (err) {
      const failure = this.#storeError(err);
      // A timed-out or cut-off statement may leave the connection mid-answer: never hand it out again.
      if (failure instanceof StoreError && failure.code === 'unavailable') state.broken = true;
      throw failure;
    } finally {
      client.off('error', onError);
      client.release(state.broken);
    }
  }

  /** One `SELECT 1` on the pool: `unavailable` when the server cannot answer, `closed` after close(). */
  async ping(): Promise<void> {
    await this.run('SELECT 1');
  }

  /** Ends the pool once; calls from then on reject with `closed`. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.end();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closing) throw new StoreError('closed', 'The store is closed');
  }

  /** A call that was under way when the store closed fails as `closed`, whatever the pool said. */
  #storeError(err: unknown): unknown {
    return this.#closing && !(err instanceof StoreError) ? new StoreError('closed', 'The store is closed', { cause: err }) : toStoreError(err, this.#target);
  }
}

/**
 * Runs `fn` between BEGIN and COMMIT on `client`, ROLLBACK when it throws. When the ROLLBACK fails too,
 * the connection is marked broken (so it is discarded, not reused); the server rolls the transaction back
 * on its own when the connection closes.
 */
export async function inTransaction<T>(client: pg.ClientBase, state: { broken: boolean }, fn: (tx: Sql) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn(sqlOn(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (!state.broken) await client.query('ROLLBACK').catch(() => (state.broken = true));
    throw err;
  }
}

/** Statements on one connection; errors pass through raw (the transaction maps them). */
function sqlOn(client: pg.ClientBase): Sql {
  const all = async <R>(text: string, values?: readonly unknown[]) => (await client.query(text, values as unknown[] | undefined)).rows as R[];
  return {
    all,
    get: async <R>(text: string, values?: readonly unknown[]) => (await all<R>(text, values))[0],
    run: async (text, values) => (await client.query(text, values as unknown[] | undefined)).rowCount ?? 0,
  };
}

/**
 * Runs `fn`; a unique violation (SQLSTATE 23505) of one of `constraints` (PostgreSQL's names:
 * `users_username_key`, `refresh_tokens_pkey`, …) becomes `StoreError('conflict')` with `message`.
 */
export async function conflictOn<T>(constraints: readonly string[], message: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const { code, constraint } = (err ?? {}) as { code?: unknown; constraint?: unknown };
    if (code === '23505' && typeof constraint === 'string' && constraints.includes(constraint)) throw new StoreError('conflict', message, { cause: err });
    throw err;
  }
}

/** SQLSTATEs of a server that is gone, going, or full: 08 connection exception, 53 insufficient resources, 57P01-57P03 shutdown. */
const UNREACHABLE_STATE = /^(08|53|57P0[123])/;
/** SQLSTATEs of a login the server refused: 28 bad credentials or role, 3D000 no such database. */
const REFUSED_STATE = /^(28|3D000$)/;
/** SQLSTATEs worth retrying: statement timeout, serialization failure, deadlock, lock not available. */
const BUSY_STATES = new Set(['57014', '40001', '40P01', '55P03']);
/** SQLSTATEs of a NUL character (U+0000), which PostgreSQL text cannot hold. */
const NUL_STATES = new Set(['22021', '22P05']);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
/** The driver's own errors for a lost or unobtainable connection. */
const DRIVER_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable/;

/**
 * Turns the errors callers act on into StoreErrors naming `target` (host:port/database, never the
 * password); anything else — a constraint the caller maps, a bug — is returned unchanged.
 */
export function toStoreError(err: unknown, target: string): unknown {
  if (err instanceof StoreError) return err;
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  const reason = typeof message === 'string' && message !== '' ? message : String(code);
  if (typeof code === 'string') {
    if (NUL_STATES.has(code)) return new StoreError('invalid_record', 'Invalid record: PostgreSQL text cannot hold the NUL character (U+0000)', { cause: err });
    if (BUSY_STATES.has(code)) return new StoreError('unavailable', `PostgreSQL at ${target} is busy (${reason}); try again`, { cause: err });
    if (REFUSED_STATE.test(code)) return new StoreError('unavailable', `PostgreSQL at ${target} refused the connection: ${reason}`, { cause: err });
    if (UNREACHABLE_STATE.test(code) || NETWORK_CODES.has(code)) return unreachable(target, reason, err);
  }
  if (typeof message === 'string' && DRIVER_MESSAGES.test(message)) return unreachable(target, reason, err);
  return err;
}

function unreachable(target: string, reason: string, cause: unknown): StoreError {
  return new StoreError('unavailable', `PostgreSQL is unreachable at ${target}: ${reason}`, { cause });
}

/** MCP sessions in SQLite (`mcp_sessions`): one row per live session, swept on the create path. */
import type { Statement } from 'better-sqlite3';
import type { McpSessionRecord, McpSessionStore } from '../types.js';
import { checkTime } from './auth-checks.js';
import { StoreError } from '../errors.js';
import type { SqliteAuthContext } from './sqlite-auth-shared.js';
import { checkSession, checkTouch, toSession } from './session-records.js';

interface Row {
  hash: string;
  subject: string;
  client_id: string;
  version: string;
  capabilities: number;
  log_level: number;
  created_at: number;
  expires_at: number;
}

const COLUMNS = 'hash, subject, client_id, version, capabilities, log_level, created_at, expires_at';

export class SqliteSessionStore implements McpSessionStore {
  readonly #sweep: Statement<[number]>;
  readonly #insert: Statement<[McpSessionRecord]>;
  readonly #get: Statement<[string, number], Row>;
  readonly #touch: Statement<[{ hash: string; now: number; expiresAt: number; logLevel: number | null }], Row>;
  readonly #remove: Statement<[string]>;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#sweep = db.prepare('DELETE FROM mcp_sessions WHERE expires_at <= ?');
    this.#insert = db.prepare(`INSERT INTO mcp_sessions (${COLUMNS})
      VALUES (:hash, :subject, :clientId, :version, :capabilities, :logLevel, :createdAt, :expiresAt)
      ON CONFLICT (hash) DO UPDATE SET subject = excluded.subject, client_id = excluded.client_id, version = excluded.version,
        capabilities = excluded.capabilities, log_level = excluded.log_level, created_at = excluded.created_at,
        expires_at = excluded.expires_at
      WHERE mcp_sessions.expires_at <= excluded.created_at`);
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM mcp_sessions WHERE hash = ? AND expires_at > ?`);
    this.#touch = db.prepare(`UPDATE mcp_sessions SET expires_at = :expiresAt, log_level = coalesce(:logLevel, log_level)
      WHERE hash = :hash AND expires_at > :now RETURNING ${COLUMNS}`);
    this.#remove = db.prepare('DELETE FROM mcp_sessions WHERE hash = ?');
  }

  async create(session: McpSessionRecord): Promise<void> {
    const record = checkSession(session);
    this.ctx.guard(() => {
      if (this.ctx.sweeps.due('sessions', record.createdAt)) this.#sweep.run(record.createdAt);
      // An expired row not yet swept is replaced; a live one is a conflict.
      if (this.#insert.run(record).changes === 0) throw new StoreError('conflict', 'A session with this id exists');
    });
  }

  async get(hash: string, now: number): Promise<McpSessionRecord | undefined> {
    checkTime('session', 'now', now);
    if (typeof hash !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#get.get(hash, now));
    return row && fromRow(row);
  }

  async touch(hash: string, changes: { expiresAt: number; logLevel?: number }, now: number): Promise<McpSessionRecord | undefined> {
    const { expiresAt, logLevel } = checkTouch(changes, now);
    if (typeof hash !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#touch.get({ hash, now, expiresAt, logLevel: logLevel ?? null }));
    return row && fromRow(row);
  }

  async remove(hash: string): Promise<boolean> {
    if (typeof hash !== 'string') return false;
    return this.ctx.guard(() => this.#remove.run(hash)).changes > 0;
  }
}

function fromRow(row: Row): McpSessionRecord {
  return toSession({
    hash: row.hash,
    subject: row.subject,
    clientId: row.client_id,
    version: row.version,
    capabilities: row.capabilities,
    logLevel: row.log_level,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  });
}

/**
 * MCP sessions in PostgreSQL (`mcp_sessions`): one row per live session, swept on the create path. Every
 * operation is one statement, so `touch` moves only a session that is live when it runs (the expiry test
 * and the write are one step) and `create` replaces only an expired row.
 */
import { StoreError } from '../errors.js';
import type { McpSessionRecord, McpSessionStore } from '../types.js';
import { checkTime } from './auth-checks.js';
import type { PostgresContext } from './postgres-connection.js';
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

export class PostgresSessionStore implements McpSessionStore {
  constructor(private readonly ctx: PostgresContext) {}

  async create(session: McpSessionRecord): Promise<void> {
    const s = checkSession(session);
    if (this.ctx.sweeps.due('sessions', s.createdAt)) await this.ctx.run('DELETE FROM mcp_sessions WHERE expires_at <= $1', [s.createdAt]);
    // An expired row not yet swept is replaced; a live one is a conflict.
    const stored = await this.ctx.run(
      `INSERT INTO mcp_sessions (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (hash) DO UPDATE SET subject = excluded.subject, client_id = excluded.client_id, version = excluded.version,
          capabilities = excluded.capabilities, log_level = excluded.log_level, created_at = excluded.created_at,
          expires_at = excluded.expires_at
        WHERE mcp_sessions.expires_at <= excluded.created_at`,
      [s.hash, s.subject, s.clientId, s.version, s.capabilities, s.logLevel, s.createdAt, s.expiresAt],
    );
    if (stored === 0) throw new StoreError('conflict', 'A session with this id exists');
  }

  async get(hash: string, now: number): Promise<McpSessionRecord | undefined> {
    checkTime('session', 'now', now);
    if (typeof hash !== 'string') return undefined;
    const row = await this.ctx.get<Row>(`SELECT ${COLUMNS} FROM mcp_sessions WHERE hash = $1 AND expires_at > $2`, [hash, now]);
    return row && fromRow(row);
  }

  async touch(hash: string, changes: { expiresAt: number; logLevel?: number }, now: number): Promise<McpSessionRecord | undefined> {
    const { expiresAt, logLevel } = checkTouch(changes, now);
    if (typeof hash !== 'string') return undefined;
    const row = await this.ctx.get<Row>(
      `UPDATE mcp_sessions SET expires_at = $2, log_level = coalesce($3, log_level) WHERE hash = $1 AND expires_at > $4 RETURNING ${COLUMNS}`,
      [hash, expiresAt, logLevel ?? null, now],
    );
    return row && fromRow(row);
  }

  async remove(hash: string): Promise<boolean> {
    if (typeof hash !== 'string') return false;
    return (await this.ctx.run('DELETE FROM mcp_sessions WHERE hash = $1', [hash])) > 0;
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

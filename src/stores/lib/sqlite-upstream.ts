/**
 * Upstream grants (federated login) in SQLite (`upstream_grants`, migration 4): one row per (user, client).
 * `put` is one upsert that adds 1 to the version of a replaced row; `update` is one compare-and-swap
 * statement (`WHERE version = ? AND expires_at > ?`), so of several writers holding the same version exactly
 * one wins, in this process or another on the same file. Expired rows are swept on the `put` path.
 */
import type { Statement } from 'better-sqlite3';
import type { NewUpstreamGrant, UpstreamGrantChanges, UpstreamGrantRecord, UpstreamGrantStore } from '../auth-types.js';
import { checkTime } from './auth-checks.js';
import type { SqliteAuthContext } from './sqlite-auth-shared.js';
import { checkNewUpstreamGrant, checkUpstreamUpdate, toUpstreamGrant } from './upstream-records.js';

export interface UpstreamGrantRow {
  user_id: string;
  client_id: string;
  issuer: string;
  subject: string;
  sealed_tokens: string;
  access_expires_at: number;
  refreshing_until: number | null;
  version: number;
  created_at: number;
  updated_at: number;
  expires_at: number;
}

/** The columns in the documented order (also the PostgreSQL adapter's). */
export const UPSTREAM_COLUMNS = 'user_id, client_id, issuer, subject, sealed_tokens, access_expires_at, refreshing_until, version, created_at, updated_at, expires_at';

interface UpdateParams {
  userId: string;
  clientId: string;
  version: number;
  now: number;
  sealedTokens: string | null;
  accessExpiresAt: number | null;
  /** 1: set `refreshing_until` to `refreshingUntil` (NULL ends the lease); 0: leave it. */
  setLease: number;
  refreshingUntil: number | null;
}

export class SqliteUpstreamGrantStore implements UpstreamGrantStore {
  readonly #sweep: Statement<[number]>;
  readonly #put: Statement<[NewUpstreamGrant], UpstreamGrantRow>;
  readonly #get: Statement<[string, string, number], UpstreamGrantRow>;
  readonly #update: Statement<[UpdateParams], UpstreamGrantRow>;
  readonly #remove: Statement<[string, string]>;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#sweep = db.prepare('DELETE FROM upstream_grants WHERE expires_at <= ?');
    this.#put = db.prepare(`INSERT INTO upstream_grants (${UPSTREAM_COLUMNS})
      VALUES (:userId, :clientId, :issuer, :subject, :sealedTokens, :accessExpiresAt, NULL, 1, :createdAt, :createdAt, :expiresAt)
      ON CONFLICT (user_id, client_id) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
        sealed_tokens = excluded.sealed_tokens, access_expires_at = excluded.access_expires_at, refreshing_until = NULL,
        version = upstream_grants.version + 1, created_at = excluded.created_at, updated_at = excluded.updated_at,
        expires_at = excluded.expires_at
      RETURNING ${UPSTREAM_COLUMNS}`);
    this.#get = db.prepare(`SELECT ${UPSTREAM_COLUMNS} FROM upstream_grants WHERE user_id = ? AND client_id = ? AND expires_at > ?`);
    this.#update = db.prepare(`UPDATE upstream_grants SET
        sealed_tokens = coalesce(:sealedTokens, sealed_tokens),
        access_expires_at = coalesce(:accessExpiresAt, access_expires_at),
        refreshing_until = CASE WHEN :setLease = 1 THEN :refreshingUntil ELSE refreshing_until END,
        version = version + 1, updated_at = :now
      WHERE user_id = :userId AND client_id = :clientId AND version = :version AND expires_at > :now
      RETURNING ${UPSTREAM_COLUMNS}`);
    this.#remove = db.prepare('DELETE FROM upstream_grants WHERE user_id = ? AND client_id = ?');
  }

  async put(record: NewUpstreamGrant): Promise<UpstreamGrantRecord> {
    const checked = checkNewUpstreamGrant(record);
    return this.ctx.guard(() => {
      if (this.ctx.sweeps.due('upstream_grants', checked.createdAt)) this.#sweep.run(checked.createdAt);
      return fromUpstreamRow(this.#put.get(checked)!);
    });
  }

  async get(userId: string, clientId: string, now: number): Promise<UpstreamGrantRecord | undefined> {
    checkTime('upstream grant', 'now', now);
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#get.get(userId, clientId, now));
    return row && fromUpstreamRow(row);
  }

  async update(userId: string, clientId: string, version: number, changes: UpstreamGrantChanges, now: number): Promise<UpstreamGrantRecord | undefined> {
    const checked = checkUpstreamUpdate(version, changes, now);
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#update.get(updateParams(userId, clientId, checked)));
    return row && fromUpstreamRow(row);
  }

  async remove(userId: string, clientId: string): Promise<boolean> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return false;
    return this.ctx.guard(() => this.#remove.run(userId, clientId)).changes > 0;
  }
}

/** The named parameters of the compare-and-swap `UPDATE` (shared shape with PostgreSQL's positional one). */
export function updateParams(userId: string, clientId: string, checked: { version: number; changes: UpstreamGrantChanges; now: number }): UpdateParams {
  const { changes } = checked;
  return {
    userId,
    clientId,
    version: checked.version,
    now: checked.now,
    sealedTokens: changes.sealedTokens ?? null,
    accessExpiresAt: changes.accessExpiresAt ?? null,
    setLease: changes.refreshingUntil === undefined ? 0 : 1,
    refreshingUntil: changes.refreshingUntil ?? null,
  };
}

export function fromUpstreamRow(row: UpstreamGrantRow): UpstreamGrantRecord {
  return toUpstreamGrant({
    userId: row.user_id,
    clientId: row.client_id,
    issuer: row.issuer,
    subject: row.subject,
    sealedTokens: row.sealed_tokens,
    accessExpiresAt: row.access_expires_at,
    refreshingUntil: row.refreshing_until,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
  });
}

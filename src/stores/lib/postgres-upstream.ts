/**
 * Upstream grants (federated login) in PostgreSQL (`upstream_grants`, migration 4), the SQLite adapter's
 * statements in PostgreSQL's dialect: `put` one upsert (`ON CONFLICT … DO UPDATE`, the row lock queues
 * concurrent writers), `update` one compare-and-swap `UPDATE … WHERE version = $n AND expires_at > $now`,
 * so of several writers holding the same version exactly one wins across every process on the schema.
 */
import type { NewUpstreamGrant, UpstreamGrantChanges, UpstreamGrantRecord, UpstreamGrantStore } from '../auth-types.js';
import { checkTime } from './auth-checks.js';
import type { PostgresContext } from './postgres-connection.js';
import { fromUpstreamRow, UPSTREAM_COLUMNS, updateParams, type UpstreamGrantRow } from './sqlite-upstream.js';
import { checkNewUpstreamGrant, checkUpstreamUpdate } from './upstream-records.js';

export class PostgresUpstreamGrantStore implements UpstreamGrantStore {
  constructor(private readonly ctx: PostgresContext) {}

  async put(record: NewUpstreamGrant): Promise<UpstreamGrantRecord> {
    const r = checkNewUpstreamGrant(record);
    if (this.ctx.sweeps.due('upstream_grants', r.createdAt)) await this.ctx.run('DELETE FROM upstream_grants WHERE expires_at <= $1', [r.createdAt]);
    const row = await this.ctx.get<UpstreamGrantRow>(
      `INSERT INTO upstream_grants (${UPSTREAM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL, 1, $7, $7, $8)
        ON CONFLICT (user_id, client_id) DO UPDATE SET issuer = excluded.issuer, subject = excluded.subject,
          sealed_tokens = excluded.sealed_tokens, access_expires_at = excluded.access_expires_at, refreshing_until = NULL,
          version = upstream_grants.version + 1, created_at = excluded.created_at, updated_at = excluded.updated_at,
          expires_at = excluded.expires_at
        RETURNING ${UPSTREAM_COLUMNS}`,
      [r.userId, r.clientId, r.issuer, r.subject, r.sealedTokens, r.accessExpiresAt, r.createdAt, r.expiresAt],
    );
    return fromUpstreamRow(row!);
  }

  async get(userId: string, clientId: string, now: number): Promise<UpstreamGrantRecord | undefined> {
    checkTime('upstream grant', 'now', now);
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const row = await this.ctx.get<UpstreamGrantRow>(`SELECT ${UPSTREAM_COLUMNS} FROM upstream_grants WHERE user_id = $1 AND client_id = $2 AND expires_at > $3`, [userId, clientId, now]);
    return row && fromUpstreamRow(row);
  }

  async update(userId: string, clientId: string, version: number, changes: UpstreamGrantChanges, now: number): Promise<UpstreamGrantRecord | undefined> {
    const checked = checkUpstreamUpdate(version, changes, now);
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const p = updateParams(userId, clientId, checked);
    const row = await this.ctx.get<UpstreamGrantRow>(
      `UPDATE upstream_grants SET
          sealed_tokens = coalesce($5::text, sealed_tokens),
          access_expires_at = coalesce($6::bigint, access_expires_at),
          refreshing_until = CASE WHEN $7::integer = 1 THEN $8::bigint ELSE refreshing_until END,
          version = version + 1, updated_at = $4
        WHERE user_id = $1 AND client_id = $2 AND version = $3 AND expires_at > $4
        RETURNING ${UPSTREAM_COLUMNS}`,
      [p.userId, p.clientId, p.version, p.now, p.sealedTokens, p.accessExpiresAt, p.setLease, p.refreshingUntil],
    );
    return row && fromUpstreamRow(row);
  }

  async remove(userId: string, clientId: string): Promise<boolean> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return false;
    return (await this.ctx.run('DELETE FROM upstream_grants WHERE user_id = $1 AND client_id = $2', [userId, clientId])) > 0;
  }
}

/**
 * Grants and their refresh tokens in PostgreSQL (`grants`, `refresh_tokens`). `rotate` runs in one
 * transaction that first locks the presented token's grant row (`FOR UPDATE OF g`): every rotation of a
 * family, its revocation and its removal take that lock, so they run one after another across processes,
 * and the reads that follow the lock (READ COMMITTED: a fresh snapshot per statement) see what the
 * previous holder committed. It then decides by the shared rules of `refresh-rotation.ts` and writes. The
 * partial unique index `refresh_tokens_one_current` backs "one current token per family" in the schema.
 */
import type { GrantRecord, GrantStore, RotationResult } from '../auth-types.js';
import { checkHash, checkTime, parseFrozenList } from './auth-checks.js';
import { checkGrantFilter, checkNewGrant, toGrant } from './auth-records.js';
import { conflictOn, type PostgresContext } from './postgres-connection.js';
import { checkRotation, decideRotation, rotationResult, type RefreshTokenRow, type RotationOptions } from './refresh-rotation.js';
import { epochSeconds } from './sweep.js';

interface GrantRow {
  id: string;
  client_id: string;
  user_id: string;
  scopes: string;
  resource: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

interface TokenRow {
  grant_id: string;
  state: 'current' | 'retired';
  issued_at: number;
  rotated_at: number | null;
  successor_hash: string | null;
  /** The state of the token named by `successor_hash`, if it still exists. */
  successor_state: 'current' | 'retired' | null;
}

const COLUMNS = 'id, client_id, user_id, scopes, resource, created_at, expires_at, revoked_at';
const G_COLUMNS = COLUMNS.split(', ').map((column) => `g.${column}`).join(', ');
/** The family is live at the time in parameter `now`: not revoked, not expired. */
const live = (now: string) => `g.revoked_at IS NULL AND g.expires_at > ${now}`;

export class PostgresGrantStore implements GrantStore {
  constructor(private readonly ctx: PostgresContext) {}

  async create(grant: Omit<GrantRecord, 'revoked'>, refreshHash: string): Promise<GrantRecord> {
    const g = checkNewGrant(grant);
    checkHash('grant', 'refreshHash', refreshHash);
    await this.#sweepIfDue(g.createdAt);
    await this.ctx.transaction(async (tx) => {
      await conflictOn(['grants_id_key'], 'A grant with this id exists', () =>
        tx.run(`INSERT INTO grants (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)`, [g.id, g.clientId, g.userId, JSON.stringify(g.scopes), g.resource, g.createdAt, g.expiresAt]),
      );
      await conflictOn(['refresh_tokens_pkey'], 'A refresh token with this hash exists', () =>
        tx.run(`INSERT INTO refresh_tokens (hash, grant_id, state, issued_at) VALUES ($1, $2, 'current', $3)`, [refreshHash, g.id, g.createdAt]),
      );
    });
    return toGrant(g, false);
  }

  async get(id: string): Promise<GrantRecord | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = await this.ctx.get<GrantRow>(`SELECT ${COLUMNS} FROM grants WHERE id = $1`, [id]);
    return row && fromRow(row);
  }

  async rotate(presentedHash: string, successorHash: string, options: { clientId: string; now: number; graceSeconds: number }): Promise<RotationResult | undefined> {
    if (!checkRotation(presentedHash, successorHash, options).known) return undefined;
    const { clientId, now, graceSeconds } = options;
    const rotation: RotationOptions = { clientId, now, graceSeconds };
    await this.#sweepIfDue(now);
    return this.ctx.transaction(async (tx) => {
      const grantRow = await tx.get<GrantRow>(`SELECT ${G_COLUMNS} FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = $1 FOR UPDATE OF g`, [presentedHash]);
      const tokenRow = grantRow && await tx.get<TokenRow>(
        `SELECT t.grant_id, t.state, t.issued_at, t.rotated_at, t.successor_hash, s.state AS successor_state
          FROM refresh_tokens t LEFT JOIN refresh_tokens s ON s.hash = t.successor_hash WHERE t.hash = $1`,
        [presentedHash],
      );
      const token = tokenRow && fromTokenRow(tokenRow);
      const step = decideRotation(token, grantRow && fromRow(grantRow), tokenRow?.successor_state === 'current', rotation);
      if (step.step === 'refuse' || !token || !grantRow) return undefined;
      let after = grantRow;
      if (step.step === 'rotate') {
        await tx.run(`UPDATE refresh_tokens SET state = 'retired', rotated_at = $1, successor_hash = $2 WHERE hash = $3 AND state = 'current'`, [now, successorHash, presentedHash]);
        await conflictOn(['refresh_tokens_pkey'], 'A refresh token with the successor hash exists', () =>
          tx.run(`INSERT INTO refresh_tokens (hash, grant_id, state, issued_at) VALUES ($1, $2, 'current', $3)`, [successorHash, token.grantId, now]),
        );
      } else if (step.step === 'revoke') {
        after = (await tx.get<GrantRow>(`UPDATE grants SET revoked_at = $1 WHERE id = $2 RETURNING ${COLUMNS}`, [now, token.grantId]))!;
      }
      return rotationResult(step, fromRow(after));
    });
  }

  async findByRefreshHash(hash: string, now?: number): Promise<GrantRecord | undefined> {
    const at = now === undefined ? epochSeconds(this.ctx.nowMs) : checkTime('grant', 'now', now);
    if (typeof hash !== 'string') return undefined;
    const row = await this.ctx.get<GrantRow>(`SELECT ${G_COLUMNS} FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = $1 AND ${live('$2')}`, [hash, at]);
    return row && fromRow(row);
  }

  async isCurrent(hash: string, now: number): Promise<boolean> {
    checkTime('grant', 'now', now);
    if (typeof hash !== 'string') return false;
    const row = await this.ctx.get(`SELECT 1 AS one FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = $1 AND t.state = 'current' AND ${live('$2')}`, [hash, now]);
    return row !== undefined;
  }

  async revoke(id: string): Promise<void> {
    if (typeof id !== 'string') return;
    await this.ctx.run('UPDATE grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [epochSeconds(this.ctx.nowMs), id]);
  }

  async list(filter: { userId?: string; clientId?: string; now?: number } = {}): Promise<GrantRecord[]> {
    const { userId, clientId, now } = checkGrantFilter(filter, () => epochSeconds(this.ctx.nowMs));
    const rows = await this.ctx.all<GrantRow>(
      `SELECT ${G_COLUMNS} FROM grants g WHERE ${live('$1')} AND ($2::text IS NULL OR g.user_id = $2) AND ($3::text IS NULL OR g.client_id = $3)
        ORDER BY g.created_at DESC, g.seq DESC`,
      [now, userId ?? null, clientId ?? null],
    );
    return rows.map(fromRow);
  }

  /**
   * Expired families go with their tokens (ON DELETE CASCADE); revoked ones stay until they expire, so a
   * replay of one of their tokens is still recognised as such. A statement of its own, before the
   * operation's transaction: housekeeping takes no part in a family's lock.
   */
  async #sweepIfDue(now: number): Promise<void> {
    if (this.ctx.sweeps.due('grants', now)) await this.ctx.run('DELETE FROM grants WHERE expires_at <= $1', [now]);
  }
}

function fromRow(row: GrantRow): GrantRecord {
  const fields = { id: row.id, clientId: row.client_id, userId: row.user_id, scopes: parseFrozenList(row.scopes), resource: row.resource, createdAt: row.created_at, expiresAt: row.expires_at };
  return toGrant(fields, row.revoked_at !== null);
}

function fromTokenRow(row: TokenRow): RefreshTokenRow {
  return { grantId: row.grant_id, state: row.state, issuedAt: row.issued_at, rotatedAt: row.rotated_at ?? undefined, successorHash: row.successor_hash ?? undefined };
}

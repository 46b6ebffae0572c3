/**
 * Grants and their refresh tokens in SQLite (`grants`, `refresh_tokens`). `rotate` reads the presented
 * token, its grant and its successor, decides by the shared rules of `refresh-rotation.ts`, and writes,
 * all in one `BEGIN IMMEDIATE` transaction: the write lock is held from the first read, so of any number
 * of concurrent rotations of one token — in this process or another on the same file — exactly one sees
 * it current. The partial unique index `refresh_tokens_one_current` backs the rule "one current token per
 * family" in the schema itself.
 */
import type { Statement } from 'better-sqlite3';
import type { GrantRecord, GrantStore, RotationResult } from '../auth-types.js';
import { checkHash, checkTime, parseFrozenList } from './auth-checks.js';
import { checkGrantFilter, checkNewGrant, toGrant } from './auth-records.js';
import { checkRotation, decideRotation, rotationResult, type RefreshTokenRow, type RotationOptions } from './refresh-rotation.js';
import { conflictOn, type SqliteAuthContext } from './sqlite-auth-shared.js';
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
}

const COLUMNS = 'id, client_id, user_id, scopes, resource, created_at, expires_at, revoked_at';
const G_COLUMNS = COLUMNS.split(', ').map((column) => `g.${column}`).join(', ');
const LIVE = 'g.revoked_at IS NULL AND g.expires_at > :now';

export class SqliteGrantStore implements GrantStore {
  readonly #get: Statement<[string], GrantRow>;
  readonly #findByRefreshHash: Statement<[{ hash: string; now: number }], GrantRow>;
  readonly #isCurrent: Statement<[{ hash: string; now: number }], { one: number }>;
  readonly #revoke: Statement<[number, string]>;
  readonly #list: Statement<[{ userId: string | null; clientId: string | null; now: number }], GrantRow>;
  readonly #create: (grant: Omit<GrantRecord, 'revoked'>, refreshHash: string) => void;
  readonly #rotate: (presentedHash: string, successorHash: string, options: RotationOptions) => RotationResult | undefined;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#get = db.prepare(`SELECT ${COLUMNS} FROM grants WHERE id = ?`);
    this.#findByRefreshHash = db.prepare(`SELECT ${G_COLUMNS} FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = :hash AND ${LIVE}`);
    this.#isCurrent = db.prepare(`SELECT 1 AS one FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = :hash AND t.state = 'current' AND ${LIVE}`);
    this.#revoke = db.prepare('UPDATE grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
    this.#list = db.prepare(`SELECT ${G_COLUMNS} FROM grants g WHERE ${LIVE}
      AND (:userId IS NULL OR g.user_id = :userId) AND (:clientId IS NULL OR g.client_id = :clientId) ORDER BY g.created_at DESC, g.seq DESC`);

    // Expired families go with their tokens (ON DELETE CASCADE); revoked ones stay until they expire, so a
    // replay of one of their tokens is still recognised as such.
    const sweep = db.prepare<[number]>('DELETE FROM grants WHERE expires_at <= ?');
    const sweepIfDue = (now: number) => {
      if (ctx.sweeps.due('grants', now)) sweep.run(now);
    };
    const insertGrant = db.prepare(`INSERT INTO grants (${COLUMNS}) VALUES (:id, :clientId, :userId, :scopes, :resource, :createdAt, :expiresAt, NULL)`);
    const insertToken = db.prepare<[string, string, number]>(`INSERT INTO refresh_tokens (hash, grant_id, state, issued_at) VALUES (?, ?, 'current', ?)`);
    const create = db.transaction((grant: Omit<GrantRecord, 'revoked'>, refreshHash: string) => {
      sweepIfDue(grant.createdAt);
      conflictOn(['grants.id'], 'A grant with this id exists', () => insertGrant.run({ ...grant, scopes: JSON.stringify(grant.scopes) }));
      conflictOn(['refresh_tokens.hash'], 'A refresh token with this hash exists', () => insertToken.run(refreshHash, grant.id, grant.createdAt));
    });
    this.#create = (grant, refreshHash) => create.immediate(grant, refreshHash);

    const selectToken = db.prepare<[string], TokenRow>('SELECT grant_id, state, issued_at, rotated_at, successor_hash FROM refresh_tokens WHERE hash = ?');
    const retire = db.prepare<[number, string, string]>(`UPDATE refresh_tokens SET state = 'retired', rotated_at = ?, successor_hash = ? WHERE hash = ? AND state = 'current'`);
    const rotate = db.transaction((presentedHash: string, successorHash: string, options: RotationOptions): RotationResult | undefined => {
      sweepIfDue(options.now);
      const tokenRow = selectToken.get(presentedHash);
      const token = tokenRow && fromTokenRow(tokenRow);
      const grantRow = token && this.#get.get(token.grantId);
      const successor = token?.successorHash === undefined ? undefined : selectToken.get(token.successorHash);
      const step = decideRotation(token, grantRow && fromRow(grantRow), successor?.state === 'current', options);
      if (step.step === 'refuse' || !token) return undefined;
      if (step.step === 'rotate') {
        retire.run(options.now, successorHash, presentedHash);
        conflictOn(['refresh_tokens.hash'], 'A refresh token with the successor hash exists', () => insertToken.run(successorHash, token.grantId, options.now));
      } else if (step.step === 'revoke') {
        this.#revoke.run(options.now, token.grantId);
      }
      return rotationResult(step, fromRow(this.#get.get(token.grantId)!));
    });
    this.#rotate = (presentedHash, successorHash, options) => rotate.immediate(presentedHash, successorHash, options);
  }

  async create(grant: Omit<GrantRecord, 'revoked'>, refreshHash: string): Promise<GrantRecord> {
    const checked = checkNewGrant(grant);
    checkHash('grant', 'refreshHash', refreshHash);
    this.ctx.guard(() => this.#create(checked, refreshHash));
    return toGrant(checked, false);
  }

  async get(id: string): Promise<GrantRecord | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#get.get(id));
    return row && fromRow(row);
  }

  async rotate(presentedHash: string, successorHash: string, options: { clientId: string; now: number; graceSeconds: number }): Promise<RotationResult | undefined> {
    if (!checkRotation(presentedHash, successorHash, options).known) return undefined;
    const { clientId, now, graceSeconds } = options;
    return this.ctx.guard(() => this.#rotate(presentedHash, successorHash, { clientId, now, graceSeconds }));
  }

  async findByRefreshHash(hash: string, now?: number): Promise<GrantRecord | undefined> {
    const at = now === undefined ? epochSeconds(this.ctx.nowMs) : checkTime('grant', 'now', now);
    if (typeof hash !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#findByRefreshHash.get({ hash, now: at }));
    return row && fromRow(row);
  }

  async isCurrent(hash: string, now: number): Promise<boolean> {
    checkTime('grant', 'now', now);
    if (typeof hash !== 'string') return false;
    return this.ctx.guard(() => this.#isCurrent.get({ hash, now })) !== undefined;
  }

  async revoke(id: string): Promise<void> {
    if (typeof id !== 'string') return;
    this.ctx.guard(() => this.#revoke.run(epochSeconds(this.ctx.nowMs), id));
  }

  async list(filter: { userId?: string; clientId?: string; now?: number } = {}): Promise<GrantRecord[]> {
    const { userId, clientId, now } = checkGrantFilter(filter, () => epochSeconds(this.ctx.nowMs));
    const params = { userId: userId ?? null, clientId: clientId ?? null, now };
    return this.ctx.guard(() => this.#list.all(params)).map(fromRow);
  }
}

function fromRow(row: GrantRow): GrantRecord {
  const fields = { id: row.id, clientId: row.client_id, userId: row.user_id, scopes: parseFrozenList(row.scopes), resource: row.resource, createdAt: row.created_at, expiresAt: row.expires_at };
  return toGrant(fields, row.revoked_at !== null);
}

function fromTokenRow(row: TokenRow): RefreshTokenRow {
  return { grantId: row.grant_id, state: row.state, issuedAt: row.issued_at, rotatedAt: row.rotated_at ?? undefined, successorHash: row.successor_hash ?? undefined };
}

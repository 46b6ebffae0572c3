/**
 * Authorization codes in SQLite (`authorization_codes`). `consume` reads and marks the code in one
 * `BEGIN IMMEDIATE` transaction: the write lock is taken before the read, so of any number of consumers,
 * in this process or another on the same file, exactly one sees the code unused.
 */
import type { Statement } from 'better-sqlite3';
import type { AuthorizationCodeRecord, CodeStore, ConsumedCode } from '../auth-types.js';
import { checkHash, checkId, checkTime, parseFrozenList } from './auth-checks.js';
import { checkCode } from './auth-records.js';
import { conflictOn, type SqliteAuthContext } from './sqlite-auth-shared.js';

interface CodeRow {
  hash: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  code_challenge: string;
  scopes: string;
  resource: string;
  expires_at: number;
  used_at: number | null;
  grant_id: string | null;
}

const COLUMNS = 'hash, client_id, user_id, redirect_uri, code_challenge, scopes, resource, expires_at, used_at, grant_id';

export class SqliteCodeStore implements CodeStore {
  readonly #insert: Statement;
  readonly #link: Statement<[string, string]>;
  readonly #consume: (hash: string, now: number) => ConsumedCode | undefined;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#insert = db.prepare(`INSERT INTO authorization_codes (hash, client_id, user_id, redirect_uri, code_challenge, scopes, resource, expires_at)
      VALUES (:hash, :clientId, :userId, :redirectUri, :codeChallenge, :scopes, :resource, :expiresAt)`);
    this.#link = db.prepare('UPDATE authorization_codes SET grant_id = ? WHERE hash = ?');
    const sweep = db.prepare<[number]>('DELETE FROM authorization_codes WHERE expires_at <= ?');
    const select = db.prepare<[string], CodeRow>(`SELECT ${COLUMNS} FROM authorization_codes WHERE hash = ?`);
    const markUsed = db.prepare<[number, string]>('UPDATE authorization_codes SET used_at = ? WHERE hash = ? AND used_at IS NULL');
    const consume = db.transaction((hash: string, now: number): ConsumedCode | undefined => {
      if (ctx.sweeps.due('codes', now)) sweep.run(now);
      const row = select.get(hash);
      if (!row || row.expires_at <= now) return undefined;
      const code = fromRow(row);
      if (row.used_at !== null) return Object.freeze({ firstUse: false, code, grantId: row.grant_id ?? undefined });
      markUsed.run(now, hash);
      return Object.freeze({ firstUse: true, code });
    });
    this.#consume = (hash, now) => consume.immediate(hash, now);
  }

  async put(code: AuthorizationCodeRecord): Promise<void> {
    const checked = checkCode(code);
    this.ctx.guard(() =>
      conflictOn(['authorization_codes.hash'], 'An authorization code with this hash exists', () => this.#insert.run({ ...checked, scopes: JSON.stringify(checked.scopes) })),
    );
  }

  async consume(hash: string, now: number): Promise<ConsumedCode | undefined> {
    checkTime('authorization code', 'now', now);
    if (typeof hash !== 'string') return undefined;
    return this.ctx.guard(() => this.#consume(hash, now));
  }

  async linkGrant(hash: string, grantId: string): Promise<void> {
    checkHash('authorization code', 'hash', hash);
    checkId('authorization code', 'grantId', grantId);
    this.ctx.guard(() => this.#link.run(grantId, hash));
  }
}

function fromRow(row: CodeRow): AuthorizationCodeRecord {
  return Object.freeze({
    hash: row.hash,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    scopes: parseFrozenList(row.scopes),
    resource: row.resource,
    expiresAt: row.expires_at,
  });
}

/**
 * Authorization codes in PostgreSQL (`authorization_codes`). `consume` reads the code `FOR UPDATE` and
 * marks it in one transaction: of any number of consumers, in this process or another, one holds the row
 * lock and marks the code; the others wait for its COMMIT, then read the row as it left it — used.
 */
import type { AuthorizationCodeRecord, CodeStore, ConsumedCode } from '../auth-types.js';
import { checkHash, checkId, checkTime, parseFrozenList } from './auth-checks.js';
import { checkCode } from './auth-records.js';
import { conflictOn, type PostgresContext } from './postgres-connection.js';

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

export class PostgresCodeStore implements CodeStore {
  constructor(private readonly ctx: PostgresContext) {}

  async put(code: AuthorizationCodeRecord): Promise<void> {
    const c = checkCode(code);
    await conflictOn(['authorization_codes_pkey'], 'An authorization code with this hash exists', () =>
      this.ctx.run(
        `INSERT INTO authorization_codes (hash, client_id, user_id, redirect_uri, code_challenge, scopes, resource, expires_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [c.hash, c.clientId, c.userId, c.redirectUri, c.codeChallenge, JSON.stringify(c.scopes), c.resource, c.expiresAt],
      ),
    );
  }

  async consume(hash: string, now: number): Promise<ConsumedCode | undefined> {
    checkTime('authorization code', 'now', now);
    if (typeof hash !== 'string') return undefined;
    // The sweep is a statement of its own: housekeeping needs no part in the consume's row lock.
    if (this.ctx.sweeps.due('codes', now)) await this.ctx.run('DELETE FROM authorization_codes WHERE expires_at <= $1', [now]);
    return this.ctx.transaction(async (tx) => {
      const row = await tx.get<CodeRow>(`SELECT ${COLUMNS} FROM authorization_codes WHERE hash = $1 FOR UPDATE`, [hash]);
      if (!row || row.expires_at <= now) return undefined;
      const code = fromRow(row);
      if (row.used_at !== null) return Object.freeze({ firstUse: false, code, grantId: row.grant_id ?? undefined });
      await tx.run('UPDATE authorization_codes SET used_at = $1 WHERE hash = $2', [now, hash]);
      return Object.freeze({ firstUse: true, code });
    });
  }

  async linkGrant(hash: string, grantId: string): Promise<void> {
    checkHash('authorization code', 'hash', hash);
    checkId('authorization code', 'grantId', grantId);
    await this.ctx.run('UPDATE authorization_codes SET grant_id = $1 WHERE hash = $2', [grantId, hash]);
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

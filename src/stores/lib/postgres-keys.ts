/**
 * Signing keys and the generated server secret in PostgreSQL (`signing_keys`, `server_secret`).
 * `createIfNone` locks the table against every other writer (`SHARE ROW EXCLUSIVE`, held to COMMIT) before
 * it looks, so instances starting together end up with one key, and an `add` cannot slip in between.
 * `serverSecret` is `INSERT … ON CONFLICT DO NOTHING` on the one-row table, then a read: the insert of a
 * second instance waits for the first one's to commit and then does nothing, so every caller reads the
 * first candidate stored.
 */
import type { KeyStore, SigningKeyRecord } from '../auth-types.js';
import { checkTime, parseFrozenJson } from './auth-checks.js';
import { checkServerSecret, checkSigningKey, type CheckedSigningKey } from './auth-records.js';
import { conflictOn, type PostgresContext, type Sql } from './postgres-connection.js';
import { epochSeconds } from './sweep.js';

interface KeyRow {
  kid: string;
  public_jwk: string;
  private_jwk: string;
  created_at: number;
  activates_at: number;
  retires_at: number | null;
}

const COLUMNS = 'kid, public_jwk, private_jwk, created_at, activates_at, retires_at';

export class PostgresKeyStore implements KeyStore {
  constructor(private readonly ctx: PostgresContext) {}

  async list(now: number): Promise<SigningKeyRecord[]> {
    checkTime('signing key', 'now', now);
    return (await listRows(this.ctx, now)).map(fromRow);
  }

  async createIfNone(key: SigningKeyRecord, now: number): Promise<SigningKeyRecord[]> {
    const checked = checkSigningKey(key);
    checkTime('signing key', 'now', now);
    const rows = await this.ctx.transaction(async (tx) => {
      await tx.run('LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE');
      if ((await listRows(tx, now)).length === 0) await insert(tx, checked);
      return listRows(tx, now);
    });
    return rows.map(fromRow);
  }

  async add(key: SigningKeyRecord): Promise<void> {
    await insert(this.ctx, checkSigningKey(key));
  }

  async retire(kid: string, retiresAt: number): Promise<void> {
    checkTime('signing key', 'retiresAt', retiresAt);
    if (typeof kid !== 'string') return;
    await this.ctx.run('UPDATE signing_keys SET retires_at = $1 WHERE kid = $2', [retiresAt, kid]);
  }

  async serverSecret(candidate: string): Promise<string> {
    const checked = checkServerSecret(candidate);
    await this.ctx.run('INSERT INTO server_secret (id, secret, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING', [checked, epochSeconds(this.ctx.nowMs)]);
    // A statement of its own: its snapshot includes the row, whichever instance committed it.
    return (await this.ctx.get<{ secret: string }>('SELECT secret FROM server_secret WHERE id = 1'))!.secret;
  }
}

function listRows(sql: Sql, now: number): Promise<KeyRow[]> {
  return sql.all<KeyRow>(`SELECT ${COLUMNS} FROM signing_keys WHERE retires_at IS NULL OR retires_at > $1 ORDER BY created_at, seq`, [now]);
}

function insert(sql: Sql, { record, publicJwkJson }: CheckedSigningKey): Promise<number> {
  return conflictOn(['signing_keys_kid_key'], 'A signing key with this kid exists', () =>
    sql.run(`INSERT INTO signing_keys (alg, ${COLUMNS}) VALUES ('ES256', $1, $2, $3, $4, $5, $6)`, [
      record.kid, publicJwkJson, record.privateJwk, record.createdAt, record.activatesAt, record.retiresAt ?? null,
    ]),
  );
}

function fromRow(row: KeyRow): SigningKeyRecord {
  return Object.freeze({
    kid: row.kid,
    alg: 'ES256',
    publicJwk: parseFrozenJson(row.public_jwk),
    privateJwk: row.private_jwk,
    createdAt: row.created_at,
    activatesAt: row.activates_at,
    ...(row.retires_at === null ? {} : { retiresAt: row.retires_at }),
  });
}

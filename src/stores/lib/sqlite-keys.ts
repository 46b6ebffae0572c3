/**
 * Signing keys and the generated server secret in SQLite (`signing_keys`, `server_secret`).
 * `createIfNone` and `serverSecret` decide and write in one `BEGIN IMMEDIATE` transaction, so instances
 * starting together on one file end up with one key and one secret.
 */
import type { Statement } from 'better-sqlite3';
import type { KeyStore, SigningKeyRecord } from '../auth-types.js';
import { checkTime, parseFrozenJson } from './auth-checks.js';
import { checkServerSecret, checkSigningKey, type CheckedSigningKey } from './auth-records.js';
import { conflictOn, type SqliteAuthContext } from './sqlite-auth-shared.js';
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

export class SqliteKeyStore implements KeyStore {
  readonly #list: Statement<[number], KeyRow>;
  readonly #retire: Statement<[number, string]>;
  readonly #insert: (key: CheckedSigningKey) => void;
  readonly #createIfNone: (key: CheckedSigningKey, now: number) => KeyRow[];
  readonly #serverSecret: (candidate: string, now: number) => string;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM signing_keys WHERE retires_at IS NULL OR retires_at > ? ORDER BY created_at, seq`);
    this.#retire = db.prepare('UPDATE signing_keys SET retires_at = ? WHERE kid = ?');
    const insert = db.prepare(`INSERT INTO signing_keys (kid, alg, ${COLUMNS.slice('kid, '.length)})
      VALUES (:kid, 'ES256', :publicJwk, :privateJwk, :createdAt, :activatesAt, :retiresAt)`);
    this.#insert = ({ record, publicJwkJson }) =>
      conflictOn(['signing_keys.kid'], 'A signing key with this kid exists', () =>
        insert.run({ kid: record.kid, publicJwk: publicJwkJson, privateJwk: record.privateJwk, createdAt: record.createdAt, activatesAt: record.activatesAt, retiresAt: record.retiresAt ?? null }),
      );
    const createIfNone = db.transaction((key: CheckedSigningKey, now: number) => {
      if (this.#list.all(now).length === 0) this.#insert(key);
      return this.#list.all(now);
    });
    this.#createIfNone = (key, now) => createIfNone.immediate(key, now);
    const storeSecret = db.prepare<[string, number]>('INSERT INTO server_secret (id, secret, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING');
    const readSecret = db.prepare<[], { secret: string }>('SELECT secret FROM server_secret WHERE id = 1');
    const serverSecret = db.transaction((candidate: string, now: number) => {
      storeSecret.run(candidate, now);
      return readSecret.get()!.secret;
    });
    this.#serverSecret = (candidate, now) => serverSecret.immediate(candidate, now);
  }

  async list(now: number): Promise<SigningKeyRecord[]> {
    checkTime('signing key', 'now', now);
    return this.ctx.guard(() => this.#list.all(now)).map(fromRow);
  }

  async createIfNone(key: SigningKeyRecord, now: number): Promise<SigningKeyRecord[]> {
    const checked = checkSigningKey(key);
    checkTime('signing key', 'now', now);
    return this.ctx.guard(() => this.#createIfNone(checked, now)).map(fromRow);
  }

  async add(key: SigningKeyRecord): Promise<void> {
    const checked = checkSigningKey(key);
    this.ctx.guard(() => this.#insert(checked));
  }

  async retire(kid: string, retiresAt: number): Promise<void> {
    checkTime('signing key', 'retiresAt', retiresAt);
    if (typeof kid !== 'string') return;
    this.ctx.guard(() => this.#retire.run(retiresAt, kid));
  }

  async serverSecret(candidate: string): Promise<string> {
    const checked = checkServerSecret(candidate);
    return this.ctx.guard(() => this.#serverSecret(checked, epochSeconds(this.ctx.nowMs)));
  }
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

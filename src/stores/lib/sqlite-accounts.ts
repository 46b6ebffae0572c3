/**
 * Who may take part, in SQLite: the `users`, `clients` and `consents` tables. Removing a user or client
 * deletes, in the same `BEGIN IMMEDIATE` transaction, its grants (their refresh tokens follow by
 * `ON DELETE CASCADE`), its authorization codes, its consents and its upstream grants, so no other process
 * sees half of it.
 */
import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { ClientRecord, ClientStore, ConsentStore, UserRecord, UserStore } from '../auth-types.js';
import { checkId, checkScopes, parseFrozenJson, parseFrozenList } from './auth-checks.js';
import { checkClient, checkNewUser, checkUserChanges, toUser } from './auth-records.js';
import { conflictOn, type SqliteAuthContext } from './sqlite-auth-shared.js';
import { epochSeconds } from './sweep.js';

interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  scopes: string;
  created_at: number;
  updated_at: number;
}

const USER_COLUMNS = 'id, username, password_hash, scopes, created_at, updated_at';

/** The deletes that follow a user or a client, for one owner column. */
function prepareCascade(ctx: SqliteAuthContext, column: 'user_id' | 'client_id'): (id: string) => void {
  const statements = ['grants', 'authorization_codes', 'consents', 'upstream_grants'].map((table) => ctx.db.prepare(`DELETE FROM ${table} WHERE ${column} = ?`));
  return (id) => statements.forEach((statement) => statement.run(id));
}

export class SqliteUserStore implements UserStore {
  readonly #insert: Statement;
  readonly #get: Statement<[string], UserRow>;
  readonly #getByUsername: Statement<[string], UserRow>;
  readonly #list: Statement<[], UserRow>;
  readonly #update: Statement<[{ username: string; passwordHash: string | null; scopes: string | null; now: number }], UserRow>;
  readonly #count: Statement<[], { n: number }>;
  readonly #remove: (username: string) => boolean;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#insert = db.prepare(`INSERT INTO users (${USER_COLUMNS}) VALUES (:id, :username, :passwordHash, :scopes, :createdAt, :updatedAt)`);
    this.#get = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`);
    this.#getByUsername = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE username = ?`);
    this.#list = db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY username`);
    this.#update = db.prepare(`UPDATE users SET password_hash = coalesce(:passwordHash, password_hash), scopes = coalesce(:scopes, scopes), updated_at = :now
      WHERE username = :username RETURNING ${USER_COLUMNS}`);
    this.#count = db.prepare('SELECT count(*) AS n FROM users');
    const deleteUser = db.prepare<[string], { id: string }>('DELETE FROM users WHERE username = ? RETURNING id');
    const cascade = prepareCascade(ctx, 'user_id');
    const remove = db.transaction((username: string) => {
      const removed = deleteUser.get(username);
      if (removed) cascade(removed.id);
      return removed !== undefined;
    });
    this.#remove = (username) => remove.immediate(username);
  }

  async create(input: { username: string; passwordHash: string; scopes: readonly string[] }): Promise<UserRecord> {
    const checked = checkNewUser(input);
    const now = epochSeconds(this.ctx.nowMs);
    const user = toUser({ id: randomUUID(), ...checked, createdAt: now, updatedAt: now });
    this.ctx.guard(() => conflictOn(['users.username', 'users.id'], 'The username is taken', () => this.#insert.run({ ...user, scopes: JSON.stringify(user.scopes) })));
    return user;
  }

  async get(id: string): Promise<UserRecord | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#get.get(id));
    return row && fromUserRow(row);
  }

  async getByUsername(username: string): Promise<UserRecord | undefined> {
    if (typeof username !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#getByUsername.get(username));
    return row && fromUserRow(row);
  }

  async list(): Promise<UserRecord[]> {
    return this.ctx.guard(() => this.#list.all()).map(fromUserRow);
  }

  async update(username: string, changes: { passwordHash?: string; scopes?: readonly string[] }): Promise<UserRecord | undefined> {
    const checked = checkUserChanges(changes);
    if (typeof username !== 'string') return undefined;
    const params = { username, passwordHash: checked.passwordHash ?? null, scopes: checked.scopes ? JSON.stringify(checked.scopes) : null, now: epochSeconds(this.ctx.nowMs) };
    const row = this.ctx.guard(() => this.#update.get(params));
    return row && fromUserRow(row);
  }

  async remove(username: string): Promise<boolean> {
    if (typeof username !== 'string') return false;
    return this.ctx.guard(() => this.#remove(username));
  }

  async count(): Promise<number> {
    return this.ctx.guard(() => this.#count.get()!.n);
  }
}

function fromUserRow(row: UserRow): UserRecord {
  return toUser({ id: row.id, username: row.username, passwordHash: row.password_hash, scopes: parseFrozenList(row.scopes), createdAt: row.created_at, updatedAt: row.updated_at });
}

interface ClientRow {
  client_id: string;
  secret_hash: string | null;
  name: string;
  redirect_uris: string;
  grant_types: string;
  response_types: string;
  token_endpoint_auth_method: ClientRecord['tokenEndpointAuthMethod'];
  scope: string | null;
  origin: ClientRecord['origin'];
  metadata: string;
  created_at: number;
}

const CLIENT_COLUMNS = 'client_id, secret_hash, name, redirect_uris, grant_types, response_types, token_endpoint_auth_method, scope, origin, metadata, created_at';

export class SqliteClientStore implements ClientStore {
  readonly #insert: Statement<[ClientRow]>;
  readonly #get: Statement<[string], ClientRow>;
  readonly #list: Statement<[], ClientRow>;
  readonly #remove: (clientId: string) => boolean;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#insert = db.prepare(`INSERT INTO clients (${CLIENT_COLUMNS}) VALUES (${CLIENT_COLUMNS.split(', ').map((c) => `:${c}`).join(', ')})`);
    this.#get = db.prepare(`SELECT ${CLIENT_COLUMNS} FROM clients WHERE client_id = ?`);
    this.#list = db.prepare(`SELECT ${CLIENT_COLUMNS} FROM clients ORDER BY created_at, seq`);
    const deleteClient = db.prepare('DELETE FROM clients WHERE client_id = ?');
    const cascade = prepareCascade(ctx, 'client_id');
    const remove = db.transaction((clientId: string) => {
      const removed = deleteClient.run(clientId).changes > 0;
      if (removed) cascade(clientId);
      return removed;
    });
    this.#remove = (clientId) => remove.immediate(clientId);
  }

  async create(client: ClientRecord): Promise<ClientRecord> {
    const { record, metadataJson } = checkClient(client);
    const row: ClientRow = {
      client_id: record.clientId,
      secret_hash: record.secretHash ?? null,
      name: record.name,
      redirect_uris: JSON.stringify(record.redirectUris),
      grant_types: JSON.stringify(record.grantTypes),
      response_types: JSON.stringify(record.responseTypes),
      token_endpoint_auth_method: record.tokenEndpointAuthMethod,
      scope: record.scope ?? null,
      origin: record.origin,
      metadata: metadataJson,
      created_at: record.createdAt,
    };
    this.ctx.guard(() => conflictOn(['clients.client_id'], 'The client id exists', () => this.#insert.run(row)));
    return record;
  }

  async get(clientId: string): Promise<ClientRecord | undefined> {
    if (typeof clientId !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#get.get(clientId));
    return row && fromClientRow(row);
  }

  async list(): Promise<ClientRecord[]> {
    return this.ctx.guard(() => this.#list.all()).map(fromClientRow);
  }

  async remove(clientId: string): Promise<boolean> {
    if (typeof clientId !== 'string') return false;
    return this.ctx.guard(() => this.#remove(clientId));
  }
}

function fromClientRow(row: ClientRow): ClientRecord {
  return Object.freeze({
    clientId: row.client_id,
    ...(row.secret_hash === null ? {} : { secretHash: row.secret_hash }),
    name: row.name,
    redirectUris: parseFrozenList(row.redirect_uris),
    grantTypes: parseFrozenList(row.grant_types),
    responseTypes: parseFrozenList(row.response_types),
    tokenEndpointAuthMethod: row.token_endpoint_auth_method,
    ...(row.scope === null ? {} : { scope: row.scope }),
    origin: row.origin,
    metadata: parseFrozenJson(row.metadata),
    createdAt: row.created_at,
  });
}

export class SqliteConsentStore implements ConsentStore {
  readonly #get: Statement<[string, string], { scopes: string }>;
  readonly #put: Statement<[{ userId: string; clientId: string; scopes: string; now: number }]>;
  readonly #remove: Statement<[string, string]>;

  constructor(private readonly ctx: SqliteAuthContext) {
    const { db } = ctx;
    this.#get = db.prepare('SELECT scopes FROM consents WHERE user_id = ? AND client_id = ?');
    this.#put = db.prepare(`INSERT INTO consents (user_id, client_id, scopes, updated_at) VALUES (:userId, :clientId, :scopes, :now)
      ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`);
    this.#remove = db.prepare('DELETE FROM consents WHERE user_id = ? AND client_id = ?');
  }

  async get(userId: string, clientId: string): Promise<readonly string[] | undefined> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const row = this.ctx.guard(() => this.#get.get(userId, clientId));
    return row && parseFrozenList(row.scopes);
  }

  async put(userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
    checkId('consent', 'userId', userId);
    checkId('consent', 'clientId', clientId);
    const checked = checkScopes('consent', 'scopes', scopes);
    this.ctx.guard(() => this.#put.run({ userId, clientId, scopes: JSON.stringify(checked), now: epochSeconds(this.ctx.nowMs) }));
  }

  async remove(userId: string, clientId: string): Promise<void> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return;
    this.ctx.guard(() => this.#remove.run(userId, clientId));
  }
}

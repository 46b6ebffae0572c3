/**
 * Who may take part, in PostgreSQL: the `users`, `clients` and `consents` tables. Removing a user or
 * client deletes, in the same transaction, its grants (their refresh tokens follow by `ON DELETE CASCADE`),
 * its authorization codes, its consents and its upstream grants, so no other process sees half of it. A rotation under way in
 * another process holds its grant's row lock; the removal waits for it, then deletes what it left.
 */
import { randomUUID } from 'node:crypto';
import type { ClientRecord, ClientStore, ConsentStore, UserRecord, UserStore } from '../auth-types.js';
import { checkId, checkScopes, parseFrozenJson, parseFrozenList } from './auth-checks.js';
import { checkClient, checkNewUser, checkUserChanges, toUser } from './auth-records.js';
import { conflictOn, type PostgresContext, type Sql } from './postgres-connection.js';
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
async function cascade(tx: Sql, column: 'user_id' | 'client_id', id: string): Promise<void> {
  for (const table of ['grants', 'authorization_codes', 'consents', 'upstream_grants']) await tx.run(`DELETE FROM ${table} WHERE ${column} = $1`, [id]);
}

export class PostgresUserStore implements UserStore {
  constructor(private readonly ctx: PostgresContext) {}

  async create(input: { username: string; passwordHash: string; scopes: readonly string[] }): Promise<UserRecord> {
    const checked = checkNewUser(input);
    const now = epochSeconds(this.ctx.nowMs);
    const user = toUser({ id: randomUUID(), ...checked, createdAt: now, updatedAt: now });
    await conflictOn(['users_username_key', 'users_pkey'], 'The username is taken', () =>
      this.ctx.run(`INSERT INTO users (${USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
        user.id, user.username, user.passwordHash, JSON.stringify(user.scopes), user.createdAt, user.updatedAt,
      ]),
    );
    return user;
  }

  async get(id: string): Promise<UserRecord | undefined> {
    if (typeof id !== 'string') return undefined;
    const row = await this.ctx.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    return row && fromUserRow(row);
  }

  async getByUsername(username: string): Promise<UserRecord | undefined> {
    if (typeof username !== 'string') return undefined;
    const row = await this.ctx.get<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE username = $1`, [username]);
    return row && fromUserRow(row);
  }

  async list(): Promise<UserRecord[]> {
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's collation.
    return (await this.ctx.all<UserRow>(`SELECT ${USER_COLUMNS} FROM users ORDER BY username COLLATE "C"`)).map(fromUserRow);
  }

  async update(username: string, changes: { passwordHash?: string; scopes?: readonly string[] }): Promise<UserRecord | undefined> {
    const checked = checkUserChanges(changes);
    if (typeof username !== 'string') return undefined;
    const row = await this.ctx.get<UserRow>(
      `UPDATE users SET password_hash = coalesce($2, password_hash), scopes = coalesce($3::json, scopes), updated_at = $4
        WHERE username = $1 RETURNING ${USER_COLUMNS}`,
      [username, checked.passwordHash ?? null, checked.scopes ? JSON.stringify(checked.scopes) : null, epochSeconds(this.ctx.nowMs)],
    );
    return row && fromUserRow(row);
  }

  async remove(username: string): Promise<boolean> {
    if (typeof username !== 'string') return false;
    return this.ctx.transaction(async (tx) => {
      const removed = await tx.get<{ id: string }>('DELETE FROM users WHERE username = $1 RETURNING id', [username]);
      if (removed) await cascade(tx, 'user_id', removed.id);
      return removed !== undefined;
    });
  }

  async count(): Promise<number> {
    return (await this.ctx.get<{ n: number }>('SELECT count(*) AS n FROM users'))!.n;
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

export class PostgresClientStore implements ClientStore {
  constructor(private readonly ctx: PostgresContext) {}

  async create(client: ClientRecord): Promise<ClientRecord> {
    const { record, metadataJson } = checkClient(client);
    const values = [
      record.clientId,
      record.secretHash ?? null,
      record.name,
      JSON.stringify(record.redirectUris),
      JSON.stringify(record.grantTypes),
      JSON.stringify(record.responseTypes),
      record.tokenEndpointAuthMethod,
      record.scope ?? null,
      record.origin,
      metadataJson,
      record.createdAt,
    ];
    await conflictOn(['clients_client_id_key'], 'The client id exists', () =>
      this.ctx.run(`INSERT INTO clients (${CLIENT_COLUMNS}) VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})`, values),
    );
    return record;
  }

  async get(clientId: string): Promise<ClientRecord | undefined> {
    if (typeof clientId !== 'string') return undefined;
    const row = await this.ctx.get<ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM clients WHERE client_id = $1`, [clientId]);
    return row && fromClientRow(row);
  }

  async list(): Promise<ClientRecord[]> {
    return (await this.ctx.all<ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM clients ORDER BY created_at, seq`)).map(fromClientRow);
  }

  async remove(clientId: string): Promise<boolean> {
    if (typeof clientId !== 'string') return false;
    return this.ctx.transaction(async (tx) => {
      const removed = (await tx.run('DELETE FROM clients WHERE client_id = $1', [clientId])) > 0;
      if (removed) await cascade(tx, 'client_id', clientId);
      return removed;
    });
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

export class PostgresConsentStore implements ConsentStore {
  constructor(private readonly ctx: PostgresContext) {}

  async get(userId: string, clientId: string): Promise<readonly string[] | undefined> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const row = await this.ctx.get<{ scopes: string }>('SELECT scopes FROM consents WHERE user_id = $1 AND client_id = $2', [userId, clientId]);
    return row && parseFrozenList(row.scopes);
  }

  async put(userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
    checkId('consent', 'userId', userId);
    checkId('consent', 'clientId', clientId);
    const checked = checkScopes('consent', 'scopes', scopes);
    await this.ctx.run(
      `INSERT INTO consents (user_id, client_id, scopes, updated_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
      [userId, clientId, JSON.stringify(checked), epochSeconds(this.ctx.nowMs)],
    );
  }

  async remove(userId: string, clientId: string): Promise<void> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return;
    await this.ctx.run('DELETE FROM consents WHERE user_id = $1 AND client_id = $2', [userId, clientId]);
  }
}

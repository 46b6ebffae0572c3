/**
 * Who may take part, in memory: users, clients, and the consents between them. Removing a user or client
 * removes everything granted on their behalf (see `removeEverythingOf`).
 */
import { randomUUID } from 'node:crypto';
import type { ClientRecord, ClientStore, ConsentStore, UserRecord, UserStore } from '../auth-types.js';
import { StoreError } from '../errors.js';
import { checkId, checkScopes } from './auth-checks.js';
import { checkClient, checkNewUser, checkUserChanges, toUser } from './auth-records.js';
import { assertOpen, removeEverythingOf, type MemoryAuthState } from './memory-auth-state.js';
import { epochSeconds } from './sweep.js';

export class MemoryUserStore implements UserStore {
  constructor(private readonly state: MemoryAuthState) {}

  async create(input: { username: string; passwordHash: string; scopes: readonly string[] }): Promise<UserRecord> {
    assertOpen(this.state);
    const checked = checkNewUser(input);
    if (this.state.userIds.has(checked.username)) throw new StoreError('conflict', 'The username is taken');
    const now = epochSeconds(this.state.nowMs);
    const user = toUser({ id: randomUUID(), ...checked, createdAt: now, updatedAt: now });
    this.state.users.set(user.id, user);
    this.state.userIds.set(user.username, user.id);
    return user;
  }

  async get(id: string): Promise<UserRecord | undefined> {
    assertOpen(this.state);
    return typeof id === 'string' ? this.state.users.get(id) : undefined;
  }

  async getByUsername(username: string): Promise<UserRecord | undefined> {
    assertOpen(this.state);
    return this.#byUsername(username);
  }

  /** Every user, by username (code-unit order, as SQLite's BINARY collation sorts ASCII). */
  async list(): Promise<UserRecord[]> {
    assertOpen(this.state);
    return [...this.state.users.values()].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  async update(username: string, changes: { passwordHash?: string; scopes?: readonly string[] }): Promise<UserRecord | undefined> {
    assertOpen(this.state);
    const checked = checkUserChanges(changes);
    const user = this.#byUsername(username);
    if (!user) return undefined;
    const updated = toUser({ ...user, ...checked, updatedAt: epochSeconds(this.state.nowMs) });
    this.state.users.set(user.id, updated);
    return updated;
  }

  async remove(username: string): Promise<boolean> {
    assertOpen(this.state);
    const user = this.#byUsername(username);
    if (!user) return false;
    this.state.users.delete(user.id);
    this.state.userIds.delete(user.username);
    removeEverythingOf(this.state, { userId: user.id });
    return true;
  }

  async count(): Promise<number> {
    assertOpen(this.state);
    return this.state.users.size;
  }

  #byUsername(username: string): UserRecord | undefined {
    const id = typeof username === 'string' ? this.state.userIds.get(username) : undefined;
    return id === undefined ? undefined : this.state.users.get(id);
  }
}

export class MemoryClientStore implements ClientStore {
  constructor(private readonly state: MemoryAuthState) {}

  async create(client: ClientRecord): Promise<ClientRecord> {
    assertOpen(this.state);
    const { record } = checkClient(client);
    if (this.state.clients.has(record.clientId)) throw new StoreError('conflict', 'The client id exists');
    this.state.clients.set(record.clientId, { seq: ++this.state.seq, client: record });
    return record;
  }

  async get(clientId: string): Promise<ClientRecord | undefined> {
    assertOpen(this.state);
    return typeof clientId === 'string' ? this.state.clients.get(clientId)?.client : undefined;
  }

  /** Every stored client, oldest first (ties: insertion order). */
  async list(): Promise<ClientRecord[]> {
    assertOpen(this.state);
    return [...this.state.clients.values()].sort((a, b) => a.client.createdAt - b.client.createdAt || a.seq - b.seq).map((entry) => entry.client);
  }

  async remove(clientId: string): Promise<boolean> {
    assertOpen(this.state);
    if (typeof clientId !== 'string' || !this.state.clients.delete(clientId)) return false;
    removeEverythingOf(this.state, { clientId });
    return true;
  }
}

export class MemoryConsentStore implements ConsentStore {
  constructor(private readonly state: MemoryAuthState) {}

  async get(userId: string, clientId: string): Promise<readonly string[] | undefined> {
    assertOpen(this.state);
    return this.state.consents.get(userId)?.get(clientId);
  }

  async put(userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
    assertOpen(this.state);
    const kind = 'consent';
    checkId(kind, 'userId', userId);
    checkId(kind, 'clientId', clientId);
    const checked = checkScopes(kind, 'scopes', scopes);
    let byClient = this.state.consents.get(userId);
    if (!byClient) this.state.consents.set(userId, (byClient = new Map()));
    byClient.set(clientId, checked);
  }

  async remove(userId: string, clientId: string): Promise<void> {
    assertOpen(this.state);
    const byClient = this.state.consents.get(userId);
    byClient?.delete(clientId);
    if (byClient?.size === 0) this.state.consents.delete(userId);
  }
}

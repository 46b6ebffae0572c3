/**
 * Who may take part, in Redis: users (`user:<id>`, `user-id:<username>`, `users`), clients
 * (`client:<clientId>`, `clients`) and the consents between them (`consents:<userId>`,
 * `consenting-users:<clientId>`). A unique username or client id is checked and taken in the script that
 * writes the record; removing a user or client deletes, in the same script, its grants with their refresh
 * tokens, its codes and its consents (`redis-cascade.ts`), so no other process sees half of it.
 */
import { randomUUID } from 'node:crypto';
import type { ClientRecord, ClientStore, ConsentStore, UserRecord, UserStore } from '../auth-types.js';
import { StoreError } from '../errors.js';
import { checkId, checkScopes, parseFrozenJson, parseFrozenList } from './auth-checks.js';
import { checkClient, checkNewUser, checkUserChanges, toUser } from './auth-records.js';
import { GRANT_REMOVAL_LUA, OWNER_REMOVAL_LUA } from './redis-cascade.js';
import type { RedisConnection, ScriptCall } from './redis-connection.js';
import { field, hashReply, numberField } from './redis-layout.js';
import { epochSeconds } from './sweep.js';

const REMOVAL = GRANT_REMOVAL_LUA + OWNER_REMOVAL_LUA;

const USER_SCRIPTS = {
  /** ARGV: id, username, passwordHash, scopes (JSON), now. Returns 0 when the username (or id) is taken. */
  create: `
local id, username, now = ARGV[2], ARGV[3], ARGV[6]
local nameKey, userKey = key('user-id', username), key('user', id)
if redis.call('EXISTS', nameKey) == 1 or redis.call('EXISTS', userKey) == 1 then return 0 end
redis.call('SET', nameKey, id)
redis.call('HSET', userKey, 'id', id, 'username', username, 'passwordHash', ARGV[4], 'scopes', ARGV[5], 'createdAt', now, 'updatedAt', now)
redis.call('ZADD', key('users'), 0, username)
return 1
`,
  get: `return redis.call('HGETALL', key('user', ARGV[2]))`,
  getByUsername: `
local id = redis.call('GET', key('user-id', ARGV[2]))
if not id then return {} end
return redis.call('HGETALL', key('user', id))
`,
  /** Every user by username: a sorted set whose scores are all 0 orders its members bytewise. */
  list: `
local out = {}
for _, username in ipairs(redis.call('ZRANGE', key('users'), 0, -1)) do
  table.insert(out, redis.call('HGETALL', key('user', redis.call('GET', key('user-id', username)))))
end
return out
`,
  /** ARGV: username, passwordHash or '', scopes (JSON) or '', now. Returns the user's hash ({} when unknown). */
  update: `
local id = redis.call('GET', key('user-id', ARGV[2]))
if not id then return {} end
local userKey = key('user', id)
if ARGV[3] ~= '' then redis.call('HSET', userKey, 'passwordHash', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', userKey, 'scopes', ARGV[4]) end
redis.call('HSET', userKey, 'updatedAt', ARGV[5])
return redis.call('HGETALL', userKey)
`,
  /** ARGV: username. Returns 1 when the user existed. */
  remove: `${REMOVAL}
local username = ARGV[2]
local nameKey = key('user-id', username)
local id = redis.call('GET', nameKey)
if not id then return 0 end
redis.call('DEL', nameKey, key('user', id))
redis.call('ZREM', key('users'), username)
dropEverythingOfUser(id)
return 1
`,
  count: `return redis.call('ZCARD', key('users'))`,
};

export class RedisUserStore implements UserStore {
  readonly #scripts: Record<keyof typeof USER_SCRIPTS, ScriptCall>;

  constructor(private readonly connection: RedisConnection) {
    this.#scripts = connection.scripts('users', USER_SCRIPTS);
  }

  async create(input: { username: string; passwordHash: string; scopes: readonly string[] }): Promise<UserRecord> {
    const checked = checkNewUser(input);
    const now = epochSeconds(this.connection.nowMs);
    const user = toUser({ id: randomUUID(), ...checked, createdAt: now, updatedAt: now });
    if ((await this.#scripts.create(user.id, user.username, user.passwordHash, JSON.stringify(user.scopes), now)) === 0) {
      throw new StoreError('conflict', 'The username is taken');
    }
    return user;
  }

  async get(id: string): Promise<UserRecord | undefined> {
    if (typeof id !== 'string') return undefined;
    return userOf(await this.#scripts.get(id));
  }

  async getByUsername(username: string): Promise<UserRecord | undefined> {
    if (typeof username !== 'string') return undefined;
    return userOf(await this.#scripts.getByUsername(username));
  }

  async list(): Promise<UserRecord[]> {
    return ((await this.#scripts.list()) as unknown[]).map((reply) => userOf(reply)!);
  }

  async update(username: string, changes: { passwordHash?: string; scopes?: readonly string[] }): Promise<UserRecord | undefined> {
    const checked = checkUserChanges(changes);
    if (typeof username !== 'string') return undefined;
    const scopes = checked.scopes ? JSON.stringify(checked.scopes) : '';
    return userOf(await this.#scripts.update(username, checked.passwordHash ?? '', scopes, epochSeconds(this.connection.nowMs)));
  }

  async remove(username: string): Promise<boolean> {
    if (typeof username !== 'string') return false;
    return (await this.#scripts.remove(username)) === 1;
  }

  async count(): Promise<number> {
    return (await this.#scripts.count()) as number;
  }
}

function userOf(reply: unknown): UserRecord | undefined {
  const hash = hashReply(reply);
  if (!hash) return undefined;
  return toUser({
    id: field(hash, 'id'),
    username: field(hash, 'username'),
    passwordHash: field(hash, 'passwordHash'),
    scopes: parseFrozenList(field(hash, 'scopes')),
    createdAt: numberField(hash, 'createdAt'),
    updatedAt: numberField(hash, 'updatedAt'),
  });
}

const CLIENT_SCRIPTS = {
  /** ARGV: clientId, the record as JSON, createdAt. Returns 0 when the client id is taken. */
  create: `
local clientId = ARGV[2]
local clientKey = key('client', clientId)
if redis.call('EXISTS', clientKey) == 1 then return 0 end
local order = nextOrder(clientId)
redis.call('HSET', clientKey, 'record', ARGV[3], 'order', order)
redis.call('ZADD', key('clients'), ARGV[4], order)
return 1
`,
  get: `return redis.call('HGET', key('client', ARGV[2]), 'record')`,
  /** Oldest first (ties: insertion order). */
  list: `
local out = {}
for _, order in ipairs(redis.call('ZRANGE', key('clients'), 0, -1)) do
  table.insert(out, redis.call('HGET', key('client', idOf(order)), 'record'))
end
return out
`,
  /** ARGV: clientId. Returns 1 when the client existed. */
  remove: `${REMOVAL}
local clientId = ARGV[2]
local clientKey = key('client', clientId)
local order = redis.call('HGET', clientKey, 'order')
if not order then return 0 end
redis.call('DEL', clientKey)
redis.call('ZREM', key('clients'), order)
dropEverythingOfClient(clientId)
return 1
`,
};

export class RedisClientStore implements ClientStore {
  readonly #scripts: Record<keyof typeof CLIENT_SCRIPTS, ScriptCall>;

  constructor(connection: RedisConnection) {
    this.#scripts = connection.scripts('clients', CLIENT_SCRIPTS);
  }

  async create(client: ClientRecord): Promise<ClientRecord> {
    const { record } = checkClient(client);
    // The checked record is plain JSON (metadata was checked to be), so it reads back the same.
    if ((await this.#scripts.create(record.clientId, JSON.stringify(record), record.createdAt)) === 0) {
      throw new StoreError('conflict', 'The client id exists');
    }
    return record;
  }

  async get(clientId: string): Promise<ClientRecord | undefined> {
    if (typeof clientId !== 'string') return undefined;
    const json = (await this.#scripts.get(clientId)) as string | null;
    return json === null ? undefined : clientOf(json);
  }

  async list(): Promise<ClientRecord[]> {
    return ((await this.#scripts.list()) as string[]).map(clientOf);
  }

  async remove(clientId: string): Promise<boolean> {
    if (typeof clientId !== 'string') return false;
    return (await this.#scripts.remove(clientId)) === 1;
  }
}

function clientOf(json: string): ClientRecord {
  return parseFrozenJson(json) as unknown as ClientRecord;
}

const CONSENT_SCRIPTS = {
  get: `return redis.call('HGET', key('consents', ARGV[2]), ARGV[3])`,
  /** ARGV: userId, clientId, scopes (JSON). */
  put: `
redis.call('HSET', key('consents', ARGV[2]), ARGV[3], ARGV[4])
redis.call('SADD', key('consenting-users', ARGV[3]), ARGV[2])
return 1
`,
  /** ARGV: userId, clientId. */
  remove: `
redis.call('HDEL', key('consents', ARGV[2]), ARGV[3])
redis.call('SREM', key('consenting-users', ARGV[3]), ARGV[2])
return 1
`,
};

export class RedisConsentStore implements ConsentStore {
  readonly #scripts: Record<keyof typeof CONSENT_SCRIPTS, ScriptCall>;

  constructor(connection: RedisConnection) {
    this.#scripts = connection.scripts('consents', CONSENT_SCRIPTS);
  }

  async get(userId: string, clientId: string): Promise<readonly string[] | undefined> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const json = (await this.#scripts.get(userId, clientId)) as string | null;
    return json === null ? undefined : parseFrozenList(json);
  }

  async put(userId: string, clientId: string, scopes: readonly string[]): Promise<void> {
    checkId('consent', 'userId', userId);
    checkId('consent', 'clientId', clientId);
    const checked = checkScopes('consent', 'scopes', scopes);
    await this.#scripts.put(userId, clientId, JSON.stringify(checked));
  }

  async remove(userId: string, clientId: string): Promise<void> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return;
    await this.#scripts.remove(userId, clientId);
  }
}

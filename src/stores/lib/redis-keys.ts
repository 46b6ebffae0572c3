/**
 * Signing keys and the generated server secret in Redis: `signing-key:<kid>` (hash), `signing-keys`
 * (sorted by creation, ties by insertion), `server-secret` (string). `createIfNone` and `serverSecret`
 * decide and write in one script each, so instances starting together on one Redis end up with one key
 * and one secret.
 */
import type { KeyStore, SigningKeyRecord } from '../auth-types.js';
import { StoreError } from '../errors.js';
import { checkTime, parseFrozenJson } from './auth-checks.js';
import { checkServerSecret, checkSigningKey, type CheckedSigningKey } from './auth-records.js';
import type { RedisConnection, ScriptArg, ScriptCall } from './redis-connection.js';
import { field, hashReply, numberField } from './redis-layout.js';

const KEYS_LUA = `
-- The hashes of the keys not retired at now, oldest first.
local function published(now)
  local out = {}
  for _, order in ipairs(redis.call('ZRANGE', key('signing-keys'), 0, -1)) do
    local k = key('signing-key', idOf(order))
    local retiresAt = redis.call('HGET', k, 'retiresAt')
    if not retiresAt or tonumber(retiresAt) > now then table.insert(out, redis.call('HGETALL', k)) end
  end
  return out
end
-- Adds the key whose 6 arguments start at ARGV[i] (kid, publicJwk, privateJwk, createdAt, activatesAt,
-- retiresAt or ''); false when the kid is taken.
local function add(i)
  local kid, createdAt, retiresAt = ARGV[i], ARGV[i + 3], ARGV[i + 5]
  local k = key('signing-key', kid)
  if redis.call('EXISTS', k) == 1 then return false end
  local order = nextOrder(kid)
  redis.call('HSET', k, 'kid', kid, 'publicJwk', ARGV[i + 1], 'privateJwk', ARGV[i + 2], 'createdAt', createdAt, 'activatesAt', ARGV[i + 4], 'order', order)
  if retiresAt ~= '' then redis.call('HSET', k, 'retiresAt', retiresAt) end
  redis.call('ZADD', key('signing-keys'), createdAt, order)
  return true
end
`;

const SCRIPTS = {
  /** ARGV: now. */
  list: `${KEYS_LUA}
return published(tonumber(ARGV[2]))
`,
  /** ARGV: the key's 6 fields, now. Returns {'ok', published keys} or {'conflict'}. */
  createIfNone: `${KEYS_LUA}
local now = tonumber(ARGV[8])
if #published(now) == 0 and not add(2) then return {'conflict'} end
return {'ok', published(now)}
`,
  /** ARGV: the key's 6 fields. Returns 0 when the kid is taken. */
  add: `${KEYS_LUA}
if add(2) then return 1 end
return 0
`,
  /** ARGV: kid, retiresAt. Unknown kid: nothing happens. */
  retire: `
local k = key('signing-key', ARGV[2])
if redis.call('EXISTS', k) == 1 then redis.call('HSET', k, 'retiresAt', ARGV[3]) end
return 1
`,
  /** ARGV: candidate. The stored secret, storing the candidate first when there is none. */
  serverSecret: `
local k = key('server-secret')
local stored = redis.call('GET', k)
if stored then return stored end
redis.call('SET', k, ARGV[2])
return ARGV[2]
`,
};

export class RedisKeyStore implements KeyStore {
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCall>;

  constructor(connection: RedisConnection) {
    this.#scripts = connection.scripts('keys', SCRIPTS);
  }

  async list(now: number): Promise<SigningKeyRecord[]> {
    checkTime('signing key', 'now', now);
    return ((await this.#scripts.list(now)) as unknown[]).map(keyOf);
  }

  async createIfNone(key: SigningKeyRecord, now: number): Promise<SigningKeyRecord[]> {
    const checked = checkSigningKey(key);
    checkTime('signing key', 'now', now);
    const [outcome, held] = (await this.#scripts.createIfNone(...keyArgs(checked), now)) as [string, unknown[]?];
    if (outcome === 'conflict') throw new StoreError('conflict', 'A signing key with this kid exists');
    return held!.map(keyOf);
  }

  async add(key: SigningKeyRecord): Promise<void> {
    const checked = checkSigningKey(key);
    if ((await this.#scripts.add(...keyArgs(checked))) === 0) throw new StoreError('conflict', 'A signing key with this kid exists');
  }

  async retire(kid: string, retiresAt: number): Promise<void> {
    checkTime('signing key', 'retiresAt', retiresAt);
    if (typeof kid !== 'string') return;
    await this.#scripts.retire(kid, retiresAt);
  }

  async serverSecret(candidate: string): Promise<string> {
    return (await this.#scripts.serverSecret(checkServerSecret(candidate))) as string;
  }
}

function keyArgs({ record, publicJwkJson }: CheckedSigningKey): ScriptArg[] {
  return [record.kid, publicJwkJson, record.privateJwk, record.createdAt, record.activatesAt, record.retiresAt ?? ''];
}

function keyOf(reply: unknown): SigningKeyRecord {
  const hash = hashReply(reply)!;
  const retiresAt = hash.get('retiresAt');
  return Object.freeze({
    kid: field(hash, 'kid'),
    alg: 'ES256',
    publicJwk: parseFrozenJson(field(hash, 'publicJwk')),
    privateJwk: field(hash, 'privateJwk'),
    createdAt: numberField(hash, 'createdAt'),
    activatesAt: numberField(hash, 'activatesAt'),
    ...(retiresAt === undefined ? {} : { retiresAt: Number(retiresAt) }),
  });
}

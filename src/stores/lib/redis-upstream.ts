/**
 * Upstream grants (federated login) in Redis, laid out like consents: `upstream-grants:<userId>` (hash:
 * clientId → the record as JSON) and `upstream-grant-users:<clientId>` (set of user ids, for removing a
 * client's records). Both keys live as long as the latest-ending record they hold (TTL extended, never
 * shortened); reads compare `expiresAt` with the caller's `now`, and `put` drops the user's ended records.
 * `put` (version + 1) and `update` (compare-and-swap on the version) are one script each.
 */
import type { NewUpstreamGrant, UpstreamGrantChanges, UpstreamGrantRecord, UpstreamGrantStore } from '../auth-types.js';
import { checkTime } from './auth-checks.js';
import type { RedisConnection, ScriptCall } from './redis-connection.js';
import { applyUpstreamUpdate, checkNewUpstreamGrant, checkUpstreamUpdate, isLiveUpstreamGrant, toUpstreamGrant } from './upstream-records.js';

const SCRIPTS = {
  /** ARGV: userId, clientId, the record as JSON without `version`, createdAt, expiresAt. Returns the stored JSON. */
  put: `
local userId, clientId, createdAt, expiresAt = ARGV[2], ARGV[3], ARGV[5], ARGV[6]
local k = key('upstream-grants', userId)
local version = 1
local all = redis.call('HGETALL', k)
for i = 1, #all, 2 do
  local heldClient, held = all[i], cjson.decode(all[i + 1])
  if heldClient == clientId then
    version = held.version + 1
  elseif held.expiresAt <= tonumber(createdAt) then
    redis.call('HDEL', k, heldClient)
    redis.call('SREM', key('upstream-grant-users', heldClient), userId)
  end
end
local record = cjson.decode(ARGV[4])
record.version = version
local json = cjson.encode(record)
redis.call('HSET', k, clientId, json)
local users = key('upstream-grant-users', clientId)
redis.call('SADD', users, userId)
local seconds = ttl(expiresAt, createdAt)
extendTo(k, seconds)
extendTo(users, seconds)
return json
`,
  get: `return redis.call('HGET', key('upstream-grants', ARGV[2]), ARGV[3])`,
  /** ARGV: userId, clientId, expected version, now, the new record as JSON. Returns 1 when swapped, 0 when the record changed, ended or went. */
  swap: `
local k = key('upstream-grants', ARGV[2])
local held = redis.call('HGET', k, ARGV[3])
if not held then return 0 end
local record = cjson.decode(held)
if record.version ~= tonumber(ARGV[4]) or record.expiresAt <= tonumber(ARGV[5]) then return 0 end
redis.call('HSET', k, ARGV[3], ARGV[6])
return 1
`,
  /** ARGV: userId, clientId. Returns 1 when there was a record. */
  remove: `
local k = key('upstream-grants', ARGV[2])
local removed = redis.call('HDEL', k, ARGV[3])
redis.call('SREM', key('upstream-grant-users', ARGV[3]), ARGV[2])
return removed
`,
};

/** Lua for the owner cascades (`redis-cascade.ts`): `dropUpstreamGrantsOfUser(userId)`, `dropUpstreamGrantsOfClient(clientId)`. */
export const UPSTREAM_REMOVAL_LUA = `
local function dropUpstreamGrantsOfUser(userId)
  local k = key('upstream-grants', userId)
  for _, clientId in ipairs(redis.call('HKEYS', k)) do redis.call('SREM', key('upstream-grant-users', clientId), userId) end
  redis.call('DEL', k)
end
local function dropUpstreamGrantsOfClient(clientId)
  local users = key('upstream-grant-users', clientId)
  for _, userId in ipairs(redis.call('SMEMBERS', users)) do redis.call('HDEL', key('upstream-grants', userId), clientId) end
  redis.call('DEL', users)
end
`;

export class RedisUpstreamGrantStore implements UpstreamGrantStore {
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCall>;

  constructor(connection: RedisConnection) {
    this.#scripts = connection.scripts('upstreamGrants', SCRIPTS);
  }

  async put(record: NewUpstreamGrant): Promise<UpstreamGrantRecord> {
    const r = checkNewUpstreamGrant(record);
    const json = JSON.stringify({ ...r, updatedAt: r.createdAt });
    return recordOf((await this.#scripts.put(r.userId, r.clientId, json, r.createdAt, r.expiresAt)) as string);
  }

  async get(userId: string, clientId: string, now: number): Promise<UpstreamGrantRecord | undefined> {
    checkTime('upstream grant', 'now', now);
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const held = await this.#held(userId, clientId);
    return held && isLiveUpstreamGrant(held, now) ? held : undefined;
  }

  async update(userId: string, clientId: string, version: number, changes: UpstreamGrantChanges, now: number): Promise<UpstreamGrantRecord | undefined> {
    const checked = checkUpstreamUpdate(version, changes, now);
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    const held = await this.#held(userId, clientId);
    if (!held || !isLiveUpstreamGrant(held, checked.now) || held.version !== checked.version) return undefined;
    // Built from what was read; the script stores it only if the version is still the one read.
    const next = applyUpstreamUpdate(held, checked.changes, checked.now);
    const swapped = await this.#scripts.swap(userId, clientId, checked.version, checked.now, JSON.stringify(next));
    return swapped === 1 ? next : undefined;
  }

  async remove(userId: string, clientId: string): Promise<boolean> {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return false;
    return (await this.#scripts.remove(userId, clientId)) === 1;
  }

  async #held(userId: string, clientId: string): Promise<UpstreamGrantRecord | undefined> {
    const json = (await this.#scripts.get(userId, clientId)) as string | null;
    return json === null ? undefined : recordOf(json);
  }
}

function recordOf(json: string): UpstreamGrantRecord {
  return toUpstreamGrant(JSON.parse(json) as UpstreamGrantRecord);
}

/**
 * Grants and their refresh tokens in Redis: `grant:<id>` (hash), `grant-tokens:<id>` (the family's token
 * hashes), `refresh:<hash>` (hash: grantId, state, issuedAt, rotatedAt, successorHash), all expiring with
 * the grant; sorted-set indexes by creation (`grants:all`, `grants:by-user:<id>`, `grants:by-client:<id>`)
 * and by expiry (`grants:expiry`, see `redis-cascade.ts`).
 *
 * `rotate` is one Lua script: it reads the presented token, its grant and its successor, decides and
 * writes, and Redis runs nothing else meanwhile, so of any number of concurrent rotations of one token —
 * from any process — exactly one sees it current. Its decision MIRRORS `decideRotation` of
 * `refresh-rotation.ts` (the state machine of docs/storage-schema.md): a Lua script cannot call back into
 * TypeScript, so any change there must be made here too; the shared contract suite checks both agree.
 * The result is built by the shared `rotationResult`, and liveness of reads by the shared `isLive`.
 */
import type { GrantRecord, GrantStore, RotationResult } from '../auth-types.js';
import { StoreError } from '../errors.js';
import { checkHash, checkTime, parseFrozenList } from './auth-checks.js';
import { checkGrantFilter, checkNewGrant, toGrant } from './auth-records.js';
import { GRANT_REMOVAL_LUA } from './redis-cascade.js';
import type { RedisConnection, ScriptCall } from './redis-connection.js';
import { field, hashReply, numberField } from './redis-layout.js';
import { checkRotation, isLive, rotationResult, type RotationStep } from './refresh-rotation.js';
import { epochSeconds, SweepSchedule } from './sweep.js';

const SCRIPTS = {
  /**
   * ARGV: id, clientId, userId, scopes (JSON), resource, createdAt, expiresAt, refreshHash, sweep ('1' =
   * sweep first). Returns 'ok', 'grant' or 'token' (the taken one).
   */
  create: `${GRANT_REMOVAL_LUA}
local id, clientId, userId, createdAt, expiresAt, refreshHash = ARGV[2], ARGV[3], ARGV[4], ARGV[7], ARGV[8], ARGV[9]
if ARGV[10] == '1' then sweepGrants(createdAt) end
local grantKey, tokenKey, tokensKey = key('grant', id), key('refresh', refreshHash), key('grant-tokens', id)
if redis.call('EXISTS', grantKey) == 1 then return 'grant' end
if redis.call('EXISTS', tokenKey) == 1 then return 'token' end
local order = nextOrder(id)
redis.call('HSET', grantKey, 'id', id, 'clientId', clientId, 'userId', userId, 'scopes', ARGV[5], 'resource', ARGV[6],
  'createdAt', createdAt, 'expiresAt', expiresAt, 'order', order)
redis.call('HSET', tokenKey, 'grantId', id, 'state', 'current', 'issuedAt', createdAt)
redis.call('SADD', tokensKey, refreshHash)
local seconds = ttl(expiresAt, createdAt)
for _, k in ipairs({grantKey, tokenKey, tokensKey}) do redis.call('EXPIRE', k, seconds) end
redis.call('ZADD', key('grants', 'all'), createdAt, order)
redis.call('ZADD', key('grants', 'by-user', userId), createdAt, order)
redis.call('ZADD', key('grants', 'by-client', clientId), createdAt, order)
redis.call('ZADD', key('grants', 'expiry'), expiresAt, expiryMember(id, userId, clientId, order))
return 'ok'
`,
  get: `return redis.call('HGETALL', key('grant', ARGV[2]))`,
  /**
   * ARGV: presented, successor, clientId, now, graceSeconds, sweep. Returns {step, grant hash[, successorHash]}
   * with step 'refuse' | 'rotate' | 'grace' | 'revoke' (as RotationStep), or {'conflict'}.
   * MIRRORS decideRotation (refresh-rotation.ts): keep the two in step.
   */
  rotate: `${GRANT_REMOVAL_LUA}
local presented, successor, clientId = ARGV[2], ARGV[3], ARGV[4]
local now, grace = tonumber(ARGV[5]), tonumber(ARGV[6])
if ARGV[7] == '1' then sweepGrants(now) end
local tokenKey = key('refresh', presented)
local token = redis.call('HMGET', tokenKey, 'grantId', 'state', 'rotatedAt', 'successorHash')
if not token[1] then return {'refuse'} end
local grantKey = key('grant', token[1])
local grant = redis.call('HMGET', grantKey, 'clientId', 'expiresAt', 'revokedAt')
-- refuse: no grant, not live (revoked or now >= expiresAt), or another client
if not grant[1] or grant[3] or now >= tonumber(grant[2]) or grant[1] ~= clientId then return {'refuse'} end
if token[2] == 'current' then
  local successorKey = key('refresh', successor)
  if redis.call('EXISTS', successorKey) == 1 then return {'conflict'} end
  redis.call('HSET', tokenKey, 'state', 'retired', 'rotatedAt', now, 'successorHash', successor)
  redis.call('HSET', successorKey, 'grantId', token[1], 'state', 'current', 'issuedAt', now)
  local remaining = redis.call('PTTL', grantKey)
  if remaining > 0 then redis.call('PEXPIRE', successorKey, remaining) end
  redis.call('SADD', key('grant-tokens', token[1]), successor)
  return {'rotate', redis.call('HGETALL', grantKey)}
end
-- Retired. Grace is the half-open interval [rotatedAt, rotatedAt + grace), only for the token rotated last.
local withinGrace = token[3] and now < tonumber(token[3]) + grace
local successorIsCurrent = token[4] and redis.call('HGET', key('refresh', token[4]), 'state') == 'current'
if successorIsCurrent and withinGrace then return {'grace', redis.call('HGETALL', grantKey), token[4]} end
redis.call('HSET', grantKey, 'revokedAt', now)
return {'revoke', redis.call('HGETALL', grantKey)}
`,
  /** ARGV: hash. Returns {state, grant hash} or false. */
  token: `
local token = redis.call('HMGET', key('refresh', ARGV[2]), 'grantId', 'state')
if not token[1] then return false end
return {token[2], redis.call('HGETALL', key('grant', token[1]))}
`,
  /** ARGV: id, now. Marks the grant revoked unless it is unknown or revoked already. */
  revoke: `
local grantKey = key('grant', ARGV[2])
if redis.call('EXISTS', grantKey) == 1 and redis.call('HEXISTS', grantKey, 'revokedAt') == 0 then
  redis.call('HSET', grantKey, 'revokedAt', ARGV[3])
end
return 1
`,
  /** ARGV: userId or '', clientId or ''. Returns the hashes of the grants one index lists, newest first (ties: later insert first). */
  list: `
local index = key('grants', 'all')
if ARGV[2] ~= '' then index = key('grants', 'by-user', ARGV[2]) elseif ARGV[3] ~= '' then index = key('grants', 'by-client', ARGV[3]) end
local out = {}
for _, order in ipairs(redis.call('ZREVRANGE', index, 0, -1)) do
  local grantKey = key('grant', idOf(order))
  if redis.call('HGET', grantKey, 'order') == order then table.insert(out, redis.call('HGETALL', grantKey)) end
end
return out
`,
};

export class RedisGrantStore implements GrantStore {
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCall>;
  /** Per store instance, like the other adapters: each process sweeps on its own schedule. */
  readonly #sweeps = new SweepSchedule();

  constructor(private readonly connection: RedisConnection) {
    this.#scripts = connection.scripts('grants', SCRIPTS);
  }

  async create(grant: Omit<GrantRecord, 'revoked'>, refreshHash: string): Promise<GrantRecord> {
    const checked = checkNewGrant(grant);
    checkHash('grant', 'refreshHash', refreshHash);
    const { id, clientId, userId, scopes, resource, createdAt, expiresAt } = checked;
    const taken = await this.#scripts.create(id, clientId, userId, JSON.stringify(scopes), resource, createdAt, expiresAt, refreshHash, this.#sweep(createdAt));
    if (taken === 'grant') throw new StoreError('conflict', 'A grant with this id exists');
    if (taken === 'token') throw new StoreError('conflict', 'A refresh token with this hash exists');
    return toGrant(checked, false);
  }

  async get(id: string): Promise<GrantRecord | undefined> {
    if (typeof id !== 'string') return undefined;
    const hash = hashReply(await this.#scripts.get(id));
    return hash && fromHash(hash);
  }

  async rotate(presentedHash: string, successorHash: string, options: { clientId: string; now: number; graceSeconds: number }): Promise<RotationResult | undefined> {
    if (!checkRotation(presentedHash, successorHash, options).known) return undefined;
    const { clientId, now, graceSeconds } = options;
    const reply = await this.#scripts.rotate(presentedHash, successorHash, clientId, now, graceSeconds, this.#sweep(now));
    const [step, grant, stored] = reply as [string, unknown?, string?];
    if (step === 'conflict') throw new StoreError('conflict', 'A refresh token with the successor hash exists');
    if (step === 'refuse') return undefined;
    const decided = (step === 'grace' ? { step, successorHash: stored! } : { step }) as RotationStep;
    return rotationResult(decided, fromHash(hashReply(grant)!));
  }

  async findByRefreshHash(hash: string, now?: number): Promise<GrantRecord | undefined> {
    const at = now === undefined ? epochSeconds(this.connection.nowMs) : checkTime('grant', 'now', now);
    if (typeof hash !== 'string') return undefined;
    const grant = (await this.#token(hash))?.grant;
    return grant && isLive(grant, at) ? grant : undefined;
  }

  async isCurrent(hash: string, now: number): Promise<boolean> {
    checkTime('grant', 'now', now);
    if (typeof hash !== 'string') return false;
    const token = await this.#token(hash);
    return token?.state === 'current' && token.grant !== undefined && isLive(token.grant, now);
  }

  async revoke(id: string): Promise<void> {
    if (typeof id !== 'string') return;
    await this.#scripts.revoke(id, epochSeconds(this.connection.nowMs));
  }

  async list(filter: { userId?: string; clientId?: string; now?: number } = {}): Promise<GrantRecord[]> {
    const { userId, clientId, now } = checkGrantFilter(filter, () => epochSeconds(this.connection.nowMs));
    const reply = (await this.#scripts.list(userId ?? '', clientId ?? '')) as unknown[];
    return reply
      .map((grant) => fromHash(hashReply(grant)!))
      .filter((grant) => isLive(grant, now) && (userId === undefined || grant.userId === userId) && (clientId === undefined || grant.clientId === clientId));
  }

  /** '1' when the sweep is due (see `sweep.ts`). */
  #sweep(now: number): string {
    return this.#sweeps.due('grants', now) ? '1' : '0';
  }

  /** A refresh token's state and its grant (undefined when the grant is gone). */
  async #token(hash: string): Promise<{ state: string; grant: GrantRecord | undefined } | undefined> {
    const reply = (await this.#scripts.token(hash)) as [string, unknown] | null;
    if (reply === null) return undefined;
    const grant = hashReply(reply[1]);
    return { state: reply[0], grant: grant && fromHash(grant) };
  }
}

function fromHash(hash: Map<string, string>): GrantRecord {
  const fields = {
    id: field(hash, 'id'),
    clientId: field(hash, 'clientId'),
    userId: field(hash, 'userId'),
    scopes: parseFrozenList(field(hash, 'scopes')),
    resource: field(hash, 'resource'),
    createdAt: numberField(hash, 'createdAt'),
    expiresAt: numberField(hash, 'expiresAt'),
  };
  return toGrant(fields, hash.has('revokedAt'));
}

/**
 * Authorization codes in Redis: `code:<hash>` (hash, expiring with the code), indexed per user and per
 * client (`codes:by-user:<id>`, `codes:by-client:<id>`, scored by expiry) so that removing either removes
 * its codes. `consume` reads and marks the code in one script, so of any number of consumers, in this
 * process or another, exactly one sees it unused.
 */
import type { AuthorizationCodeRecord, CodeStore, ConsumedCode } from '../auth-types.js';
import { StoreError } from '../errors.js';
import { checkHash, checkId, checkTime, parseFrozenList } from './auth-checks.js';
import { checkCode } from './auth-records.js';
import type { RedisConnection, ScriptCall } from './redis-connection.js';
import { field, hashReply, numberField } from './redis-layout.js';
import { epochSeconds } from './sweep.js';

const SCRIPTS = {
  /** ARGV: hash, clientId, userId, redirectUri, codeChallenge, scopes (JSON), resource, expiresAt, now. Returns 0 when the hash is taken. */
  put: `
local hash, clientId, userId, expiresAt, now = ARGV[2], ARGV[3], ARGV[4], ARGV[9], ARGV[10]
local codeKey = key('code', hash)
if redis.call('EXISTS', codeKey) == 1 then return 0 end
redis.call('HSET', codeKey, 'hash', hash, 'clientId', clientId, 'userId', userId, 'redirectUri', ARGV[5], 'codeChallenge', ARGV[6],
  'scopes', ARGV[7], 'resource', ARGV[8], 'expiresAt', expiresAt)
local seconds = ttl(expiresAt, now)
redis.call('EXPIRE', codeKey, seconds)
for _, index in ipairs({key('codes', 'by-user', userId), key('codes', 'by-client', clientId)}) do
  -- Codes that ended (a margin ago, for instances whose clocks differ) need no removal by their owner.
  redis.call('ZREMRANGEBYSCORE', index, '-inf', tonumber(now) - MARGIN)
  redis.call('ZADD', index, expiresAt, hash)
  extendTo(index, seconds)
end
return 1
`,
  /** ARGV: hash, now. Returns false (unknown or expired) or {1 first use | 0 replay, code hash}. */
  consume: `
local codeKey = key('code', ARGV[2])
local code = redis.call('HGETALL', codeKey)
if #code == 0 or tonumber(redis.call('HGET', codeKey, 'expiresAt')) <= tonumber(ARGV[3]) then return false end
if redis.call('HSETNX', codeKey, 'usedAt', ARGV[3]) == 1 then return {1, code} end
return {0, code}
`,
  /** ARGV: hash, grantId. A code that is gone stays gone. */
  linkGrant: `
local codeKey = key('code', ARGV[2])
if redis.call('EXISTS', codeKey) == 1 then redis.call('HSET', codeKey, 'grantId', ARGV[3]) end
return 1
`,
};

export class RedisCodeStore implements CodeStore {
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCall>;

  constructor(private readonly connection: RedisConnection) {
    this.#scripts = connection.scripts('codes', SCRIPTS);
  }

  async put(code: AuthorizationCodeRecord): Promise<void> {
    const c = checkCode(code);
    const now = epochSeconds(this.connection.nowMs);
    const stored = await this.#scripts.put(c.hash, c.clientId, c.userId, c.redirectUri, c.codeChallenge, JSON.stringify(c.scopes), c.resource, c.expiresAt, now);
    if (stored === 0) throw new StoreError('conflict', 'An authorization code with this hash exists');
  }

  async consume(hash: string, now: number): Promise<ConsumedCode | undefined> {
    checkTime('authorization code', 'now', now);
    if (typeof hash !== 'string') return undefined;
    const reply = (await this.#scripts.consume(hash, now)) as [number, unknown] | null;
    if (reply === null) return undefined;
    const stored = hashReply(reply[1])!;
    const code = fromHash(stored);
    if (reply[0] === 1) return Object.freeze({ firstUse: true, code });
    return Object.freeze({ firstUse: false, code, grantId: stored.get('grantId') });
  }

  async linkGrant(hash: string, grantId: string): Promise<void> {
    checkHash('authorization code', 'hash', hash);
    checkId('authorization code', 'grantId', grantId);
    await this.#scripts.linkGrant(hash, grantId);
  }
}

function fromHash(hash: Map<string, string>): AuthorizationCodeRecord {
  return Object.freeze({
    hash: field(hash, 'hash'),
    clientId: field(hash, 'clientId'),
    userId: field(hash, 'userId'),
    redirectUri: field(hash, 'redirectUri'),
    codeChallenge: field(hash, 'codeChallenge'),
    scopes: parseFrozenList(field(hash, 'scopes')),
    resource: field(hash, 'resource'),
    expiresAt: numberField(hash, 'expiresAt'),
  });
}

/**
 * Rate-limit windows and cached client ID metadata documents in Redis. A window is `rate:<length>:<key>`
 * (hash: `start`, `count`), expiring at the window's end; `rate-windows:<key>` lists the window lengths a
 * key has, for `reset`. `hit` is one script, so concurrent hits from any number of processes each count
 * once and each see a distinct count. A document is `cimd:<url>` (hash: `document`, `expiresAt`), expiring
 * with it; an expired entry is never answered, whatever Redis still holds.
 */
import type { CimdCacheStore, RateLimitStore } from '../auth-types.js';
import { checkTime, parseFrozenJson } from './auth-checks.js';
import { checkCimdEntry, checkRateLimit } from './auth-records.js';
import type { RedisConnection, ScriptCall } from './redis-connection.js';
import { epochSeconds } from './sweep.js';

const RATE_SCRIPTS = {
  /**
   * ARGV: key, windowSeconds, windowStart, now. A later window restarts the count; the same window (or an
   * earlier one, from a caller whose clock lags) adds one. Returns the count.
   */
  hit: `
local rateKey, length, start, now = ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local windowKey = key('rate', length, rateKey)
local stored = redis.call('HGET', windowKey, 'start')
local seconds = ttl(start + tonumber(length), now)
local count = 1
if stored and start <= tonumber(stored) then
  count = redis.call('HINCRBY', windowKey, 'count', 1)
else
  redis.call('HSET', windowKey, 'start', start, 'count', 1)
  redis.call('EXPIRE', windowKey, seconds)
end
local lengths = key('rate-windows', rateKey)
redis.call('SADD', lengths, length)
extendTo(lengths, seconds)
return count
`,
  /** ARGV: key. */
  reset: `
local lengths = key('rate-windows', ARGV[2])
for _, length in ipairs(redis.call('SMEMBERS', lengths)) do redis.call('DEL', key('rate', length, ARGV[2])) end
redis.call('DEL', lengths)
return 1
`,
};

export class RedisRateLimitStore implements RateLimitStore {
  readonly #scripts: Record<keyof typeof RATE_SCRIPTS, ScriptCall>;

  constructor(connection: RedisConnection) {
    this.#scripts = connection.scripts('rateLimits', RATE_SCRIPTS);
  }

  async hit(key: string, windowSeconds: number, now: number): Promise<number> {
    checkRateLimit(key, windowSeconds, now);
    return (await this.#scripts.hit(key, windowSeconds, now - (now % windowSeconds), now)) as number;
  }

  async reset(key: string): Promise<void> {
    if (typeof key !== 'string') return;
    await this.#scripts.reset(key);
  }
}

const CIMD_SCRIPTS = {
  /** ARGV: url, now. The document while `now < expiresAt`, else false. */
  get: `
local entry = redis.call('HMGET', key('cimd', ARGV[2]), 'document', 'expiresAt')
if not entry[1] or tonumber(entry[2]) <= tonumber(ARGV[3]) then return false end
return entry[1]
`,
  /** ARGV: url, document (JSON), expiresAt, now. */
  put: `
local k = key('cimd', ARGV[2])
redis.call('HSET', k, 'document', ARGV[3], 'expiresAt', ARGV[4])
redis.call('EXPIRE', k, ttl(ARGV[4], ARGV[5]))
return 1
`,
};

export class RedisCimdCacheStore implements CimdCacheStore {
  readonly #scripts: Record<keyof typeof CIMD_SCRIPTS, ScriptCall>;

  constructor(private readonly connection: RedisConnection) {
    this.#scripts = connection.scripts('cimd', CIMD_SCRIPTS);
  }

  async get(url: string, now: number): Promise<Readonly<Record<string, unknown>> | undefined> {
    checkTime('metadata document', 'now', now);
    if (typeof url !== 'string') return undefined;
    const json = (await this.#scripts.get(url, now)) as string | null;
    return json === null ? undefined : parseFrozenJson(json);
  }

  async put(url: string, document: Readonly<Record<string, unknown>>, expiresAt: number): Promise<void> {
    const { json } = checkCimdEntry(url, document, expiresAt);
    await this.#scripts.put(url, json, expiresAt, epochSeconds(this.connection.nowMs));
  }
}

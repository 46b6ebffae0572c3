import type { Logger } from '../core/log.js';
import { createIncidentIdGenerator, type IdGenerator } from './lib/ids.js';
import { RedisClientStore, RedisConsentStore, RedisUserStore } from './lib/redis-accounts.js';
import { RedisCodeStore } from './lib/redis-codes.js';
import { connectRedis, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, parseRedisUrl } from './lib/redis-connection.js';
import { RedisGrantStore } from './lib/redis-grants.js';
import { RedisIncidentStore } from './lib/redis-incidents.js';
import { RedisKeyStore } from './lib/redis-keys.js';
import { checkLayout } from './lib/redis-layout.js';
import { RedisCimdCacheStore, RedisRateLimitStore } from './lib/redis-limits.js';
import { RedisSessionStore } from './lib/redis-sessions.js';
import { RedisUpstreamGrantStore } from './lib/redis-upstream.js';
import type { Store } from './types.js';

/** Options of {@link openRedisStore}; the defaults are what production uses. */
export interface RedisStoreOptions {
  /**
   * The store's clock in milliseconds: for incidents created without `createdAt`, the times of users, and
   * wherever an authorization method takes no `now` (including the TTLs of records written by such methods).
   */
  now?: () => number;
  /** Id generator (tests pass one that collides to exercise the retry). */
  newId?: IdGenerator;
  /** Where an outage is reported (once when Redis becomes unreachable, once when it is back). */
  logger?: Logger;
  /** How long connecting may take before it counts as a failure. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** How long a call may wait for Redis's answer before failing with `unavailable` (and reconnecting). Default 2000 ms. */
  commandTimeoutMs?: number;
}

/** A Redis store, with where it is for the log (never the credentials). */
export interface RedisStore extends Store {
  readonly kind: 'redis';
  /** `host:port`. */
  readonly address: string;
  readonly db: number;
  /** Every key starts with it. */
  readonly prefix: string;
}

/**
 * Opens the Redis store at `url` (`redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?prefix=NAME]`, `rediss://`
 * for TLS): connects, PINGs and checks the layout version under the prefix (default `portcullis:`), so a
 * wrong URL fails here with one `StoreError('unavailable')` naming host:port. Any number of processes may
 * share one Redis and one prefix; several deployments (or test runs) share one Redis with different prefixes.
 *
 * Every operation is one Lua script, which Redis runs with nothing else in between: a code is consumed
 * once, a refresh token rotates once, a key is created once, a rate-limit hit counts once, a user or client
 * goes with everything granted on its behalf — across every process. Records that end (codes, grants and
 * their refresh tokens, rate-limit windows, metadata documents, sessions) expire by Redis TTL, and every
 * read also compares their end with the `now` it is given. While Redis is down, calls fail at once with
 * `StoreError('unavailable')` and the store reconnects by itself. Durability is the Redis server's
 * (AOF/RDB settings): see docs/storage-schema.md, "Redis". Needs one Redis (or a primary with replicas),
 * not a Cluster.
 *
 * @example
 * const store = await openRedisStore('redis://:s3cret@127.0.0.1:6379/0?prefix=portcullis:', { logger });
 * const live = await store.sessions.get(hash, Math.floor(Date.now() / 1000));
 * await store.close();
 */
export async function openRedisStore(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
  const location = parseRedisUrl(url);
  const connection = await connectRedis(location, {
    nowMs: options.now ?? Date.now,
    logger: options.logger,
    connectTimeoutMs: positive(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
    commandTimeoutMs: positive(options.commandTimeoutMs, DEFAULT_COMMAND_TIMEOUT_MS),
  });
  try {
    await checkLayout(connection);
  } catch (err) {
    await connection.close();
    throw err;
  }
  return {
    kind: 'redis',
    address: location.address,
    db: location.db,
    prefix: location.prefix,
    incidents: new RedisIncidentStore(connection, options.newId ?? createIncidentIdGenerator()),
    users: new RedisUserStore(connection),
    clients: new RedisClientStore(connection),
    codes: new RedisCodeStore(connection),
    grants: new RedisGrantStore(connection),
    consents: new RedisConsentStore(connection),
    keys: new RedisKeyStore(connection),
    rateLimits: new RedisRateLimitStore(connection),
    cimdCache: new RedisCimdCacheStore(connection),
    upstreamGrants: new RedisUpstreamGrantStore(connection),
    sessions: new RedisSessionStore(connection),
    ping: () => connection.ping(),
    close: () => connection.close(),
  };
}

/** A timeout option: a positive integer of milliseconds, or the default; anything else is a programming error. */
function positive(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`Redis store timeouts are positive integers of milliseconds (got ${value})`);
  return value;
}

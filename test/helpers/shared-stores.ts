/**
 * Fresh, isolated places on this machine's Redis and PostgreSQL for tests that start processes on a
 * shared store: a random key prefix, a random schema; `cleanup` deletes it with everything in it.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REDIS_SERVER = 'redis://127.0.0.1:6379/0';
export const POSTGRES_SERVER = 'postgres://postgres@127.0.0.1:5432/test';

export interface SharedStoreTarget {
  /** A store URL no other test uses. */
  readonly url: string;
  cleanup(): Promise<void>;
}

/** Deletes every key under `prefix` (SCAN + UNLINK, bounded). Test prefixes hold no glob characters. */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  for (let round = 0; round < 10_000; round++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
  throw new Error(`could not empty ${prefix}`);
}

export function redisTarget(): SharedStoreTarget {
  const prefix = `portcullis-test:${randomBytes(6).toString('hex')}:`;
  return {
    url: `${REDIS_SERVER}?prefix=${encodeURIComponent(prefix)}`,
    async cleanup() {
      const admin = new Redis(REDIS_SERVER, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
      try {
        await deleteRedisPrefix(admin, prefix);
      } finally {
        admin.disconnect();
      }
    },
  };
}

export function postgresTarget(): SharedStoreTarget {
  const schema = `portcullis_test_${randomBytes(6).toString('hex')}`;
  return {
    url: `${POSTGRES_SERVER}?schema=${schema}`,
    async cleanup() {
      const admin = new pg.Client({ connectionString: POSTGRES_SERVER });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

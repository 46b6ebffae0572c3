/**
 * How the Redis store lays its records out: the Lua prelude every script starts with, the layout version,
 * and the reading of hash replies. The key layout is written once, here, in Lua: every store operation is
 * one script that builds its keys from the prefix (always `ARGV[1]`) with `key(...)`, so the TypeScript
 * side never spells a key. The families, their types, fields and TTLs are tabled in docs/storage-schema.md
 * ("Redis"), and `test/stores/redis.test.ts` reviews every key a store writes against that list.
 *
 * `key('a', 'b', 'c')` is `<prefix>a:b:c`. Every family name is distinct up to its `:`, and a variable part
 * (an id, hash, URL, username) comes last or after a digits-only part, so two families never share a key
 * whatever the ids contain. An "order" member is the 15-digit insertion number followed by the record's
 * id: among equal scores a sorted set orders members bytewise, so ties come out in insertion order.
 */
import { StoreError } from '../errors.js';
import type { RedisConnection } from './redis-connection.js';

/** Version of the layout described above; a prefix holding a higher one was written by a newer Portcullis. */
const LAYOUT_VERSION = 1;

/**
 * Seconds a record is kept past its end. TTLs are set relative to the caller's clock (the `now` an
 * operation is given, else the store clock), not as absolute times, so that an instance whose clock
 * differs from the Redis server's — or a test's fake clock — never loses a record it still considers
 * live. Reads compare the stored end with `now` themselves; the TTL only bounds what Redis keeps.
 */
const TTL_MARGIN_SECONDS = 60;

/** The start of every script: the prefix, the key builder and the small helpers all scripts share. */
export const PRELUDE = `
local P = ARGV[1]
local MARGIN = ${TTL_MARGIN_SECONDS}
local function key(...)
  return P .. table.concat({...}, ':')
end
-- Seconds to keep a record that ends at endsAt, seen from now (both epoch seconds of the caller's clock).
local function ttl(endsAt, now)
  local seconds = tonumber(endsAt) - tonumber(now) + MARGIN
  if seconds < 1 then return 1 end
  return seconds
end
-- Lengthens (never shortens) the TTL of a key that indexes records with TTLs.
local function extendTo(k, seconds)
  local current = redis.call('TTL', k)
  if current < seconds then redis.call('EXPIRE', k, seconds) end
end
local function nextOrder(id)
  return string.format('%015d', redis.call('INCR', key('seq'))) .. id
end
local function idOf(order)
  return string.sub(order, 16)
end
`;

/** Records the layout version under a new prefix; refuses a prefix written by a newer layout. */
const LAYOUT_SCRIPT = `
local stored = redis.call('GET', key('layout'))
if not stored then
  redis.call('SET', key('layout'), ARGV[2])
  return tonumber(ARGV[2])
end
return tonumber(stored)
`;

/** Fails with `incompatible` when the prefix holds data of a newer layout (the Redis twin of SQLite's migrations check). */
export async function checkLayout(connection: RedisConnection): Promise<void> {
  const { layout } = connection.scripts('layout', { layout: LAYOUT_SCRIPT });
  const stored = (await layout(LAYOUT_VERSION)) as number;
  if (stored > LAYOUT_VERSION) {
    throw new StoreError('incompatible', `The Redis data under this prefix has layout version ${stored}; this Portcullis knows up to ${LAYOUT_VERSION}. Upgrade Portcullis.`);
  }
}

/** A hash as Lua's HGETALL returns it (`[field, value, field, value, …]`), as a Map; an empty reply is a missing key. */
export function hashReply(reply: unknown): Map<string, string> | undefined {
  if (!Array.isArray(reply) || reply.length === 0) return undefined;
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  return fields;
}

/** A field the layout always writes; its absence means something else wrote under our prefix (a bug, not a retry). */
export function field(hash: Map<string, string>, name: string): string {
  const value = hash.get(name);
  if (value === undefined) throw new Error(`Unexpected Redis data: a record lacks its ${name} field`);
  return value;
}

/** A numeric field (epoch seconds, counters). */
export function numberField(hash: Map<string, string>, name: string): number {
  return Number(field(hash, name));
}

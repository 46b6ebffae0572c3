/**
 * Lua shared by the Redis scripts that remove authorization records: dropping a grant with every refresh
 * token of its family and its index entries, sweeping expired grants, and removing everything granted on
 * behalf of a user or a client (grants, refresh tokens, codes, consents, upstream grants). Included in the scripts of
 * `redis-grants.ts` (create, rotate sweep) and `redis-accounts.ts` (user and client removal), so each of
 * those runs as one atomic script.
 *
 * Why a sweep (run by `grants.create` and `grants.rotate` on the schedule of `sweep.ts`): grant hashes and
 * their tokens expire by TTL, but the sorted sets that order and index grants hold plain members, which
 * Redis cannot expire one by one. `grants:expiry` scores each grant by its `expiresAt`, and its member
 * names every index entry of the grant, so the sweep removes them even after the grant's hash has gone.
 */
import { UPSTREAM_REMOVAL_LUA } from './redis-upstream.js';

/** Lua: `dropGrant(id, userId, clientId, order)`, `sweepGrants(now)`, `dropGrantsIn(index)`. Needs the prelude. */
export const GRANT_REMOVAL_LUA = `
local function expiryMember(id, userId, clientId, order)
  return cjson.encode({id, userId, clientId, order})
end
local function dropGrant(id, userId, clientId, order)
  local tokens = key('grant-tokens', id)
  for _, hash in ipairs(redis.call('SMEMBERS', tokens)) do redis.call('DEL', key('refresh', hash)) end
  redis.call('DEL', tokens, key('grant', id))
  redis.call('ZREM', key('grants', 'all'), order)
  redis.call('ZREM', key('grants', 'by-user', userId), order)
  redis.call('ZREM', key('grants', 'by-client', clientId), order)
  redis.call('ZREM', key('grants', 'expiry'), expiryMember(id, userId, clientId, order))
end
-- Expired families go with all their tokens (at most 1000 per sweep, so one script stays short: a backlog
-- drains over later sweeps); revoked ones stay until they expire, so a replay of their tokens is recognised.
local function sweepGrants(now)
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', key('grants', 'expiry'), '-inf', now, 'LIMIT', 0, 1000)) do
    local e = cjson.decode(member)
    dropGrant(e[1], e[2], e[3], e[4])
  end
end
-- Drops every grant an index lists; an entry whose hash is gone (TTL) is left to the sweep.
local function dropGrantsIn(index)
  for _, order in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local id = idOf(order)
    local g = redis.call('HMGET', key('grant', id), 'userId', 'clientId', 'order')
    if g[3] == order then dropGrant(id, g[1], g[2], order) end
  end
end
`;

/**
 * Lua: `dropEverythingOfUser(userId)`, `dropEverythingOfClient(clientId)` (grants, codes, consents and
 * upstream grants). Needs the prelude and {@link GRANT_REMOVAL_LUA}.
 */
export const OWNER_REMOVAL_LUA = `${UPSTREAM_REMOVAL_LUA}
local function dropCodesIn(index)
  for _, hash in ipairs(redis.call('ZRANGE', index, 0, -1)) do redis.call('DEL', key('code', hash)) end
  redis.call('DEL', index)
end
local function dropEverythingOfUser(userId)
  dropGrantsIn(key('grants', 'by-user', userId))
  dropCodesIn(key('codes', 'by-user', userId))
  local consents = key('consents', userId)
  for _, clientId in ipairs(redis.call('HKEYS', consents)) do redis.call('SREM', key('consenting-users', clientId), userId) end
  redis.call('DEL', consents)
  dropUpstreamGrantsOfUser(userId)
end
local function dropEverythingOfClient(clientId)
  dropGrantsIn(key('grants', 'by-client', clientId))
  dropCodesIn(key('codes', 'by-client', clientId))
  local users = key('consenting-users', clientId)
  for _, userId in ipairs(redis.call('SMEMBERS', users)) do redis.call('HDEL', key('consents', userId), clientId) end
  redis.call('DEL', users)
  dropUpstreamGrantsOfClient(clientId)
end
`;

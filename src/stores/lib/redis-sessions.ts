/**
 * MCP sessions in Redis: `session:<hash>` (hash), expiring at the session's `expiresAt`; `touch` moves
 * both the stored end and the TTL. `create` and `touch` decide on the stored end in one script each, so a
 * session that has ended is never brought back, and one that is live is never overwritten.
 */
import { StoreError } from '../errors.js';
import type { McpSessionRecord, McpSessionStore } from '../types.js';
import { checkTime } from './auth-checks.js';
import type { RedisConnection, ScriptCall } from './redis-connection.js';
import { field, hashReply, numberField } from './redis-layout.js';
import { checkSession, checkTouch, toSession } from './session-records.js';

const SCRIPTS = {
  /**
   * ARGV: hash, subject, clientId, version, capabilities, logLevel, createdAt, expiresAt. Returns 0 when a
   * session with this hash is live at createdAt; one that has ended is replaced.
   */
  create: `
local k = key('session', ARGV[2])
local held = redis.call('HGET', k, 'expiresAt')
local createdAt, expiresAt = ARGV[8], ARGV[9]
if held and tonumber(held) > tonumber(createdAt) then return 0 end
redis.call('DEL', k)
redis.call('HSET', k, 'hash', ARGV[2], 'subject', ARGV[3], 'clientId', ARGV[4], 'version', ARGV[5], 'capabilities', ARGV[6],
  'logLevel', ARGV[7], 'createdAt', createdAt, 'expiresAt', expiresAt)
redis.call('EXPIRE', k, ttl(expiresAt, createdAt))
return 1
`,
  /** ARGV: hash, now. The session's hash while live at now, else {}. */
  get: `
local k = key('session', ARGV[2])
local expiresAt = redis.call('HGET', k, 'expiresAt')
if not expiresAt or tonumber(expiresAt) <= tonumber(ARGV[3]) then return {} end
return redis.call('HGETALL', k)
`,
  /** ARGV: hash, now, expiresAt, logLevel or ''. Moves a live session's end; returns its hash, or {} when it is not live. */
  touch: `
local k, now, expiresAt = key('session', ARGV[2]), ARGV[3], ARGV[4]
local held = redis.call('HGET', k, 'expiresAt')
if not held or tonumber(held) <= tonumber(now) then return {} end
redis.call('HSET', k, 'expiresAt', expiresAt)
if ARGV[5] ~= '' then redis.call('HSET', k, 'logLevel', ARGV[5]) end
redis.call('EXPIRE', k, ttl(expiresAt, now))
return redis.call('HGETALL', k)
`,
  remove: `return redis.call('DEL', key('session', ARGV[2]))`,
};

export class RedisSessionStore implements McpSessionStore {
  readonly #scripts: Record<keyof typeof SCRIPTS, ScriptCall>;

  constructor(connection: RedisConnection) {
    this.#scripts = connection.scripts('sessions', SCRIPTS);
  }

  async create(session: McpSessionRecord): Promise<void> {
    const s = checkSession(session);
    const created = await this.#scripts.create(s.hash, s.subject, s.clientId, s.version, s.capabilities, s.logLevel, s.createdAt, s.expiresAt);
    if (created === 0) throw new StoreError('conflict', 'A session with this id exists');
  }

  async get(hash: string, now: number): Promise<McpSessionRecord | undefined> {
    checkTime('session', 'now', now);
    if (typeof hash !== 'string') return undefined;
    return sessionOf(await this.#scripts.get(hash, now));
  }

  async touch(hash: string, changes: { expiresAt: number; logLevel?: number }, now: number): Promise<McpSessionRecord | undefined> {
    const { expiresAt, logLevel } = checkTouch(changes, now);
    if (typeof hash !== 'string') return undefined;
    return sessionOf(await this.#scripts.touch(hash, now, expiresAt, logLevel ?? ''));
  }

  async remove(hash: string): Promise<boolean> {
    if (typeof hash !== 'string') return false;
    return (await this.#scripts.remove(hash)) === 1;
  }
}

function sessionOf(reply: unknown): McpSessionRecord | undefined {
  const hash = hashReply(reply);
  return (
    hash &&
    toSession({
      hash: field(hash, 'hash'),
      subject: field(hash, 'subject'),
      clientId: field(hash, 'clientId'),
      version: field(hash, 'version'),
      capabilities: numberField(hash, 'capabilities'),
      logLevel: numberField(hash, 'logLevel'),
      createdAt: numberField(hash, 'createdAt'),
      expiresAt: numberField(hash, 'expiresAt'),
    })
  );
}

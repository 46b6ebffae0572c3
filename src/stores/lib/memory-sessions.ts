/** MCP sessions in memory (this process only, like everything of the memory store). */
import { StoreError } from '../errors.js';
import type { McpSessionRecord, McpSessionStore } from '../types.js';
import { checkTime } from './auth-checks.js';
import { assertOpen, type MemoryAuthState } from './memory-auth-state.js';
import { checkSession, checkTouch, toSession } from './session-records.js';

export class MemorySessionStore implements McpSessionStore {
  readonly #sessions = new Map<string, McpSessionRecord>();

  constructor(private readonly state: MemoryAuthState) {}

  async create(session: McpSessionRecord): Promise<void> {
    assertOpen(this.state);
    const record = checkSession(session);
    const held = this.#live(record.hash, record.createdAt);
    if (held !== undefined) throw new StoreError('conflict', 'A session with this id exists');
    this.#sweep(record.createdAt);
    this.#sessions.set(record.hash, record);
  }

  async get(hash: string, now: number): Promise<McpSessionRecord | undefined> {
    assertOpen(this.state);
    checkTime('session', 'now', now);
    return this.#live(hash, now);
  }

  async touch(hash: string, changes: { expiresAt: number; logLevel?: number }, now: number): Promise<McpSessionRecord | undefined> {
    assertOpen(this.state);
    const { expiresAt, logLevel } = checkTouch(changes, now);
    const held = this.#live(hash, now);
    if (held === undefined) return undefined;
    const updated = toSession({ ...held, expiresAt, logLevel: logLevel ?? held.logLevel });
    this.#sessions.set(hash, updated);
    return updated;
  }

  async remove(hash: string): Promise<boolean> {
    assertOpen(this.state);
    return typeof hash === 'string' && this.#sessions.delete(hash);
  }

  #live(hash: unknown, now: number): McpSessionRecord | undefined {
    const held = typeof hash === 'string' ? this.#sessions.get(hash) : undefined;
    return held !== undefined && held.expiresAt > now ? held : undefined;
  }

  #sweep(now: number): void {
    if (!this.state.sweeps.due('sessions', now)) return;
    for (const [hash, session] of this.#sessions) if (session.expiresAt <= now) this.#sessions.delete(hash);
  }
}

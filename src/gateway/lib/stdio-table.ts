/**
 * The stdio backend's sessions by id. An id is 144 random bits, base64url (as `src/mcp/session.ts`); it
 * names one session and so one process at a time, and never leaves the gateway (the gateway maps it to an
 * id of its own for the client).
 *
 * At most `maxProcesses` sessions exist: a session holds a slot from its `initialize` until it ends, even
 * while its process is down between a crash and the restart, so the number of processes can never exceed
 * the cap. A session with no exchange for `idleMs`, none under way and no open stream is stopped and
 * forgotten, by a sweep (one timer, unref'd) and when it is looked up.
 */
import { randomBytes } from 'node:crypto';
import { StdioSession, type StdioSessionConfig } from './stdio-session.js';

/** The table's bounds, already validated (`createStdioBackend`). */
export interface StdioTableLimits {
  readonly maxProcesses: number;
  readonly idleMs: number;
}

/**
 * @example
 * const table = new StdioSessionTable(config, { maxProcesses: 100, idleMs: 30 * 60_000 });
 * const created = table.create(); // undefined when full
 * table.find(created.id);         // the session, its last use now
 */
export class StdioSessionTable {
  readonly #sessions = new Map<string, StdioSession>();
  readonly #timer: NodeJS.Timeout;
  #tags = 0;

  constructor(
    private readonly config: StdioSessionConfig,
    private readonly limits: StdioTableLimits,
  ) {
    this.#timer = setInterval(() => this.sweep(), Math.max(10, Math.min(limits.idleMs / 2, 30_000)));
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session holding a slot (its process not started yet); undefined when every slot is taken. */
  create(): { id: string; session: StdioSession } | undefined {
    if (this.#sessions.size >= this.limits.maxProcesses) this.sweep();
    if (this.#sessions.size >= this.limits.maxProcesses) return undefined;
    const id = randomBytes(18).toString('base64url');
    const session = new StdioSession(this.config, ++this.#tags);
    this.#sessions.set(id, session);
    return { id, session };
  }

  /** The live session with this id, marked as used now; undefined for an unknown or idle one. */
  find(id: string): StdioSession | undefined {
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.config.now();
    if (this.#idle(session, now)) {
      this.#expire(id, session);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  /** Forgets a session (its slot is free at once); the caller stops it. */
  remove(id: string): StdioSession | undefined {
    const session = this.#sessions.get(id);
    this.#sessions.delete(id);
    return session;
  }

  /** Stops and forgets every idle session. */
  sweep(): void {
    const now = this.config.now();
    for (const [id, session] of [...this.#sessions]) if (this.#idle(session, now)) this.#expire(id, session);
  }

  /** Stops the sweep and every session; resolves once every process is gone. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((session) => session.stop()));
  }

  #idle(session: StdioSession, now: number): boolean {
    return now - session.lastSeen > this.limits.idleMs && !session.busy;
  }

  #expire(id: string, session: StdioSession): void {
    this.#sessions.delete(id);
    this.config.logger.info({ stdioSession: session.tag, pid: session.pid }, 'stdio backend: idle session stopped');
    session.stop().catch((error: unknown) => this.config.logger.warn({ reason: (error as Error).message }, 'stdio backend: could not stop an idle session'));
  }
}

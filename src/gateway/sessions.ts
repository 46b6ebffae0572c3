/**
 * The gateway's sessions: one per backend session, 1:1. The client's `initialize` opens a session on the
 * backend; the gateway hands the client an id of its own (144 random bits, base64url, as `src/mcp/session.ts`)
 * and maps it to the backend's. So the backend's ids never leave the gateway (a client cannot guess or
 * replay one it saw elsewhere), and the request ids of each side stay valid on the other: server-to-client
 * requests and their responses pass through unchanged.
 *
 * A session is bound to the subject and client of the token that initialized it: presented by anyone else,
 * it does not exist (404, the same answer as an unknown or expired id). Idle sessions expire after `idleMs`
 * (one sweep timer; a session with an open GET stream is never idle), and the gateway then ends the
 * backend's session too (`onExpire`). Sessions live in this process: after a restart clients get 404 and
 * initialize again, as the spec has them do.
 */
import { randomBytes } from 'node:crypto';
import type { AuthInfo } from '../core/auth.js';
import type { RequestId } from '../mcp/jsonrpc.js';

/** At most this many `tools/list` requests are remembered per session while their answers are due. */
const TOOLS_LIST_PENDING = 64;

/** One client session and the backend session it maps to. */
export class GatewaySession {
  /** When the client initialized it (ms). */
  readonly createdAt: number;
  lastSeen: number;
  /** Open streams relayed for this session (a session streaming is not idle). */
  streams = 0;
  /**
   * Ids of `tools/list` requests whose results are still to come: wherever the result arrives (the POST's
   * stream, or a GET that resumes it), the gateway adds the scopes of each tool.
   */
  readonly toolsList = new Set<RequestId>();

  constructor(
    readonly id: string,
    readonly backendId: string,
    readonly subject: string,
    readonly clientId: string,
    now: number,
  ) {
    this.createdAt = now;
    this.lastSeen = now;
  }

  /** Remembers a `tools/list` request (the oldest is forgotten past the bound). */
  expectToolsList(id: RequestId): void {
    if (this.toolsList.size >= TOOLS_LIST_PENDING) this.toolsList.delete(this.toolsList.values().next().value!);
    this.toolsList.add(id);
  }
}

/** Checked when the map is built: a bad value fails at start-up. */
export interface GatewaySessionsOptions {
  idleMs: number;
  maxSessions: number;
  now: () => number;
  /** Called for a session that expired (not for one the client or the backend ended). */
  onExpire?: (session: GatewaySession) => void;
}

/**
 * The gateway's session map: gateway id → backend session, bound to the caller.
 *
 * @example
 * const sessions = new GatewaySessions({ idleMs: 30 * 60_000, maxSessions: 10_000, now: Date.now });
 * const session = sessions.create(auth, backendSessionId); // undefined when full
 * sessions.find(session.id, otherAuth); // undefined: someone else's
 */
export class GatewaySessions {
  readonly #sessions = new Map<string, GatewaySession>();
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly options: GatewaySessionsOptions) {
    for (const name of ['idleMs', 'maxSessions'] as const) {
      if (!Number.isFinite(options[name]) || options[name] <= 0) throw new TypeError(`GatewaySessions: ${name} must be a positive number`);
    }
    this.#timer = setInterval(() => this.sweep(), Math.max(1_000, Math.min(options.idleMs / 2, 30_000)));
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Whether another session fits (after sweeping the idle ones). */
  hasRoom(): boolean {
    if (this.#sessions.size < this.options.maxSessions) return true;
    this.sweep();
    return this.#sessions.size < this.options.maxSessions;
  }

  /** A new session for this caller, mapped to the backend's session id. */
  create(auth: AuthInfo, backendId: string): GatewaySession {
    const session = new GatewaySession(randomBytes(18).toString('base64url'), backendId, auth.subject, auth.clientId, this.options.now());
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The caller's live session with this id; undefined for unknown, expired or someone else's. */
  find(id: string, auth: AuthInfo): GatewaySession | undefined {
    const session = this.#sessions.get(id);
    if (session === undefined || session.subject !== auth.subject || session.clientId !== auth.clientId) return undefined;
    const now = this.options.now();
    if (now - session.lastSeen > this.options.idleMs && session.streams === 0) {
      this.#expire(session);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  /** Every live session (the idle ones swept first), for the web console's administrators. */
  list(): GatewaySession[] {
    this.sweep();
    return [...this.#sessions.values()];
  }

  /** Forgets a session the client deleted or the backend no longer knows. */
  forget(session: GatewaySession): void {
    if (this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
  }

  sweep(): void {
    const cutoff = this.options.now() - this.options.idleMs;
    for (const session of [...this.#sessions.values()]) if (session.lastSeen < cutoff && session.streams === 0) this.#expire(session);
  }

  /** Stops the sweep; forgets every session (the backend's are left to expire there). */
  close(): void {
    clearInterval(this.#timer);
    this.#sessions.clear();
  }

  #expire(session: GatewaySession): void {
    this.forget(session);
    this.options.onExpire?.(session);
  }
}

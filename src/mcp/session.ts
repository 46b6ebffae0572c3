/**
 * MCP sessions (spec 2025-11-25, transports §"Session Management").
 *
 * A session id is 144 random bits, base64url. A session is bound to the subject and client of the token
 * that initialized it: presented by anyone else it does not exist (404, the same answer as an unknown,
 * expired or deleted id, so a stolen id reveals nothing and is useless without the owner's token).
 *
 * Idle sessions expire after `idleMs`: one interval timer sweeps them all (no timer per session; the same
 * sweep writes an SSE comment on open streams, at most every 30 s), and a lookup treats an expired
 * session as gone even before the sweep. A session object is small (a few
 * numbers and strings; maps and sets only once used), so 10,000 idle sessions cost a few MB.
 */
import { randomBytes } from 'node:crypto';
import type { AuthInfo } from '../core/auth.js';
import type { RequestId } from './jsonrpc.js';
import type { Stream } from './sse.js';
import type { ProtocolVersion } from './types.js';

/** Client capabilities the server acts on, as bit flags. */
export const Capability = { Sampling: 1, Elicitation: 2, Roots: 4 } as const;

/** Something running for a request that a `notifications/cancelled` (or the session's end) stops. */
export interface Cancellable {
  cancel(reason: string): void;
}

/** A server-to-client request waiting for the client's response. */
export interface Outbound {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

export class Session {
  lastSeen: number;
  /** {@link Capability} flags the client declared. */
  capabilities = 0;
  /** Index into LOGGING_LEVELS of the lowest level the client wants (`logging/setLevel`); 0 = all. */
  logLevel = 0;
  subscriptions: Set<string> | undefined;
  inflight: Map<RequestId, Cancellable> | undefined;
  outbound: Map<number, Outbound> | undefined;
  /** Resumable SSE streams by number; 0 is the standalone GET stream. */
  streams: Map<number, Stream> | undefined;
  nextStream = 1;
  nextOutbound = 1;

  constructor(
    readonly id: string,
    readonly subject: string,
    readonly clientId: string,
    readonly version: ProtocolVersion,
    now: number,
  ) {
    this.lastSeen = now;
  }

  /** Whether something is still going on (then the session is not idle, whatever its last request). */
  get busy(): boolean {
    return (this.inflight !== undefined && this.inflight.size > 0) || this.streams?.get(0)?.connected === true;
  }

  /** Stops everything the session has running: requests are cancelled, streams ended. */
  end(): void {
    if (this.inflight !== undefined) for (const running of [...this.inflight.values()]) running.cancel('session ended');
    if (this.outbound !== undefined) for (const waiting of [...this.outbound.values()]) waiting.reject(new Error('The session ended'));
    if (this.streams !== undefined) for (const stream of this.streams.values()) stream.close();
    this.inflight = undefined;
    this.outbound = undefined;
    this.streams = undefined;
    this.subscriptions = undefined;
  }
}

export interface SessionStoreOptions {
  idleMs: number;
  maxSessions: number;
  now: () => number;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  /** Sessions with at least one resource subscription (so `resourceUpdated` need not scan them all). */
  private readonly subscribed = new Set<Session>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: SessionStoreOptions) {
    const every = Math.max(1_000, Math.min(options.idleMs / 2, 30_000));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** A new session for this caller, or undefined when the store is full (after sweeping the expired). */
  create(auth: AuthInfo, version: ProtocolVersion, capabilities: number): Session | undefined {
    if (this.sessions.size >= this.options.maxSessions) {
      this.sweep();
      if (this.sessions.size >= this.options.maxSessions) return undefined;
    }
    const session = new Session(randomBytes(18).toString('base64url'), auth.subject, auth.clientId, version, this.options.now());
    session.capabilities = capabilities;
    this.sessions.set(session.id, session);
    return session;
  }

  /** The caller's live session with this id; undefined for unknown, expired, ended or someone else's. */
  find(id: string, auth: AuthInfo): Session | undefined {
    const session = this.sessions.get(id);
    if (session === undefined || session.subject !== auth.subject || session.clientId !== auth.clientId) return undefined;
    const now = this.options.now();
    if (now - session.lastSeen > this.options.idleMs && !session.busy) {
      this.end(session);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  /** Ends a session: it is forgotten and everything it runs is stopped. */
  end(session: Session): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    this.subscribed.delete(session);
    session.end();
  }

  subscribe(session: Session, uri: string): void {
    (session.subscriptions ??= new Set()).add(uri);
    this.subscribed.add(session);
  }

  unsubscribe(session: Session, uri: string): void {
    session.subscriptions?.delete(uri);
    if (session.subscriptions?.size === 0) {
      session.subscriptions = undefined;
      this.subscribed.delete(session);
    }
  }

  /** Sessions subscribed to `uri`. */
  *subscribers(uri: string): Iterable<Session> {
    for (const session of this.subscribed) if (session.subscriptions?.has(uri) === true) yield session;
  }

  /** Ends every session idle for longer than `idleMs`; pings the open streams of the others. */
  sweep(): void {
    const cutoff = this.options.now() - this.options.idleMs;
    for (const session of this.sessions.values()) {
      if (session.lastSeen < cutoff && !session.busy) this.end(session);
      else if (session.streams !== undefined) for (const stream of session.streams.values()) stream.ping();
    }
  }

  /** Ends every session and stops the sweep. */
  close(): void {
    clearInterval(this.timer);
    for (const session of [...this.sessions.values()]) this.end(session);
  }
}

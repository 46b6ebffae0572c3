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
 *
 * With a shared store, sessions outlive this process and move between instances: see {@link SessionStore}.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AuthInfo } from '../core/auth.js';
import type { RequestId } from './jsonrpc.js';
import type { Stream } from './sse.js';
import { HttpError } from '../core/errors.js';
import type { McpSessionStore } from '../stores/types.js';
import { PROTOCOL_VERSIONS, type ProtocolVersion } from './types.js';

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
  /**
   * Where a transport without streams (stdio) takes the server's messages outside any request
   * (`notifications/resources/updated`); absent, they go to the standalone GET stream.
   */
  push: ((frame: string) => void) | undefined;
  /** When the shared store last confirmed the session (ms; see {@link SessionStore}). */
  checkedAt: number;
  #hash: string | undefined;

  constructor(
    readonly id: string,
    readonly subject: string,
    readonly clientId: string,
    readonly version: ProtocolVersion,
    now: number,
  ) {
    this.lastSeen = now;
    this.checkedAt = now;
  }

  /** SHA-256 of the id: what a shared store knows the session by. */
  get hash(): string {
    return (this.#hash ??= hashOf(this.id));
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
  /** Sessions shared with the other instances on the same store; absent: this process's own only. */
  shared?: McpSessionStore;
  /** How long a shared session is served from this process's copy before the store is asked again. */
  recheckMs?: number;
}

/** Default {@link SessionStoreOptions.recheckMs}: a DELETE on one instance is honoured by all within this. */
export const SESSION_RECHECK_MS = 5_000;

/**
 * The sessions this process serves. Alone, it is the only record of them. With a shared store
 * (`options.shared`), the store is the record and this is a cache of it: a session created here is stored
 * first; a session id this process has not seen is looked up there (and adopted when it is the caller's);
 * a cached session is checked against the store again once it is `recheckMs` old, which also moves its
 * idle deadline there, and picks up a `logging/setLevel` made elsewhere; a DELETE removes it from the
 * store. Streams, in-flight requests, subscriptions and server-to-client requests stay with the process
 * that holds the connection (see docs/deployment.md).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  /** Sessions with at least one resource subscription (so `resourceUpdated` need not scan them all). */
  private readonly subscribed = new Set<Session>();
  /** Lookups in the shared store under way, by session id: concurrent requests share one. */
  private readonly pending = new Map<string, Promise<Session | undefined>>();
  private readonly timer: NodeJS.Timeout;
  private readonly shared: McpSessionStore | undefined;
  private readonly recheckMs: number;

  constructor(private readonly options: SessionStoreOptions) {
    this.shared = options.shared;
    this.recheckMs = Math.min(options.recheckMs ?? SESSION_RECHECK_MS, options.idleMs);
    const every = Math.max(1_000, Math.min(options.idleMs / 2, 30_000));
    this.timer = setInterval(() => this.sweep(), every);
    this.timer.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * A new session for this caller (stored in the shared store first, when there is one), or undefined when
   * this process holds `maxSessions` already (after sweeping the idle).
   */
  async create(auth: AuthInfo, version: ProtocolVersion, capabilities: number): Promise<Session | undefined> {
    if (!this.hasRoom()) return undefined;
    const now = this.options.now();
    const session = new Session(randomBytes(18).toString('base64url'), auth.subject, auth.clientId, version, now);
    session.capabilities = capabilities;
    if (this.shared !== undefined) {
      const created = seconds(now);
      await this.shared.create({
        hash: session.hash,
        subject: session.subject,
        clientId: session.clientId,
        version,
        capabilities,
        logLevel: 0,
        createdAt: created,
        expiresAt: Math.max(created + 1, seconds(now + this.options.idleMs)),
      });
    }
    this.sessions.set(session.id, session);
    return session;
  }

  /**
   * The caller's live session with this id; undefined for unknown, expired, ended or someone else's. A
   * promise only when the shared store must be asked (a session new to this process, or one due for its
   * check); rejects with the store's error when it cannot answer.
   */
  find(id: string, auth: AuthInfo): Session | undefined | Promise<Session | undefined> {
    const session = this.sessions.get(id);
    if (session === undefined) return this.shared === undefined ? undefined : this.adopt(id, auth);
    if (session.subject !== auth.subject || session.clientId !== auth.clientId) return undefined;
    const now = this.options.now();
    if (this.shared !== undefined) {
      if (now - session.checkedAt >= this.recheckMs) return this.recheck(session, now);
    } else if (now - session.lastSeen > this.options.idleMs && !session.busy) {
      this.forget(session);
      return undefined;
    }
    session.lastSeen = now;
    return session;
  }

  /** Ends a session for good (DELETE): forgotten here, removed from the shared store, everything it runs stopped. */
  async terminate(session: Session): Promise<void> {
    this.forget(session);
    await this.shared?.remove(session.hash);
  }

  /**
   * Sets the session's logging level, in the shared store too (so every instance filters the same) when
   * the session is one of this store's (a stdio session is not: it lives as long as its connection).
   */
  setLogLevel(session: Session, level: number): void | Promise<void> {
    session.logLevel = level;
    if (this.shared === undefined || this.sessions.get(session.id) !== session) return;
    const now = this.options.now();
    return this.shared.touch(session.hash, { expiresAt: seconds(now + this.options.idleMs), logLevel: level }, seconds(now)).then((record) => {
      if (record === undefined) this.forget(session);
      else session.checkedAt = now;
    });
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

  /**
   * Forgets every session idle here for longer than `idleMs` (with a shared store, only this process's
   * copy: the store expires the session itself); pings the open streams of the others, and re-checks the
   * ones kept busy by a stream against the shared store.
   */
  sweep(): void {
    const now = this.options.now();
    const cutoff = now - this.options.idleMs;
    for (const session of [...this.sessions.values()]) {
      if (session.lastSeen < cutoff && !session.busy) {
        this.forget(session);
        continue;
      }
      if (session.streams !== undefined) for (const stream of session.streams.values()) stream.ping();
      // A session kept busy by a stream, without requests, would expire in the shared store (only requests
      // move its deadline there) or miss a DELETE made elsewhere: check it here. A store that cannot answer
      // now is asked again at the next sweep.
      if (this.shared !== undefined && session.busy && now - session.checkedAt >= this.recheckMs) {
        this.recheck(session, now).catch(() => {});
      }
    }
  }

  /** Forgets every session here (the shared store keeps them) and stops the sweep. */
  close(): void {
    clearInterval(this.timer);
    for (const session of [...this.sessions.values()]) this.forget(session);
  }

  /** Drops this process's copy and stops what it runs here (also ends a session this store only knows by its subscriptions). */
  forget(session: Session): void {
    if (this.sessions.get(session.id) === session) this.sessions.delete(session.id);
    this.subscribed.delete(session);
    session.end();
  }

  private hasRoom(): boolean {
    if (this.sessions.size < this.options.maxSessions) return true;
    this.sweep();
    return this.sessions.size < this.options.maxSessions;
  }

  /** A session created by another instance (or before a restart), when the store has it and it is the caller's. */
  private adopt(id: string, auth: AuthInfo): Promise<Session | undefined> {
    let lookup = this.pending.get(id);
    if (lookup === undefined) {
      lookup = this.lookUp(id).finally(() => this.pending.delete(id));
      this.pending.set(id, lookup);
    }
    return lookup.then((session) => (session !== undefined && session.subject === auth.subject && session.clientId === auth.clientId ? session : undefined));
  }

  private async lookUp(id: string): Promise<Session | undefined> {
    const now = this.options.now();
    const record = await this.shared!.get(hashOf(id), seconds(now));
    if (record === undefined || !isProtocolVersion(record.version)) return undefined;
    const held = this.sessions.get(id);
    if (held !== undefined) return held;
    if (!this.hasRoom()) throw new HttpError(503, 'too_many_sessions', 'Service Unavailable: too many sessions, try again later', { 'retry-after': '60' });
    const session = new Session(id, record.subject, record.clientId, record.version, now);
    session.capabilities = record.capabilities;
    session.logLevel = record.logLevel;
    this.sessions.set(id, session);
    return session;
  }

  /** Asks the store whether a cached session still exists, moving its idle deadline there. */
  private recheck(session: Session, now: number): Promise<Session | undefined> {
    let check = this.pending.get(session.id);
    if (check === undefined) {
      check = this.shared!.touch(session.hash, { expiresAt: seconds(now + this.options.idleMs), logLevel: undefined }, seconds(now))
        .then((record) => {
          if (record === undefined) {
            this.forget(session);
            return undefined;
          }
          session.logLevel = record.logLevel;
          session.checkedAt = now;
          session.lastSeen = now;
          return session;
        })
        .finally(() => this.pending.delete(session.id));
      this.pending.set(session.id, check);
    }
    return check;
  }
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function isProtocolVersion(version: string): version is ProtocolVersion {
  return (PROTOCOL_VERSIONS as readonly string[]).includes(version);
}

/** How the store knows a session: by SHA-256, never the id itself. */
export function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

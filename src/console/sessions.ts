/**
 * The console's sessions, kept server-side in this process: the browser holds only a random 256-bit id in
 * the session cookie (`lib/cookies.ts`), and the map is keyed by the id's SHA-256, so the tokens of a
 * session (what the console calls the gateway with) never leave the server. A session ends at logout, at
 * its absolute expiry, after `idleSeconds` without a request, when its grant is revoked or its user
 * removed (checked at every request, `current.ts`), or when the map is full and it is the oldest. After a
 * restart every console user logs in again (the gateway's MCP sessions live in the process too).
 */
import type { IncomingMessage } from 'node:http';
import { hashToken, randomToken } from '../authorization-server/secrets.js';
import { cookieValues } from '../core/http.js';
import { cookieName, setCookie } from './lib/cookies.js';

/** One signed-in browser. Times are epoch seconds. */
export interface ConsoleSession {
  /** SHA-256 of the cookie's value: the map's key. */
  readonly key: string;
  /** The CSRF token every form of this session carries (compared in constant time). */
  readonly csrf: string;
  /** The user's id (the tokens' `sub`). */
  readonly userId: string;
  /** The refresh-token family the login created: revoking it ends this session. */
  readonly grantId: string | undefined;
  readonly createdAt: number;
  /** Absolute end: never extended. */
  readonly expiresAt: number;
  lastSeen: number;
  /** The scopes of the current access token. */
  scopes: readonly string[];
  accessToken: string;
  accessExpiresAt: number;
  refreshToken: string | undefined;
  /** The console's own MCP session with the gateway, once initialized. */
  mcp: { readonly id: string | undefined; readonly protocolVersion: string } | undefined;
  /** A refresh under way, so that concurrent requests of one session refresh once. */
  refreshing: Promise<void> | undefined;
}

/** What a new session starts with (from the login's token response). */
export type NewConsoleSession = Pick<ConsoleSession, 'userId' | 'grantId' | 'scopes' | 'accessToken' | 'accessExpiresAt' | 'refreshToken'> & {
  /** The latest the session may last (the grant's own expiry); `ttlSeconds` caps it. */
  readonly notAfter: number;
};

/** Checked when the map is built. */
export interface ConsoleSessionsOptions {
  /** Absolute lifetime of a session, seconds. */
  readonly ttlSeconds: number;
  /** A session unused this long ends, seconds. */
  readonly idleSeconds: number;
  /** Most sessions at once; a new one beyond ends the oldest. */
  readonly maxSessions: number;
  /** Cookies get `Secure` and the `__Host-` prefix (an https public URL). */
  readonly secureCookies: boolean;
  /** The clock, epoch seconds. */
  readonly now: () => number;
}

/**
 * @example
 * const sessions = new ConsoleSessions({ ttlSeconds: 8 * 3600, idleSeconds: 3600, maxSessions: 10_000, secureCookies: true, now });
 * const { session, cookie } = sessions.create({ userId, grantId, scopes, accessToken, accessExpiresAt, refreshToken, notAfter });
 * sessions.find(req); // the same session, from the cookie
 */
export class ConsoleSessions {
  readonly #sessions = new Map<string, ConsoleSession>();
  readonly #options: ConsoleSessionsOptions;

  constructor(options: ConsoleSessionsOptions) {
    for (const name of ['ttlSeconds', 'idleSeconds', 'maxSessions'] as const) {
      if (!Number.isInteger(options[name]) || options[name] <= 0) throw new TypeError(`ConsoleSessions: ${name} must be a positive whole number`);
    }
    this.#options = options;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** A new session, and the `Set-Cookie` value that hands its id to the browser. */
  create(fields: NewConsoleSession): { session: ConsoleSession; cookie: string } {
    const now = this.#options.now();
    this.#sweep(now);
    while (this.#sessions.size >= this.#options.maxSessions) this.#sessions.delete(this.#sessions.keys().next().value!);
    const id = randomToken();
    const { notAfter, ...rest } = fields;
    const session: ConsoleSession = {
      ...rest,
      key: hashToken(id),
      csrf: randomToken(),
      createdAt: now,
      expiresAt: Math.min(now + this.#options.ttlSeconds, notAfter),
      lastSeen: now,
      mcp: undefined,
      refreshing: undefined,
    };
    this.#sessions.set(session.key, session);
    return { session, cookie: setCookie('session', this.#options.secureCookies, id, session.expiresAt - now) };
  }

  /** The live session the request's cookie names (its use renews the idle timer); undefined otherwise. */
  find(req: IncomingMessage): ConsoleSession | undefined {
    const now = this.#options.now();
    for (const value of cookieValues(req.headers.cookie, cookieName('session', this.#options.secureCookies))) {
      const session = this.#sessions.get(hashToken(value));
      if (session === undefined) continue;
      if (this.#expired(session, now)) {
        this.end(session);
        continue;
      }
      session.lastSeen = now;
      return session;
    }
    return undefined;
  }

  /** Whether a cookie of ours came with the request (to clear a stale one). */
  presented(req: IncomingMessage): boolean {
    return cookieValues(req.headers.cookie, cookieName('session', this.#options.secureCookies)).length > 0;
  }

  /** Ends a session (logout, revocation). */
  end(session: ConsoleSession): void {
    if (this.#sessions.get(session.key) === session) this.#sessions.delete(session.key);
  }

  /** Forgets every session (the server stops). */
  clear(): void {
    this.#sessions.clear();
  }

  #expired(session: ConsoleSession, now: number): boolean {
    return now >= session.expiresAt || now - session.lastSeen >= this.#options.idleSeconds;
  }

  #sweep(now: number): void {
    for (const session of [...this.#sessions.values()]) if (this.#expired(session, now)) this.#sessions.delete(session.key);
  }
}

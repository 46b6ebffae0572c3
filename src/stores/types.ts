import type { AuthorizationStores } from './auth-types.js';

/**
 * The storage contract: one small interface per record kind, gathered in a {@link Store}. Every method is
 * async so that network stores (Redis, PostgreSQL) fit the same shape as the embedded ones. Every store
 * passes the shared contract suite in `test/stores/contract.ts`; the schema is documented in
 * `docs/storage-schema.md`.
 */

/** How bad an incident is, worst first. */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Where an incident is in its life. New incidents start `open`. */
export const INCIDENT_STATUSES = ['open', 'investigating', 'resolved', 'closed'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Length limits (in UTF-16 code units, after trimming) every store enforces; the tools enforce the same. */
export const INCIDENT_LIMITS = { title: 200, description: 5000, service: 100, reportedBy: 256 } as const;

/**
 * One stored incident. Records handed out by a store are frozen snapshots: changing one changes nothing
 * stored.
 */
export interface Incident {
  /** `INC-` + 13 Crockford base32 characters: 7 of creation time in seconds, 6 random (see `lib/ids.ts`). */
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly status: IncidentStatus;
  /** The affected service, free text (`checkout-api`). */
  readonly service: string;
  /** The token subject of whoever reported it. */
  readonly reportedBy: string;
  /** ISO 8601 time with milliseconds, UTC. */
  readonly createdAt: string;
  /** ISO 8601 time with milliseconds, UTC; equals `createdAt` until something updates the incident. */
  readonly updatedAt: string;
}

/** What a caller supplies to create an incident; the store assigns the id. */
export interface NewIncident {
  readonly title: string;
  readonly description: string;
  readonly severity: Severity;
  readonly service: string;
  readonly reportedBy: string;
  /** Defaults to `open`. */
  readonly status?: IncidentStatus;
  /** Defaults to the store's clock. Seeds pass earlier times so sample data looks lived in. */
  readonly createdAt?: Date;
}

/** Filters for {@link IncidentStore.list} and {@link IncidentStore.count}; absent fields match everything. */
export interface IncidentFilter {
  readonly severity?: Severity;
  readonly status?: IncidentStatus;
  /** Exact service name. */
  readonly service?: string;
  /** Only ids that start with this exact prefix (for completion). */
  readonly idPrefix?: string;
}

/** {@link IncidentFilter} plus a page size. */
export interface IncidentQuery extends IncidentFilter {
  /** At most this many, a positive integer; absent = all. */
  readonly limit?: number;
}

/**
 * Incidents. Invalid input rejects with a `StoreError` of code `invalid_record` and stores nothing.
 *
 * @example
 * const incident = await store.incidents.create({ title: 'Checkout 500s', description: 'Since 09:12 UTC',
 *   severity: 'high', service: 'checkout-api', reportedBy: auth.subject });
 * const open = await store.incidents.list({ status: 'open', limit: 20 }); // newest first
 */
export interface IncidentStore {
  /** Validates, assigns a unique id and stores one incident. */
  create(input: NewIncident): Promise<Incident>;
  /** One incident by exact id, or undefined. */
  get(id: string): Promise<Incident | undefined>;
  /** Matching incidents, newest `createdAt` first (ties: the later insert first). */
  list(query?: IncidentQuery): Promise<Incident[]>;
  /** How many incidents match (ignores any limit). */
  count(filter?: IncidentFilter): Promise<number>;
  /**
   * Atomically: when the store holds no incident at all, creates every one of `inputs` and returns them;
   * otherwise creates nothing and returns []. Two processes calling it at once seed once.
   */
  createIfEmpty(inputs: readonly NewIncident[]): Promise<Incident[]>;
}

/**
 * An MCP session as the store keeps it, so that any instance sharing the store can serve the session's
 * next request. The session id itself is never stored: only its SHA-256 (base64url), like every token.
 */
export interface McpSessionRecord {
  /** SHA-256 (base64url) of the `Mcp-Session-Id`. */
  readonly hash: string;
  /** Subject and client of the token that initialized the session: nobody else may use it. */
  readonly subject: string;
  readonly clientId: string;
  /** The negotiated protocol version. */
  readonly version: string;
  /** Bit flags of the client capabilities the server acts on (see `mcp/session.ts`), 0..255. */
  readonly capabilities: number;
  /** Index of the lowest logging level the client asked for (`logging/setLevel`), 0..7. */
  readonly logLevel: number;
  /** Epoch seconds. */
  readonly createdAt: number;
  /** Epoch seconds: the session is gone from this time on unless touched before. */
  readonly expiresAt: number;
}

/**
 * MCP sessions shared by every instance on the store. Expired sessions are never answered; the store
 * removes them on its own (TTL in Redis, swept in SQL).
 *
 * @example
 * await store.sessions.create({ hash, subject, clientId, version: '2025-11-25', capabilities: 0, logLevel: 0,
 *   createdAt: now, expiresAt: now + 3600 });
 * const live = await store.sessions.touch(hash, { expiresAt: now + 3600 }, now); // undefined once it ended
 */
export interface McpSessionStore {
  /** Stores a new session; a hash already stored rejects with `StoreError('conflict')`. */
  create(session: McpSessionRecord): Promise<void>;
  /** The session, when it exists and has not expired at `now`. */
  get(hash: string, now: number): Promise<McpSessionRecord | undefined>;
  /**
   * Moves a live session's `expiresAt` (and its `logLevel` when given) and returns the record as now
   * stored; a session unknown, removed or expired at `now` stays gone (undefined, nothing is created).
   */
  touch(hash: string, changes: { expiresAt: number; logLevel?: number }, now: number): Promise<McpSessionRecord | undefined>;
  /** Ends the session everywhere; true when it existed. */
  remove(hash: string): Promise<boolean>;
}

export type StoreKind = 'memory' | 'sqlite' | 'redis' | 'postgres';

/**
 * Everything Portcullis keeps, one interface per record kind: the incidents, and the embedded authorization
 * server's records (`users`, `clients`, `codes`, `grants`, `consents`, `keys`, `rateLimits`, `cimdCache`,
 * `upstreamGrants`, see `auth-types.ts`) and the MCP `sessions`. Open one with `openStore(url)`.
 *
 * @example
 * const store = await openStore('sqlite:./data/portcullis.db', { logger });
 * try { console.log(await store.incidents.count(), await store.users.count()); } finally { await store.close(); }
 */
export interface Store extends AuthorizationStores {
  readonly kind: StoreKind;
  readonly incidents: IncidentStore;
  readonly sessions: McpSessionStore;
  /**
   * Resolves when the store can serve now, at the cost of one round trip (Redis `PING`, PostgreSQL and
   * SQLite `SELECT 1`): what `serve`'s `/ready` asks. Rejects with `StoreError` code `unavailable` when the
   * backing database cannot answer, `closed` after `close()`.
   */
  ping(): Promise<void>;
  /** Releases the connection; later calls reject with `StoreError` code `closed`. Closing twice is harmless. */
  close(): Promise<void>;
}

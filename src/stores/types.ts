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

/** The store kinds that exist today (`redis` and `postgres` come later). */
export type StoreKind = 'memory' | 'sqlite';

/**
 * Everything Portcullis keeps, one interface per record kind: the incidents, and the embedded authorization
 * server's records (`users`, `clients`, `codes`, `grants`, `consents`, `keys`, `rateLimits`, `cimdCache`,
 * see `auth-types.ts`). Open one with `openStore(url)`.
 *
 * @example
 * const store = await openStore('sqlite:./data/portcullis.db', { logger });
 * try { console.log(await store.incidents.count(), await store.users.count()); } finally { await store.close(); }
 */
export interface Store extends AuthorizationStores {
  readonly kind: StoreKind;
  readonly incidents: IncidentStore;
  /** Releases the connection; later calls reject with `StoreError` code `closed`. Closing twice is harmless. */
  close(): Promise<void>;
}

import { StoreError } from './errors.js';
import { createIncidentIdGenerator, ID_ATTEMPTS, type IdGenerator } from './lib/ids.js';
import { checkNewIncident, checkQuery, toIncident } from './lib/incidents.js';
import { MemoryClientStore, MemoryConsentStore, MemoryUserStore } from './lib/memory-accounts.js';
import { createMemoryAuthState } from './lib/memory-auth-state.js';
import { MemoryCodeStore, MemoryGrantStore } from './lib/memory-grants.js';
import { MemoryKeyStore } from './lib/memory-keys.js';
import { MemoryCimdCacheStore, MemoryRateLimitStore } from './lib/memory-limits.js';
import { MemorySessionStore } from './lib/memory-sessions.js';
import { MemoryUpstreamGrantStore } from './lib/memory-upstream.js';
import type { Incident, IncidentFilter, IncidentQuery, IncidentStore, NewIncident, Store } from './types.js';

/** Options of {@link createMemoryStore}; the defaults are what production uses. */
export interface MemoryStoreOptions {
  /**
   * The store's clock in milliseconds: for incidents created without `createdAt`, the times of users, and
   * wherever an authorization method takes no `now`.
   */
  now?: () => number;
  /** Id generator (tests pass one that collides to exercise the retry). */
  newId?: IdGenerator;
}

/**
 * A store that lives in this process's memory and FORGETS EVERYTHING when the process ends. For tests and
 * demos only; `openStore('memory:')` logs a warning saying so. Every operation runs synchronously inside
 * its promise, so each one is atomic with respect to the others (a code is consumed once, a refresh token
 * rotates once, a key is created once) — within this one process, which is all a memory store serves.
 *
 * @example
 * const store = createMemoryStore();
 * await store.incidents.create({ title: 'Disk full', description: 'db-2 at 100%', severity: 'critical',
 *   service: 'postgres', reportedBy: 'alice' });
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const state = { closed: false };
  const now = options.now ?? Date.now;
  const auth = createMemoryAuthState(state, now);
  return {
    kind: 'memory',
    incidents: new MemoryIncidentStore(state, now, options.newId ?? createIncidentIdGenerator()),
    users: new MemoryUserStore(auth),
    clients: new MemoryClientStore(auth),
    codes: new MemoryCodeStore(auth),
    grants: new MemoryGrantStore(auth),
    consents: new MemoryConsentStore(auth),
    keys: new MemoryKeyStore(auth),
    rateLimits: new MemoryRateLimitStore(auth),
    cimdCache: new MemoryCimdCacheStore(auth),
    upstreamGrants: new MemoryUpstreamGrantStore(auth),
    sessions: new MemorySessionStore(auth),
    async ping() {
      if (state.closed) throw new StoreError('closed', 'The store is closed');
    },
    async close() {
      state.closed = true;
    },
  };
}

interface Entry {
  readonly seq: number;
  readonly createdAtMs: number;
  readonly incident: Incident;
}

class MemoryIncidentStore implements IncidentStore {
  readonly #byId = new Map<string, Entry>();
  #seq = 0;

  constructor(
    private readonly state: { closed: boolean },
    private readonly now: () => number,
    private readonly newId: IdGenerator,
  ) {}

  async create(input: NewIncident): Promise<Incident> {
    this.#open();
    return this.#insert(input);
  }

  async get(id: string): Promise<Incident | undefined> {
    this.#open();
    return this.#byId.get(id)?.incident;
  }

  async list(query: IncidentQuery = {}): Promise<Incident[]> {
    this.#open();
    const { limit } = checkQuery(query);
    const matching = this.#matching(query).sort((a, b) => b.createdAtMs - a.createdAtMs || b.seq - a.seq);
    return (limit === undefined ? matching : matching.slice(0, limit)).map((entry) => entry.incident);
  }

  async count(filter: IncidentFilter = {}): Promise<number> {
    this.#open();
    checkQuery(filter);
    return this.#matching(filter).length;
  }

  async createIfEmpty(inputs: readonly NewIncident[]): Promise<Incident[]> {
    this.#open();
    // Check everything first, so a bad record leaves the store as it was.
    inputs.forEach((input) => checkNewIncident(input, this.now));
    if (this.#byId.size > 0) return [];
    return inputs.map((input) => this.#insert(input));
  }

  #insert(input: NewIncident): Incident {
    const checked = checkNewIncident(input, this.now);
    let id = this.newId(checked.createdAtMs);
    for (let attempt = 1; this.#byId.has(id); attempt++) {
      if (attempt >= ID_ATTEMPTS) throw new StoreError('unavailable', 'Could not allocate a unique incident id');
      id = this.newId(checked.createdAtMs);
    }
    const incident = toIncident(id, checked);
    this.#byId.set(id, { seq: ++this.#seq, createdAtMs: checked.createdAtMs, incident });
    return incident;
  }

  #matching(filter: IncidentFilter): Entry[] {
    const out: Entry[] = [];
    for (const entry of this.#byId.values()) {
      const { incident } = entry;
      if (filter.severity !== undefined && incident.severity !== filter.severity) continue;
      if (filter.status !== undefined && incident.status !== filter.status) continue;
      if (filter.service !== undefined && incident.service !== filter.service) continue;
      if (filter.idPrefix !== undefined && !incident.id.startsWith(filter.idPrefix)) continue;
      out.push(entry);
    }
    return out;
  }

  #open(): void {
    if (this.state.closed) throw new StoreError('closed', 'The store is closed');
  }
}

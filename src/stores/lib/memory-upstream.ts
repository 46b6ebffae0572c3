/** Upstream grants (federated login) in memory: userId → clientId → record, this process only. */
import type { NewUpstreamGrant, UpstreamGrantChanges, UpstreamGrantRecord, UpstreamGrantStore } from '../auth-types.js';
import { checkTime } from './auth-checks.js';
import { assertOpen, type MemoryAuthState } from './memory-auth-state.js';
import { applyUpstreamUpdate, checkNewUpstreamGrant, checkUpstreamUpdate, isLiveUpstreamGrant, toUpstreamGrant } from './upstream-records.js';

export class MemoryUpstreamGrantStore implements UpstreamGrantStore {
  constructor(private readonly state: MemoryAuthState) {}

  async put(record: NewUpstreamGrant): Promise<UpstreamGrantRecord> {
    assertOpen(this.state);
    const checked = checkNewUpstreamGrant(record);
    this.#sweep(checked.createdAt);
    const held = this.#held(checked.userId, checked.clientId);
    const stored = toUpstreamGrant({ ...checked, version: (held?.version ?? 0) + 1, updatedAt: checked.createdAt });
    let byClient = this.state.upstreamGrants.get(stored.userId);
    if (!byClient) this.state.upstreamGrants.set(stored.userId, (byClient = new Map()));
    byClient.set(stored.clientId, stored);
    return stored;
  }

  async get(userId: string, clientId: string, now: number): Promise<UpstreamGrantRecord | undefined> {
    assertOpen(this.state);
    checkTime('upstream grant', 'now', now);
    const held = this.#held(userId, clientId);
    return held && isLiveUpstreamGrant(held, now) ? held : undefined;
  }

  async update(userId: string, clientId: string, version: number, changes: UpstreamGrantChanges, now: number): Promise<UpstreamGrantRecord | undefined> {
    assertOpen(this.state);
    const checked = checkUpstreamUpdate(version, changes, now);
    const held = this.#held(userId, clientId);
    if (!held || !isLiveUpstreamGrant(held, checked.now) || held.version !== checked.version) return undefined;
    const stored = applyUpstreamUpdate(held, checked.changes, checked.now);
    this.state.upstreamGrants.get(held.userId)!.set(held.clientId, stored);
    return stored;
  }

  async remove(userId: string, clientId: string): Promise<boolean> {
    assertOpen(this.state);
    const byClient = typeof userId === 'string' ? this.state.upstreamGrants.get(userId) : undefined;
    if (!byClient || typeof clientId !== 'string' || !byClient.delete(clientId)) return false;
    if (byClient.size === 0) this.state.upstreamGrants.delete(userId);
    return true;
  }

  #held(userId: unknown, clientId: unknown): UpstreamGrantRecord | undefined {
    if (typeof userId !== 'string' || typeof clientId !== 'string') return undefined;
    return this.state.upstreamGrants.get(userId)?.get(clientId);
  }

  #sweep(now: number): void {
    if (!this.state.sweeps.due('upstream_grants', now)) return;
    for (const [userId, byClient] of this.state.upstreamGrants) {
      for (const [clientId, record] of byClient) if (!isLiveUpstreamGrant(record, now)) byClient.delete(clientId);
      if (byClient.size === 0) this.state.upstreamGrants.delete(userId);
    }
  }
}

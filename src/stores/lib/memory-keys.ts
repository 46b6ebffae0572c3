/**
 * Signing keys and the generated server secret, in memory. `createIfNone` and `serverSecret` decide and
 * write in one synchronous turn, so concurrent callers in this process agree.
 */
import type { KeyStore, SigningKeyRecord } from '../auth-types.js';
import { StoreError } from '../errors.js';
import { checkTime } from './auth-checks.js';
import { checkServerSecret, checkSigningKey } from './auth-records.js';
import { assertOpen, type MemoryAuthState } from './memory-auth-state.js';

export class MemoryKeyStore implements KeyStore {
  constructor(private readonly state: MemoryAuthState) {}

  async list(now: number): Promise<SigningKeyRecord[]> {
    assertOpen(this.state);
    return this.#published(checkTime('signing key', 'now', now));
  }

  async createIfNone(key: SigningKeyRecord, now: number): Promise<SigningKeyRecord[]> {
    assertOpen(this.state);
    const { record } = checkSigningKey(key);
    checkTime('signing key', 'now', now);
    if (this.#published(now).length === 0) this.#insert(record);
    return this.#published(now);
  }

  async add(key: SigningKeyRecord): Promise<void> {
    assertOpen(this.state);
    this.#insert(checkSigningKey(key).record);
  }

  async retire(kid: string, retiresAt: number): Promise<void> {
    assertOpen(this.state);
    checkTime('signing key', 'retiresAt', retiresAt);
    const entry = typeof kid === 'string' ? this.state.keys.get(kid) : undefined;
    if (entry) entry.key = Object.freeze({ ...entry.key, retiresAt });
  }

  async serverSecret(candidate: string): Promise<string> {
    assertOpen(this.state);
    const checked = checkServerSecret(candidate);
    this.state.serverSecret ??= checked;
    return this.state.serverSecret;
  }

  #insert(record: SigningKeyRecord): void {
    if (this.state.keys.has(record.kid)) throw new StoreError('conflict', 'A signing key with this kid exists');
    this.state.keys.set(record.kid, { seq: ++this.state.seq, key: record });
  }

  /** Keys not retired at `now`, oldest first (ties: insertion order). */
  #published(now: number): SigningKeyRecord[] {
    return [...this.state.keys.values()]
      .filter(({ key }) => key.retiresAt === undefined || key.retiresAt > now)
      .sort((a, b) => a.key.createdAt - b.key.createdAt || a.seq - b.seq)
      .map((entry) => entry.key);
  }
}

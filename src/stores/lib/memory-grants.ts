/**
 * Authorization codes and grants (refresh-token families) in memory. Each method runs in one synchronous
 * turn, which is what makes `consume` and `rotate` atomic here; the rotation rules themselves are the
 * shared ones of `refresh-rotation.ts`.
 */
import type { AuthorizationCodeRecord, CodeStore, ConsumedCode, GrantRecord, GrantStore, RotationResult } from '../auth-types.js';
import { StoreError } from '../errors.js';
import { checkHash, checkId, checkTime } from './auth-checks.js';
import { checkCode, checkGrantFilter, checkNewGrant, toGrant } from './auth-records.js';
import { assertOpen, removeGrantsWhere, type MemoryAuthState } from './memory-auth-state.js';
import { checkRotation, decideRotation, isLive, rotationResult } from './refresh-rotation.js';
import { epochSeconds } from './sweep.js';

export class MemoryCodeStore implements CodeStore {
  constructor(private readonly state: MemoryAuthState) {}

  async put(code: AuthorizationCodeRecord): Promise<void> {
    assertOpen(this.state);
    const checked = checkCode(code);
    if (this.state.codes.has(checked.hash)) throw new StoreError('conflict', 'An authorization code with this hash exists');
    this.state.codes.set(checked.hash, { code: checked, usedAt: undefined, grantId: undefined });
  }

  async consume(hash: string, now: number): Promise<ConsumedCode | undefined> {
    assertOpen(this.state);
    checkTime('authorization code', 'now', now);
    if (this.state.sweeps.due('codes', now)) {
      for (const [key, entry] of this.state.codes) if (entry.code.expiresAt <= now) this.state.codes.delete(key);
    }
    const entry = typeof hash === 'string' ? this.state.codes.get(hash) : undefined;
    if (!entry || entry.code.expiresAt <= now) return undefined;
    if (entry.usedAt !== undefined) return Object.freeze({ firstUse: false, code: entry.code, grantId: entry.grantId });
    entry.usedAt = now;
    return Object.freeze({ firstUse: true, code: entry.code });
  }

  async linkGrant(hash: string, grantId: string): Promise<void> {
    assertOpen(this.state);
    checkHash('authorization code', 'hash', hash);
    checkId('authorization code', 'grantId', grantId);
    const entry = this.state.codes.get(hash);
    if (entry) entry.grantId = grantId;
  }
}

export class MemoryGrantStore implements GrantStore {
  constructor(private readonly state: MemoryAuthState) {}

  async create(grant: Omit<GrantRecord, 'revoked'>, refreshHash: string): Promise<GrantRecord> {
    assertOpen(this.state);
    const checked = checkNewGrant(grant);
    checkHash('grant', 'refreshHash', refreshHash);
    this.#sweep(checked.createdAt);
    if (this.state.grants.has(checked.id)) throw new StoreError('conflict', 'A grant with this id exists');
    if (this.state.refreshTokens.has(refreshHash)) throw new StoreError('conflict', 'A refresh token with this hash exists');
    const record = toGrant(checked, false);
    this.state.grants.set(record.id, { seq: ++this.state.seq, grant: record, tokens: new Set([refreshHash]) });
    this.state.refreshTokens.set(refreshHash, { grantId: record.id, state: 'current', issuedAt: record.createdAt, rotatedAt: undefined, successorHash: undefined });
    return record;
  }

  async get(id: string): Promise<GrantRecord | undefined> {
    assertOpen(this.state);
    return typeof id === 'string' ? this.state.grants.get(id)?.grant : undefined;
  }

  async rotate(presentedHash: string, successorHash: string, options: { clientId: string; now: number; graceSeconds: number }): Promise<RotationResult | undefined> {
    assertOpen(this.state);
    if (!checkRotation(presentedHash, successorHash, options).known) return undefined;
    this.#sweep(options.now);
    const token = this.state.refreshTokens.get(presentedHash);
    const entry = token && this.state.grants.get(token.grantId);
    const successor = token?.successorHash === undefined ? undefined : this.state.refreshTokens.get(token.successorHash);
    const step = decideRotation(token, entry?.grant, successor?.state === 'current', options);
    if (step.step === 'refuse' || !token || !entry) return undefined;
    if (step.step === 'rotate') {
      if (this.state.refreshTokens.has(successorHash)) throw new StoreError('conflict', 'A refresh token with the successor hash exists');
      this.state.refreshTokens.set(presentedHash, { ...token, state: 'retired', rotatedAt: options.now, successorHash });
      this.state.refreshTokens.set(successorHash, { grantId: entry.grant.id, state: 'current', issuedAt: options.now, rotatedAt: undefined, successorHash: undefined });
      entry.tokens.add(successorHash);
    } else if (step.step === 'revoke') {
      entry.grant = toGrant(entry.grant, true);
    }
    return rotationResult(step, entry.grant);
  }

  async findByRefreshHash(hash: string, now?: number): Promise<GrantRecord | undefined> {
    assertOpen(this.state);
    const at = now === undefined ? epochSeconds(this.state.nowMs) : checkTime('grant', 'now', now);
    const token = typeof hash === 'string' ? this.state.refreshTokens.get(hash) : undefined;
    const grant = token && this.state.grants.get(token.grantId)?.grant;
    return grant && isLive(grant, at) ? grant : undefined;
  }

  async isCurrent(hash: string, now: number): Promise<boolean> {
    assertOpen(this.state);
    checkTime('grant', 'now', now);
    const token = typeof hash === 'string' ? this.state.refreshTokens.get(hash) : undefined;
    const grant = token && this.state.grants.get(token.grantId)?.grant;
    return token?.state === 'current' && grant !== undefined && isLive(grant, now);
  }

  async revoke(id: string): Promise<void> {
    assertOpen(this.state);
    const entry = typeof id === 'string' ? this.state.grants.get(id) : undefined;
    if (entry && !entry.grant.revoked) entry.grant = toGrant(entry.grant, true);
  }

  async list(filter: { userId?: string; clientId?: string; now?: number } = {}): Promise<GrantRecord[]> {
    assertOpen(this.state);
    const { userId, clientId, now } = checkGrantFilter(filter, () => epochSeconds(this.state.nowMs));
    return [...this.state.grants.values()]
      .filter(({ grant }) => isLive(grant, now) && (userId === undefined || grant.userId === userId) && (clientId === undefined || grant.clientId === clientId))
      .sort((a, b) => b.grant.createdAt - a.grant.createdAt || b.seq - a.seq)
      .map((entry) => entry.grant);
  }

  /** Expired families go, with all their tokens; revoked ones stay until they expire (a replay still finds them). */
  #sweep(now: number): void {
    if (this.state.sweeps.due('grants', now)) removeGrantsWhere(this.state, (grant) => grant.expiresAt <= now);
  }
}

/**
 * The memory store's authorization data: plain Maps of frozen records shared by the memory record stores,
 * and the removals that cross record kinds (a user or client takes its grants, refresh tokens, codes and
 * consents with it). Every operation on it runs synchronously inside one promise, so each is atomic.
 * Nothing here survives the process.
 */
import type { AuthorizationCodeRecord, ClientRecord, GrantRecord, SigningKeyRecord, UpstreamGrantRecord, UserRecord } from '../auth-types.js';
import { StoreError } from '../errors.js';
import type { RefreshTokenRow } from './refresh-rotation.js';
import { SweepSchedule } from './sweep.js';

export interface CodeEntry {
  readonly code: AuthorizationCodeRecord;
  usedAt: number | undefined;
  grantId: string | undefined;
}

export interface GrantEntry {
  readonly seq: number;
  /** Frozen; replaced (never changed) when revoked. */
  grant: GrantRecord;
  /** Hashes of every refresh token of the family, current and retired. */
  readonly tokens: Set<string>;
}

export interface MemoryAuthState {
  /** Shared with the incident store: `close()` closes everything. */
  readonly flags: { closed: boolean };
  /** The store clock in milliseconds (record creation times). */
  readonly nowMs: () => number;
  readonly sweeps: SweepSchedule;
  seq: number;
  readonly users: Map<string, UserRecord>;
  /** username → user id. */
  readonly userIds: Map<string, string>;
  readonly clients: Map<string, { readonly seq: number; readonly client: ClientRecord }>;
  /** userId → clientId → approved scopes. */
  readonly consents: Map<string, Map<string, readonly string[]>>;
  readonly codes: Map<string, CodeEntry>;
  readonly grants: Map<string, GrantEntry>;
  readonly refreshTokens: Map<string, RefreshTokenRow>;
  readonly keys: Map<string, { readonly seq: number; key: SigningKeyRecord }>;
  serverSecret: string | undefined;
  /** key → window length in seconds → the current fixed window. */
  readonly rateLimits: Map<string, Map<number, { windowStart: number; expiresAt: number; count: number }>>;
  readonly cimd: Map<string, { readonly document: Readonly<Record<string, unknown>>; readonly expiresAt: number }>;
  /** userId → clientId → upstream grant (federated login). */
  readonly upstreamGrants: Map<string, Map<string, UpstreamGrantRecord>>;
}

export function createMemoryAuthState(flags: { closed: boolean }, nowMs: () => number): MemoryAuthState {
  return {
    flags,
    nowMs,
    sweeps: new SweepSchedule(),
    seq: 0,
    users: new Map(),
    userIds: new Map(),
    clients: new Map(),
    consents: new Map(),
    codes: new Map(),
    grants: new Map(),
    refreshTokens: new Map(),
    keys: new Map(),
    serverSecret: undefined,
    rateLimits: new Map(),
    cimd: new Map(),
    upstreamGrants: new Map(),
  };
}

/** Throws `closed` after `close()`. */
export function assertOpen(state: MemoryAuthState): void {
  if (state.flags.closed) throw new StoreError('closed', 'The store is closed');
}

/** Removes every grant (with its refresh tokens), code, consent and upstream grant of one user or one client. */
export function removeEverythingOf(state: MemoryAuthState, owner: { userId: string } | { clientId: string }): void {
  const owns = (record: { userId: string; clientId: string }) => ('userId' in owner ? record.userId === owner.userId : record.clientId === owner.clientId);
  removeGrantsWhere(state, (grant) => owns(grant));
  for (const [hash, entry] of state.codes) if (owns(entry.code)) state.codes.delete(hash);
  for (const byUser of [state.consents, state.upstreamGrants] as Map<string, Map<string, unknown>>[]) {
    if ('userId' in owner) {
      byUser.delete(owner.userId);
      continue;
    }
    for (const [userId, byClient] of byUser) {
      byClient.delete(owner.clientId);
      if (byClient.size === 0) byUser.delete(userId);
    }
  }
}

/** Removes the grants matching `predicate` and all their refresh tokens. */
export function removeGrantsWhere(state: MemoryAuthState, predicate: (grant: GrantRecord) => boolean): void {
  for (const [id, entry] of state.grants) {
    if (!predicate(entry.grant)) continue;
    for (const hash of entry.tokens) state.refreshTokens.delete(hash);
    state.grants.delete(id);
  }
}

/**
 * The refresh-token state machine, as one pure decision both adapters apply inside their atomic step (the
 * memory store within one synchronous turn, SQLite within one `BEGIN IMMEDIATE` transaction), so the
 * rules cannot drift between stores.
 *
 * State kept per refresh token (by hash): the grant it belongs to; `current` or `retired`; when it was
 * issued; and, once retired, when it was rotated (`rotatedAt`) and the hash of the token that replaced it
 * (`successorHash`). A grant (family) has exactly one current token while it lives; tokens are never
 * deleted before their grant, so a replay of any token the family ever had is recognised.
 *
 * "Rotated last": a retired token whose successor is still the family's current token, i.e. the
 * immediate predecessor of the current token, whose successor has not itself been used. Only that token
 * gets a grace period; a token two rotations back is reuse whatever the clock says.
 *
 * ```
 *   create ──▶ current ──rotate(own client)──▶ retired(rotatedAt, successor = new current)
 *                │                               │ again, own client, successor still current,
 *                │                               │ now < rotatedAt + grace ──▶ grace (nothing changes)
 *                │                               │ any other use by the own client ──▶ family revoked (reuse)
 *                └─ grant revoked / expired / removed: every token of the family is refused (undefined)
 * ```
 *
 * A token presented by another client is refused without changing anything: a client can only present
 * a token with its own credentials, so this is a confused caller rather than a replay of ours.
 */
import type { GrantRecord, RotationResult } from '../auth-types.js';
import { checkCount, checkHash, checkId, checkTime, invalid } from './auth-checks.js';

export type RefreshTokenState = 'current' | 'retired';

/** One stored refresh token. */
export interface RefreshTokenRow {
  readonly grantId: string;
  readonly state: RefreshTokenState;
  /** When it became current (the grant's creation, or the rotation that issued it). */
  readonly issuedAt: number;
  /** When it was retired; undefined while current. */
  readonly rotatedAt: number | undefined;
  /** The hash of the token that replaced it; undefined while current. */
  readonly successorHash: string | undefined;
}

export interface RotationOptions {
  clientId: string;
  now: number;
  graceSeconds: number;
}

/** What the adapter must do, decided from the stored facts. */
export type RotationStep =
  /** Return undefined; change nothing. */
  | { readonly step: 'refuse' }
  /** Retire the presented token (rotatedAt = now, successor = the new hash) and store the successor as current. */
  | { readonly step: 'rotate' }
  /** Change nothing; answer with the stored successor. */
  | { readonly step: 'grace'; readonly successorHash: string }
  /** Revoke the grant. */
  | { readonly step: 'revoke' };

/** Checks the arguments of `GrantStore.rotate`; a malformed presented hash is simply unknown (undefined). */
export function checkRotation(presentedHash: unknown, successorHash: unknown, options: RotationOptions): { known: boolean } {
  const kind = 'rotation';
  checkHash(kind, 'successorHash', successorHash);
  if (typeof options !== 'object' || options === null) invalid(kind, 'options');
  checkId(kind, 'clientId', options.clientId);
  checkTime(kind, 'now', options.now);
  checkCount(kind, 'graceSeconds', options.graceSeconds, { allowZero: true });
  if (presentedHash === successorHash) invalid(kind, 'successorHash', 'differs from the presented hash');
  try {
    checkHash(kind, 'presentedHash', presentedHash);
    return { known: true };
  } catch {
    return { known: false };
  }
}

/** Whether a grant is live at `now`: not revoked and not past its absolute end. */
export function isLive(grant: GrantRecord, now: number): boolean {
  return !grant.revoked && now < grant.expiresAt;
}

/**
 * Decides a rotation.
 * @param token the presented token's row, if any
 * @param grant its grant, if any
 * @param successorIsCurrent whether the presented token's successor is the family's current token
 */
export function decideRotation(token: RefreshTokenRow | undefined, grant: GrantRecord | undefined, successorIsCurrent: boolean, options: RotationOptions): RotationStep {
  if (!token || !grant || !isLive(grant, options.now) || grant.clientId !== options.clientId) return { step: 'refuse' };
  if (token.state === 'current') return { step: 'rotate' };
  // Retired. Grace is a half-open interval [rotatedAt, rotatedAt + grace): graceSeconds 0 turns it off.
  const withinGrace = token.rotatedAt !== undefined && options.now < token.rotatedAt + options.graceSeconds;
  if (successorIsCurrent && withinGrace && token.successorHash !== undefined) return { step: 'grace', successorHash: token.successorHash };
  return { step: 'revoke' };
}

/** The result for a decided step (refuse → undefined), given the grant as it is after the step. */
export function rotationResult(step: RotationStep, grantAfter: GrantRecord): RotationResult | undefined {
  switch (step.step) {
    case 'refuse':
      return undefined;
    case 'rotate':
      return Object.freeze({ kind: 'rotated', grant: grantAfter });
    case 'grace':
      return Object.freeze({ kind: 'grace', grant: grantAfter, successorHash: step.successorHash });
    case 'revoke':
      return Object.freeze({ kind: 'reuse', grant: grantAfter });
  }
}

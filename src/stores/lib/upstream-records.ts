/**
 * The field rules of upstream grants (federated login), checked at the store boundary so that every adapter
 * refuses the same input in the same words (see `auth-checks.ts`), and the merge every adapter applies on
 * `update`. The rule that matters most: `sealedTokens` must be an AES-256-GCM envelope, so a caller that
 * forgot to encrypt cannot store an upstream token in clear.
 */
import type { NewUpstreamGrant, UpstreamGrantChanges, UpstreamGrantRecord } from '../auth-types.js';
import { checkCount, checkId, checkText, checkTime, checkUri, invalid } from './auth-checks.js';

const KIND = 'upstream grant';
/** `aes256gcm:` + three base64url parts (iv, ciphertext, tag), as `authorization-server/upstream/vault.ts` makes them. */
export const SEALED_TOKENS = /^aes256gcm:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** An envelope holds a refresh token or two; 16 KiB is far beyond any IdP's. */
const SEALED_MAX = 16 * 1024;
/** OIDC Core §2: `sub` is at most 255 ASCII characters; the bound leaves room for IdPs that stretch it. */
const SUBJECT_MAX = 1024;

function checkSealed(value: unknown): string {
  if (typeof value !== 'string' || value.length > SEALED_MAX || !SEALED_TOKENS.test(value)) invalid(KIND, 'sealedTokens', 'an aes256gcm: envelope');
  return value;
}

/** A new record for `put`, copied: the fields of {@link NewUpstreamGrant}, nothing else. */
export function checkNewUpstreamGrant(input: unknown): NewUpstreamGrant {
  if (typeof input !== 'object' || input === null) invalid(KIND, 'record');
  const r = input as Record<string, unknown>;
  const allowed = new Set(['userId', 'clientId', 'issuer', 'subject', 'sealedTokens', 'accessExpiresAt', 'createdAt', 'expiresAt']);
  for (const name of Object.keys(r)) if (!allowed.has(name)) invalid(KIND, name, 'unknown field');
  const record: NewUpstreamGrant = {
    userId: checkId(KIND, 'userId', r.userId),
    clientId: checkId(KIND, 'clientId', r.clientId),
    issuer: checkUri(KIND, 'issuer', r.issuer),
    subject: checkText(KIND, 'subject', r.subject, SUBJECT_MAX),
    sealedTokens: checkSealed(r.sealedTokens),
    accessExpiresAt: checkTime(KIND, 'accessExpiresAt', r.accessExpiresAt),
    createdAt: checkTime(KIND, 'createdAt', r.createdAt),
    expiresAt: checkTime(KIND, 'expiresAt', r.expiresAt),
  };
  if (record.expiresAt <= record.createdAt) invalid(KIND, 'expiresAt', 'after createdAt');
  return record;
}

/** The arguments of `update`, checked. */
export function checkUpstreamUpdate(version: unknown, changes: unknown, now: unknown): { version: number; changes: UpstreamGrantChanges; now: number } {
  checkCount(KIND, 'version', version);
  checkTime(KIND, 'now', now);
  if (typeof changes !== 'object' || changes === null) invalid(KIND, 'changes');
  const c = changes as Record<string, unknown>;
  for (const name of Object.keys(c)) if (!['sealedTokens', 'accessExpiresAt', 'refreshingUntil'].includes(name)) invalid(KIND, name, 'unknown field');
  const checked: { sealedTokens?: string; accessExpiresAt?: number; refreshingUntil?: number | null } = {};
  if (c.sealedTokens !== undefined) checked.sealedTokens = checkSealed(c.sealedTokens);
  if (c.accessExpiresAt !== undefined) checked.accessExpiresAt = checkTime(KIND, 'accessExpiresAt', c.accessExpiresAt);
  if (c.refreshingUntil !== undefined) checked.refreshingUntil = c.refreshingUntil === null ? null : checkTime(KIND, 'refreshingUntil', c.refreshingUntil);
  return { version: version as number, changes: checked, now: now as number };
}

/** The record `update` stores: `held` with `changes` applied, `updatedAt = now`, the next version. */
export function applyUpstreamUpdate(held: UpstreamGrantRecord, changes: UpstreamGrantChanges, now: number): UpstreamGrantRecord {
  return toUpstreamGrant({
    ...held,
    sealedTokens: changes.sealedTokens ?? held.sealedTokens,
    accessExpiresAt: changes.accessExpiresAt ?? held.accessExpiresAt,
    refreshingUntil: changes.refreshingUntil === undefined ? held.refreshingUntil : changes.refreshingUntil,
    version: held.version + 1,
    updatedAt: now,
  });
}

/** A stored record as handed out: frozen, fields in the documented order, `refreshingUntil` only when set. */
export function toUpstreamGrant(fields: Omit<UpstreamGrantRecord, 'refreshingUntil'> & { refreshingUntil?: number | null | undefined }): UpstreamGrantRecord {
  const { userId, clientId, issuer, subject, sealedTokens, accessExpiresAt, refreshingUntil, version, createdAt, updatedAt, expiresAt } = fields;
  return Object.freeze({
    userId,
    clientId,
    issuer,
    subject,
    sealedTokens,
    accessExpiresAt,
    ...(refreshingUntil === undefined || refreshingUntil === null ? {} : { refreshingUntil }),
    version,
    createdAt,
    updatedAt,
    expiresAt,
  });
}

/** Whether a stored record is answered at `now`. */
export function isLiveUpstreamGrant(record: Pick<UpstreamGrantRecord, 'expiresAt'>, now: number): boolean {
  return record.expiresAt > now;
}

/**
 * The field rules of stored MCP sessions, checked at the store boundary so that every adapter refuses the
 * same input in the same words (see `auth-checks.ts`).
 */
import type { McpSessionRecord } from '../types.js';
import { AUTH_LIMITS, checkHash, checkId, checkText, checkTime, invalid } from './auth-checks.js';

const KIND = 'session';
/** Protocol versions are dates today (`2025-11-25`); the bound only keeps junk out. */
const VERSION = /^[A-Za-z0-9._-]{1,32}$/;

function checkSmallInt(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) invalid(KIND, field, `an integer 0..${max}`);
  return value;
}

/** A new session, copied and frozen. */
export function checkSession(input: unknown): McpSessionRecord {
  if (typeof input !== 'object' || input === null) invalid(KIND, 'record');
  const s = input as Record<string, unknown>;
  const version = s.version;
  if (typeof version !== 'string' || !VERSION.test(version)) invalid(KIND, 'version');
  const record: McpSessionRecord = {
    hash: checkHash(KIND, 'hash', s.hash),
    subject: checkText(KIND, 'subject', s.subject, AUTH_LIMITS.id),
    clientId: checkId(KIND, 'clientId', s.clientId),
    version,
    capabilities: checkSmallInt('capabilities', s.capabilities, 255),
    logLevel: checkSmallInt('logLevel', s.logLevel, 7),
    createdAt: checkTime(KIND, 'createdAt', s.createdAt),
    expiresAt: checkTime(KIND, 'expiresAt', s.expiresAt),
  };
  if (record.expiresAt <= record.createdAt) invalid(KIND, 'expiresAt', 'after createdAt');
  return Object.freeze(record);
}

/** The arguments of `touch`; `logLevel` undefined leaves the stored one. */
export function checkTouch(changes: unknown, now: unknown): { expiresAt: number; logLevel: number | undefined } {
  checkTime(KIND, 'now', now);
  if (typeof changes !== 'object' || changes === null) invalid(KIND, 'changes');
  const c = changes as Record<string, unknown>;
  return {
    expiresAt: checkTime(KIND, 'expiresAt', c.expiresAt),
    logLevel: c.logLevel === undefined ? undefined : checkSmallInt('logLevel', c.logLevel, 7),
  };
}

/** A stored session as handed out: frozen, fields in the documented order. */
export function toSession(fields: McpSessionRecord): McpSessionRecord {
  const { hash, subject, clientId, version, capabilities, logLevel, createdAt, expiresAt } = fields;
  return Object.freeze({ hash, subject, clientId, version, capabilities, logLevel, createdAt, expiresAt });
}

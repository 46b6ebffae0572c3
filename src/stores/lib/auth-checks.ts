/**
 * The field rules of the authorization server's records, checked at the store boundary so that every
 * adapter refuses the same input in the same words, before anything is written. A failed check throws
 * `StoreError('invalid_record')` naming the record kind and field, never the value (it may be a secret).
 *
 * What is not checked here: that ids refer to existing users or clients (client ids of metadata documents
 * are never stored), that a redirect URI or resource is a well-formed URL (the endpoints check those
 * against the RFCs), and that a hash really is a hash (a hash and a random token share an alphabet; the
 * callers hash, see `authorization-server/secrets.ts`).
 */
import { StoreError } from '../errors.js';

/** Size limits of the authorization records (characters unless named otherwise). */
export const AUTH_LIMITS = {
  /** User ids, client ids, grant ids, key ids. */
  id: 2048,
  /** SHA-256 base64url is 43 characters, hex 64; the range leaves room for other digests only. */
  hashMin: 16,
  hashMax: 256,
  /** Password hashes and client-secret hashes (`scrypt$N$r$p$salt$hash`). */
  passwordHash: 1024,
  scope: 256,
  scopes: 256,
  /** Redirect URIs, resources, metadata-document URLs. */
  uri: 2048,
  uris: 100,
  /** Grant types and response types. */
  keyword: 128,
  keywords: 20,
  clientName: 1000,
  clientScope: 8192,
  /** Serialized JSON: client metadata, JWKs, cached metadata documents (bytes of UTF-8). */
  metadataBytes: 64 * 1024,
  jwkBytes: 16 * 1024,
  documentBytes: 256 * 1024,
  rateLimitKey: 512,
} as const;

/**
 * Epoch seconds: a safe integer in [0, 10^11). Milliseconds (13 digits today) fall outside, which catches
 * the commonest mistake with these fields.
 */
export const MAX_EPOCH_SECONDS = 1e11;

const PRINTABLE_ASCII = /^[\x21-\x7E]+$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;
/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const CONTROL = /[\u0000-\u001F\u007F]/;

/** Throws the boundary's error for `kind`.`field`. */
export function invalid(kind: string, field: string, detail = ''): never {
  throw new StoreError('invalid_record', `Invalid ${kind}: check ${field}${detail ? ` (${detail})` : ''}`);
}

/** Epoch seconds, see {@link MAX_EPOCH_SECONDS}. */
export function checkTime(kind: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value >= MAX_EPOCH_SECONDS) {
    invalid(kind, field, 'epoch seconds, an integer');
  }
  return value;
}

/** A positive safe integer (window lengths, grace periods may be 0: see `allowZero`). */
export function checkCount(kind: string, field: string, value: unknown, { allowZero = false } = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) invalid(kind, field);
  return value;
}

/** An id: 1..2048 printable ASCII characters, no spaces. */
export function checkId(kind: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > AUTH_LIMITS.id || !PRINTABLE_ASCII.test(value)) invalid(kind, field);
  return value;
}

/** A token or code hash: base64url (or hex) of 16..256 characters. */
export function checkHash(kind: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < AUTH_LIMITS.hashMin || value.length > AUTH_LIMITS.hashMax || !BASE64URL.test(value)) {
    invalid(kind, field);
  }
  return value;
}

/** A password or client-secret hash in its self-describing format: printable ASCII. */
export function checkPasswordHash(kind: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > AUTH_LIMITS.passwordHash || !PRINTABLE_ASCII.test(value)) invalid(kind, field);
  return value;
}

/** Unique, case-sensitive, 1..64 characters of `[A-Za-z0-9._@-]`. */
export function checkUsername(kind: string, value: unknown): string {
  if (typeof value !== 'string' || !USERNAME.test(value)) invalid(kind, 'username', '1-64 of A-Z a-z 0-9 . _ @ -');
  return value;
}

/** Text without control characters, at most `max` long; empty only when `allowEmpty`. */
export function checkText(kind: string, field: string, value: unknown, max: number, { allowEmpty = false } = {}): string {
  if (typeof value !== 'string' || value.length > max || (!allowEmpty && value.length === 0) || CONTROL.test(value)) invalid(kind, field);
  return value;
}

/** A URI-like string: 1..2048 characters, no spaces or control characters (the endpoints check the rest). */
export function checkUri(kind: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > AUTH_LIMITS.uri || !PRINTABLE_ASCII.test(value)) invalid(kind, field);
  return value;
}

/** An array of RFC 6749 scope tokens, copied and frozen (order kept; a repeated item kept once). */
export function checkScopes(kind: string, field: string, value: unknown): readonly string[] {
  return checkList(kind, field, value, AUTH_LIMITS.scopes, (item) => item.length <= AUTH_LIMITS.scope && SCOPE_TOKEN.test(item));
}

/** An array of grant or response types, copied and frozen (order kept; a repeated item kept once). */
export function checkKeywords(kind: string, field: string, value: unknown): readonly string[] {
  return checkList(kind, field, value, AUTH_LIMITS.keywords, (item) => item.length <= AUTH_LIMITS.keyword && PRINTABLE_ASCII.test(item));
}

/** An array of redirect URIs, copied and frozen (order kept; a repeated item kept once). */
export function checkUris(kind: string, field: string, value: unknown): readonly string[] {
  return checkList(kind, field, value, AUTH_LIMITS.uris, (item) => item.length <= AUTH_LIMITS.uri && PRINTABLE_ASCII.test(item));
}

function checkList(kind: string, field: string, value: unknown, maxItems: number, ok: (item: string) => boolean): readonly string[] {
  if (!Array.isArray(value) || value.length > maxItems) invalid(kind, field, `an array of at most ${maxItems} strings`);
  const out = new Set<string>();
  for (const item of value as unknown[]) {
    if (typeof item !== 'string' || !ok(item)) invalid(kind, field);
    out.add(item); // these lists are sets: a repeat adds nothing, so it is dropped rather than refused
  }
  return Object.freeze([...out]);
}

/**
 * A plain JSON object of at most `maxBytes` serialized. Returns its serialization and a deep-frozen copy
 * parsed back from it, so memory and SQLite hand out the same value (`undefined` members dropped, dates as
 * strings). Refuses what JSON cannot carry faithfully: cycles, BigInt, non-plain objects at the top.
 */
export function checkJsonObject(kind: string, field: string, value: unknown, maxBytes: number): { json: string; value: Readonly<Record<string, unknown>> } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(kind, field, 'a JSON object');
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) invalid(kind, field, 'a JSON object');
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    invalid(kind, field, 'a JSON object');
  }
  if (Buffer.byteLength(json, 'utf8') > maxBytes) invalid(kind, field, `at most ${maxBytes} bytes`);
  return { json, value: parseFrozenJson(json) };
}

/** Parses stored JSON (an object) into a deep-frozen value. */
export function parseFrozenJson(json: string): Readonly<Record<string, unknown>> {
  return deepFreeze(JSON.parse(json) as Record<string, unknown>);
}

/** Parses a stored JSON array of strings into a frozen array. */
export function parseFrozenList(json: string): readonly string[] {
  return Object.freeze(JSON.parse(json) as string[]);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

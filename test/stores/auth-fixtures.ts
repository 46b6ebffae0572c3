/**
 * What the authorization-store contract suites share: the target a store adapter provides, a clock the
 * test drives, and sample records. Tokens are random and only their SHA-256 goes into a store, exactly as
 * the authorization server does it; the raw values are remembered so the suite can check that none of
 * them was stored.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { AuthorizationCodeRecord, ClientRecord, GrantRecord, SigningKeyRecord } from '../../src/stores/auth-types.js';
import { StoreError, type StoreErrorCode } from '../../src/stores/errors.js';
import type { Store } from '../../src/stores/types.js';

/** An operation a second process runs `times` times against the same data (see fixtures/sqlite-auth-racer.ts). */
export type RacerSpec =
  | { op: 'consume'; hash: string; now: number; times: number }
  | { op: 'rotate'; presented: string; successor: string; clientId: string; now: number; grace: number; times: number }
  /** Each process offers a key of its own. */
  | { op: 'createIfNone'; now: number; times: number }
  /** Each call offers a candidate of its own. */
  | { op: 'serverSecret'; times: number }
  | { op: 'hit'; key: string; window: number; now: number; times: number };

export interface AuthStoreTarget {
  /** Opens a store on this target's data; `now` is the store clock in milliseconds. A new target is empty. */
  open(options?: { now?: () => number }): Promise<Store>;
  /** True when data survives `close()` and a later `open()`. */
  readonly durable: boolean;
  /**
   * When other processes can share the data: starts `processes` of them, each ready to run `spec`; `go()`
   * releases them all at once and resolves with every result, in no particular order.
   */
  startRacers?(spec: RacerSpec, processes: number): Promise<{ go(): Promise<unknown[]> }>;
  /** Stores whose rows can be looked at: the columns of each table, every stored text value, row counts. */
  inspect?(): Promise<{ columns: Record<string, string[]>; texts: string[]; rows: Record<string, number> }>;
  cleanup(): Promise<void>;
}

/** A clock the test moves; `seconds` is what callers pass as `now`. */
export class TestClock {
  ms = Date.parse('2025-06-01T09:00:00.000Z');
  readonly now = () => this.ms;
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(seconds: number): number {
    this.ms += seconds * 1000;
    return this.seconds;
  }
}

/** Every raw token handed out by {@link newToken}, to prove none of them reached a store. */
export const rawTokens: string[] = [];

/** A random token (32 bytes, base64url) and its SHA-256 hash, as the authorization server makes them. */
export function newToken(): { raw: string; hash: string } {
  const raw = randomBytes(32).toString('base64url');
  rawTokens.push(raw);
  return { raw, hash: hashOf(raw) };
}

/** A candidate for `KeyStore.serverSecret` (stored in clear by design, so not one of {@link rawTokens}). */
export const serverSecretCandidate = () => randomBytes(32).toString('base64url');

export const hashOf = (raw: string) => createHash('sha256').update(raw).digest('base64url');

/** A PKCE S256 challenge (of a verifier nobody needs here). */
export const challenge = () => hashOf(randomBytes(32).toString('base64url'));

export const PASSWORD_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA';

export function publicClient(overrides: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId: `client-${randomBytes(6).toString('hex')}`,
    name: 'Inspector',
    redirectUris: ['http://127.0.0.1/callback', 'https://app.example/cb'],
    grantTypes: ['authorization_code', 'refresh_token'],
    responseTypes: ['code'],
    tokenEndpointAuthMethod: 'none',
    scope: 'incidents:read incidents:write',
    origin: 'dynamic',
    metadata: { client_uri: 'https://app.example', contacts: ['ops@app.example'], nested: { a: [1, 2] } },
    createdAt: 1_748_768_400,
    ...overrides,
  };
}

export function confidentialClient(overrides: Partial<ClientRecord> = {}): ClientRecord {
  return publicClient({ grantTypes: ['client_credentials'], responseTypes: [], tokenEndpointAuthMethod: 'client_secret_basic', secretHash: PASSWORD_HASH, origin: 'admin', redirectUris: [], ...overrides });
}

export function code(now: number, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    hash: newToken().hash,
    clientId: 'client-a',
    userId: 'user-a',
    redirectUri: 'http://127.0.0.1:4444/callback',
    codeChallenge: challenge(),
    scopes: ['incidents:read'],
    resource: 'http://127.0.0.1:9001/mcp',
    expiresAt: now + 60,
    ...overrides,
  };
}

export function grant(now: number, overrides: Partial<Omit<GrantRecord, 'revoked'>> = {}): Omit<GrantRecord, 'revoked'> {
  return {
    id: `grant-${randomBytes(6).toString('hex')}`,
    clientId: 'client-a',
    userId: 'user-a',
    scopes: ['incidents:read', 'incidents:write'],
    resource: 'http://127.0.0.1:9001/mcp',
    createdAt: now,
    expiresAt: now + 30 * 86_400,
    ...overrides,
  };
}

export function signingKey(now: number, overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  const kid = overrides.kid ?? randomBytes(32).toString('base64url');
  return {
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: randomBytes(32).toString('base64url'), y: randomBytes(32).toString('base64url'), kid, alg: 'ES256', use: 'sig' },
    privateJwk: `aes256gcm:${randomBytes(12).toString('base64url')}.${randomBytes(120).toString('base64url')}.${randomBytes(16).toString('base64url')}`,
    createdAt: now,
    activatesAt: now,
    ...overrides,
  };
}

export async function rejectsWith(code: StoreErrorCode, promise: Promise<unknown>, message?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code, message ?? err.message);
    return true;
  }, message);
}

/** Calls `fn` `n` times at once (each call in its own turn, so calls interleave where the store lets them). */
export function concurrently<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => new Promise<void>((resolve) => setImmediate(resolve)).then(() => fn(i))));
}

import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Logger } from '../core/log.js';
import type { KeyStore, SigningKeyRecord } from '../stores/auth-types.js';
import type { KeyRing } from './context.js';
import { openPrivateJwk, PrivateJwkError, sealPrivateJwk } from './lib/private-jwk.js';

/**
 * The `max-age` the JWKS endpoint advertises (`Cache-Control`, RFC 9111 §5.2.2.1): how long a resource
 * server may keep our key set without asking again.
 */
export const JWKS_MAX_AGE_SECONDS = 300;
/** The `Cache-Control` header of `/.well-known/jwks.json`. */
export const JWKS_CACHE_CONTROL = `public, max-age=${JWKS_MAX_AGE_SECONDS}`;
/** Every ring re-reads the store at least this often, so instances sharing a store see a rotation. */
export const KEY_RELOAD_SECONDS = 60;
/**
 * Publish-before-sign: a rotated-in key is in the JWKS this long before it signs. It must cover a JWKS
 * cached just before the key was added (max-age) plus the time other instances take to notice it
 * (reload interval): 300 + 60 = 360 s at least; 600 s leaves room for clock skew and slow caches.
 */
export const KEY_PROPAGATION_SECONDS = 600;
/** Margin past the last token's `exp` before an old key leaves the JWKS: verifiers' clock skew (30 s) and ours. */
const RETIRE_MARGIN_SECONDS = 120;
/** At most one extra store read this often when a token names a `kid` we do not know. */
const UNKNOWN_KID_COOLDOWN_SECONDS = 10;

/** A key that cannot be used, or a ring that cannot start: the message is one line for the operator. */
export class KeyRingError extends Error {
  override readonly name = 'KeyRingError';

  constructor(
    readonly code: 'wrong_secret' | 'no_secret' | 'malformed' | 'no_active_key',
    message: string,
  ) {
    super(message);
  }
}

/** The ring of the embedded authorization server, with the administrative operation. */
export interface RotatingKeyRing extends KeyRing {
  /** Adds a key that signs after {@link KEY_PROPAGATION_SECONDS}; the keys before it retire once their tokens have expired. */
  rotate(): Promise<SigningKeyRecord>;
}

export interface KeyRingOptions {
  store: { readonly keys: KeyStore };
  /** From `serverSecrets()`: private keys are encrypted at rest with it; undefined stores them in the clear. */
  encryptionKey: Buffer | undefined;
  logger: Logger;
  /** The longest lifetime (seconds) of a token the ring signs: an old key stays published that long after it stops signing. */
  accessTokenTtl: number;
  /** Clock, epoch seconds. */
  now?: () => number;
  /** Default {@link KEY_PROPAGATION_SECONDS}; at least the JWKS max-age plus the reload interval. */
  propagationSeconds?: number;
}

interface LoadedKey {
  readonly record: SigningKeyRecord;
  readonly publicJwk: JWK;
  readonly publicKey: CryptoKey;
  /** Absent when this instance cannot decrypt it (a key added by an instance with another secret). */
  readonly privateKey: CryptoKey | undefined;
}

/**
 * The key that signs at `now`: the newest already activated and not retired (RFC 7517 keys, chosen by
 * `activatesAt`, then `createdAt`). Undefined when none is active.
 *
 * @example
 * const active = signingKey(await ring.records(), nowSeconds());
 */
export function signingKey(records: readonly SigningKeyRecord[], now: number): SigningKeyRecord | undefined {
  let best: SigningKeyRecord | undefined;
  for (const record of records) {
    if (record.activatesAt > now || (record.retiresAt !== undefined && record.retiresAt <= now)) continue;
    if (!best || record.activatesAt > best.activatesAt || (record.activatesAt === best.activatesAt && record.createdAt > best.createdAt)) best = record;
  }
  return best;
}

/**
 * Loads the signing keys from the store, creating the first ES256 key when there is none (atomic:
 * `KeyStore.createIfNone`, so instances starting together agree on one key). Every stored private key is
 * decrypted at start, so a wrong `PORTCULLIS_SECRET` stops start-up with a {@link KeyRingError} instead of
 * failing on the first token request.
 *
 * Keys: ES256 (RFC 7518 §3.4), `kid` = the RFC 7638 SHA-256 thumbprint of the public JWK. `jwks()` never
 * holds a private member: published JWKs are built from `kty`, `crv`, `x`, `y` only.
 *
 * @example
 * const secrets = await serverSecrets({ configured: process.env.PORTCULLIS_SECRET, store, logger });
 * const keys = await createKeyRing({ store, encryptionKey: secrets.encryptionKey, logger, accessTokenTtl: 3600 });
 * const jwt = await keys.sign({ sub: 'ada', … }, { typ: 'at+jwt' });
 */
export async function createKeyRing(options: KeyRingOptions): Promise<RotatingKeyRing> {
  const { store, encryptionKey, logger } = options;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const ttl = options.accessTokenTtl;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new TypeError('accessTokenTtl must be a positive whole number of seconds');
  const propagation = options.propagationSeconds ?? KEY_PROPAGATION_SECONDS;
  if (!Number.isInteger(propagation) || propagation < JWKS_MAX_AGE_SECONDS + KEY_RELOAD_SECONDS) {
    throw new TypeError(`propagationSeconds must be at least ${JWKS_MAX_AGE_SECONDS + KEY_RELOAD_SECONDS} (JWKS max-age + reload interval)`);
  }
  if (encryptionKey !== undefined && encryptionKey.length !== 32) throw new TypeError('encryptionKey must be 32 bytes (AES-256)');

  let loaded = new Map<string, LoadedKey>();
  let loadedAt = -Infinity;
  let unknownKidReloadAt = -Infinity;
  let reloading: Promise<void> | undefined;

  async function load(strict: boolean): Promise<void> {
    const records = await store.keys.list(now());
    const next = new Map<string, LoadedKey>();
    for (const record of records) {
      const known = loaded.get(record.kid);
      next.set(record.kid, known ? { ...known, record } : await importRecord(record, encryptionKey, strict, logger));
    }
    loaded = next;
    loadedAt = now();
  }

  function reload(): Promise<void> {
    reloading ??= load(false).finally(() => (reloading = undefined));
    return reloading;
  }

  async function fresh(): Promise<LoadedKey[]> {
    if (now() - loadedAt >= KEY_RELOAD_SECONDS) await reload();
    const at = now();
    return [...loaded.values()].filter((key) => key.record.retiresAt === undefined || key.record.retiresAt > at);
  }

  // Start-up: the first key signs at once (nothing to propagate: no token exists yet).
  const at = now();
  if ((await store.keys.list(at)).length === 0) {
    const created = await generateRecord(at, at, encryptionKey);
    const held = await store.keys.createIfNone(created, at);
    if (held.some((record) => record.kid === created.kid)) logger.info({ kid: created.kid }, 'created the first signing key (ES256)');
  }
  await load(true);
  if (loaded.size === 0) throw new KeyRingError('no_active_key', 'the store holds no signing key after creating one; the store is not working');

  return {
    async sign(payload, header) {
      const keys = await fresh();
      const record = signingKey(keys.map((key) => key.record), now());
      const key = record && loaded.get(record.kid);
      if (!key) throw new KeyRingError('no_active_key', 'no signing key is active; run `portcullis keys rotate`');
      if (!key.privateKey) throw new KeyRingError('wrong_secret', `signing key ${key.record.kid} cannot be decrypted with this instance's PORTCULLIS_SECRET`);
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.record.kid, typ: header.typ }).sign(key.privateKey);
    },
    async jwks() {
      return { keys: (await fresh()).map((key) => ({ ...key.publicJwk })) };
    },
    async publicKey(kid) {
      let key = (await fresh()).find((k) => k.record.kid === kid);
      // A kid we do not know may be a key another instance just added: look once, at most every 10 s.
      if (!key && now() - unknownKidReloadAt >= UNKNOWN_KID_COOLDOWN_SECONDS) {
        unknownKidReloadAt = now();
        await reload();
        key = (await fresh()).find((k) => k.record.kid === kid);
      }
      return key?.publicKey;
    },
    refresh: reload,
    async records() {
      return (await fresh()).map((key) => key.record);
    },
    async rotate() {
      await reload();
      const current = await fresh();
      const t = now();
      const record = await generateRecord(t, t + propagation, encryptionKey);
      await store.keys.add(record);
      // The keys before it stop signing at its activation; their last tokens expire one lifetime later.
      const retiresAt = record.activatesAt + ttl + RETIRE_MARGIN_SECONDS;
      for (const key of current) if (key.record.retiresAt === undefined) await store.keys.retire(key.record.kid, retiresAt);
      logger.info({ kid: record.kid, activatesAt: record.activatesAt, retiring: current.map((k) => k.record.kid), retiresAt }, 'rotated the signing key');
      await reload();
      return record;
    },
  };
}

async function generateRecord(now: number, activatesAt: number, encryptionKey: Buffer | undefined): Promise<SigningKeyRecord> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  const publicJwk = publicPart(privateJwk);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { kid, alg: 'ES256', publicJwk, privateJwk: sealPrivateJwk(privateJwk, kid, encryptionKey), createdAt: now, activatesAt };
}

/** The public members of an EC JWK (RFC 7518 §6.2.1) and nothing else: `d` cannot slip through. */
function publicPart(jwk: JWK): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

async function importRecord(record: SigningKeyRecord, encryptionKey: Buffer | undefined, strict: boolean, logger: Logger): Promise<LoadedKey> {
  const publicMembers = publicPart(record.publicJwk as JWK);
  if (publicMembers.kty !== 'EC' || publicMembers.crv !== 'P-256' || (await calculateJwkThumbprint(publicMembers, 'sha256')) !== record.kid) {
    throw new KeyRingError('malformed', `signing key ${record.kid}: the stored public key does not match its kid`);
  }
  const publicJwk: JWK = { ...publicMembers, kid: record.kid, alg: 'ES256', use: 'sig' };
  const publicKey = (await importJWK(publicJwk, 'ES256')) as CryptoKey;
  let privateKey: CryptoKey | undefined;
  try {
    const jwk = openPrivateJwk(record.privateJwk, record.kid, encryptionKey);
    if (jwk.x !== publicMembers.x || jwk.y !== publicMembers.y) throw new PrivateJwkError('malformed', `signing key ${record.kid}: the private key does not match the public key`);
    privateKey = (await importJWK({ ...jwk, alg: 'ES256' }, 'ES256')) as CryptoKey;
  } catch (error) {
    if (!(error instanceof PrivateJwkError)) throw error;
    // At start-up a key we cannot open stops us; later (a key another instance added) it is published but not used to sign.
    if (strict) throw new KeyRingError(error.code, error.message);
    logger.error({ kid: record.kid, code: error.code }, error.message);
  }
  if (encryptionKey && record.privateJwk.startsWith('plain:')) {
    logger.warn({ kid: record.kid }, `signing key ${record.kid} is stored unencrypted (created before PORTCULLIS_SECRET was set); run \`portcullis keys rotate\` to replace it`);
  }
  return { record, publicJwk, publicKey, privateKey };
}

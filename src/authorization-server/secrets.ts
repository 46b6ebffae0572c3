import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from '../core/log.js';
import type { KeyStore } from '../stores/auth-types.js';

/**
 * Random tokens, token hashes, constant-time comparison and the server keys derived from
 * `PORTCULLIS_SECRET`. Everything secret the authorization server makes or compares goes through here.
 */

/** The shortest `PORTCULLIS_SECRET` accepted (characters). 32 random characters carry well over 128 bits. */
export const MIN_SERVER_SECRET_LENGTH = 32;

/** HKDF `info` labels (RFC 5869 §3.2): one per use, so a key derived for one purpose is useless for another. */
const INFO = {
  successor: 'portcullis/v1/refresh-token-successor',
  encryption: 'portcullis/v1/private-jwk-encryption',
} as const;

/** A fixed application salt (RFC 5869 §3.1 allows a non-secret constant; it separates us from other HKDF users of the secret). */
const SALT = 'portcullis';

/**
 * A fresh random token: `bytes` (default 32, i.e. 256 bits) from the CSPRNG, base64url without padding.
 * Used for authorization codes, refresh tokens, client secrets and ids, `jti`s.
 *
 * @example
 * const code = randomToken(); // 'q3Xk…' (43 characters)
 */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * SHA-256 of a token, base64url: how codes and refresh tokens are stored (never the token itself). A
 * 256-bit random token needs no salt or slow hash: it cannot be guessed, only looked up.
 *
 * @example
 * await store.codes.put({ hash: hashToken(code), … });
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/**
 * Compares two secrets in constant time. Both sides are hashed first, so the comparison takes the same
 * time whatever their lengths and wherever they differ (`timingSafeEqual` needs equal lengths and would
 * otherwise leak the length).
 *
 * @example
 * if (!safeEqual(presented, expected)) throw new OAuthError('invalid_client', 401, 'Client authentication failed');
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

const CLIENT_SECRET_PREFIX = 'sha256$';

/**
 * The stored form of a client secret: `sha256$<base64url digest>`. Client secrets are 256-bit random
 * values we generate, so a fast hash cannot be brute-forced, and unlike scrypt it does not let anyone tie
 * up the thread pool by sending wrong secrets to the token endpoint (scrypt stays for user passwords,
 * which people choose).
 *
 * @example
 * const secret = randomToken();
 * await store.clients.create({ …, secretHash: hashClientSecret(secret) });
 */
export function hashClientSecret(secret: string): string {
  return `${CLIENT_SECRET_PREFIX}${hashToken(secret)}`;
}

/** Whether `secret` matches a stored {@link hashClientSecret} value, in constant time; any other format never matches. */
export function verifyClientSecret(secret: string, stored: string): boolean {
  const matches = safeEqual(hashToken(secret), stored.startsWith(CLIENT_SECRET_PREFIX) ? stored.slice(CLIENT_SECRET_PREFIX.length) : '');
  return matches && stored.startsWith(CLIENT_SECRET_PREFIX);
}

/**
 * Derives a 32-byte key from a secret with HKDF-SHA256 (RFC 5869). Distinct `info` labels give
 * independent keys from one secret.
 *
 * @example
 * const key = deriveKey(process.env.PORTCULLIS_SECRET!, 'portcullis/v1/private-jwk-encryption');
 */
export function deriveKey(secret: string | Buffer, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, SALT, info, length));
}

/**
 * Checks a configured `PORTCULLIS_SECRET`: the problem as one line, or undefined when it is acceptable.
 *
 * @example
 * const problem = checkServerSecret(process.env.PORTCULLIS_SECRET);
 * if (problem) { console.error(problem); process.exit(2); }
 */
export function checkServerSecret(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length < MIN_SERVER_SECRET_LENGTH) {
    return `PORTCULLIS_SECRET must be at least ${MIN_SERVER_SECRET_LENGTH} characters (it has ${value.length}); generate one with: openssl rand -base64 32`;
  }
  return undefined;
}

/** The server keys: the refresh-token successor MAC and, when `PORTCULLIS_SECRET` is set, the key that encrypts private JWKs. */
export interface ServerSecrets {
  /** `HMAC-SHA256(serverKey, refreshToken)`, base64url: a rotated refresh token's successor (see docs/authorization-server.md). */
  successorOf(token: string): string;
  /** AES-256 key for private JWKs at rest; undefined without `PORTCULLIS_SECRET` (keys are then stored in the clear). */
  readonly encryptionKey: Buffer | undefined;
  /** Where the keys came from. */
  readonly source: 'configured' | 'store';
}

export interface ServerSecretsOptions {
  /** `PORTCULLIS_SECRET`; empty or absent means "not configured". */
  configured?: string | undefined;
  store: { readonly keys: Pick<KeyStore, 'serverSecret'> };
  logger: Logger;
}

/**
 * Builds the server keys once at start-up.
 *
 * - With `PORTCULLIS_SECRET` (at least 32 characters, else a `TypeError` naming the problem): the successor
 *   MAC key and the encryption key are both derived from it with HKDF under distinct labels.
 * - Without it: the MAC key is derived from a random secret kept in the store (`KeyStore.serverSecret`,
 *   atomic, so every instance sharing the store agrees), there is no encryption key, and a warning says
 *   that private signing keys are stored unencrypted.
 *
 * @example
 * const secrets = await serverSecrets({ configured: process.env.PORTCULLIS_SECRET, store, logger });
 * const successor = secrets.successorOf(presentedRefreshToken);
 */
export async function serverSecrets(options: ServerSecretsOptions): Promise<ServerSecrets> {
  const { configured, store, logger } = options;
  const problem = checkServerSecret(configured);
  if (problem) throw new TypeError(problem);

  if (configured) {
    return build(deriveKey(configured, INFO.successor), deriveKey(configured, INFO.encryption), 'configured');
  }
  const stored = Buffer.from(await store.keys.serverSecret(randomToken()), 'base64url');
  if (stored.length < 32) throw new Error('the server secret kept in the store is shorter than 32 bytes; the store is damaged');
  logger.warn(
    'PORTCULLIS_SECRET is not set: private signing keys are stored UNENCRYPTED in the store. ' +
      `Set PORTCULLIS_SECRET (at least ${MIN_SERVER_SECRET_LENGTH} characters, e.g. openssl rand -base64 32) to encrypt them at rest.`,
  );
  return build(deriveKey(stored, INFO.successor), undefined, 'store');
}

function build(macKey: Buffer, encryptionKey: Buffer | undefined, source: ServerSecrets['source']): ServerSecrets {
  return Object.freeze({
    successorOf: (token: string) => createHmac('sha256', macKey).update(token, 'utf8').digest('base64url'),
    encryptionKey,
    source,
  });
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AuthorizationServerContext } from '../context.js';
import { deriveKey } from '../secrets.js';

/**
 * Sealed values for the browser: the login-session cookie and the authorization request carried by the
 * login and consent forms. AES-256-GCM (authenticated encryption), so the browser can neither read nor
 * change what it carries back; every value has a purpose (bound as additional authenticated data, so a
 * value sealed for one purpose is refused for another) and an expiry inside the ciphertext.
 *
 * Wire format: `v1.` + base64url(iv[12] ‖ ciphertext ‖ tag[16]).
 */

/** What a sealed value is for; part of the authenticated data. `upstream-login`: federated login's pending authorization. */
export type SealPurpose = 'session' | 'transaction' | 'upstream-login';

const VERSION = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** The HMAC label the key is derived from. It contains `/`, which no base64url refresh token does. */
const KEY_LABEL = 'portcullis/v1/browser-seal';

/** Seals and opens values with a key only the server holds. */
export interface Sealer {
  /** Seals `data` until `expiresAt` (epoch seconds). */
  seal(purpose: SealPurpose, data: Record<string, unknown>, expiresAt: number): string;
  /** The data, or undefined when the value is malformed, tampered with, sealed for another purpose or expired at `now`. */
  open(purpose: SealPurpose, sealed: string, now: number): Record<string, unknown> | undefined;
}

const sealers = new WeakMap<AuthorizationServerContext, Sealer>();

/**
 * The sealer of a context (made once per context).
 *
 * The key is derived from the server key every instance sharing the store agrees on (`PORTCULLIS_SECRET`,
 * or the secret kept in the store): the context exposes that key only through `successorOf`, an
 * HMAC-SHA256 under it, so the key is HKDF(HMAC(serverKey, {@link KEY_LABEL})) — a PRF output under the
 * server key at a label no refresh token can equal (tokens are base64url, the label has `/`).
 */
export function sealerFor(ctx: AuthorizationServerContext): Sealer {
  let sealer = sealers.get(ctx);
  if (!sealer) {
    sealer = createSealer(deriveKey(ctx.successorOf(KEY_LABEL), 'portcullis/v1/browser-seal-aes256gcm'));
    sealers.set(ctx, sealer);
  }
  return sealer;
}

/** A sealer over a 32-byte AES key. */
export function createSealer(key: Buffer): Sealer {
  if (key.length !== 32) throw new TypeError('the sealing key must be 32 bytes');
  return {
    seal(purpose, data, expiresAt) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(purpose, 'utf8'));
      const plaintext = Buffer.from(JSON.stringify({ ...data, exp: expiresAt }), 'utf8');
      const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return VERSION + sealed.toString('base64url');
    },
    open(purpose, value, now) {
      if (!value.startsWith(VERSION)) return undefined;
      const bytes = Buffer.from(value.slice(VERSION.length), 'base64url');
      if (bytes.length < IV_BYTES + TAG_BYTES + 2) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(purpose, 'utf8'));
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const plaintext = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
        const data: unknown = JSON.parse(plaintext.toString('utf8'));
        if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
        const record = data as Record<string, unknown>;
        return typeof record.exp === 'number' && record.exp > now ? record : undefined;
      } catch {
        return undefined; // wrong key, tampered, truncated: all the same to the caller
      }
    },
  };
}

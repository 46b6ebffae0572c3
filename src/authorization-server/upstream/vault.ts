import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKey } from '../secrets.js';

/**
 * How the upstream tokens of federated login are kept at rest (`UpstreamGrantRecord.sealedTokens`):
 * `aes256gcm:<iv>.<ciphertext>.<tag>` (base64url each), AES-256-GCM (NIST SP 800-38D) with a fresh 96-bit IV
 * per write and the record's owner (`userId`, `clientId`) as additional authenticated data, so an envelope
 * moved onto another user's or client's record does not open. The plaintext is JSON; today it holds the
 * upstream refresh token only (the upstream access token is not needed, so it is not kept).
 */

/** What an envelope holds. */
export interface UpstreamTokens {
  /** The upstream refresh token; absent when the upstream issued none. */
  readonly refreshToken?: string;
}

/** Seals and opens upstream tokens for one (user, client). */
export interface UpstreamVault {
  seal(owner: VaultOwner, tokens: UpstreamTokens): string;
  /** The tokens, or undefined when the envelope does not open (another key, altered, moved to another record). */
  open(owner: VaultOwner, sealed: string): UpstreamTokens | undefined;
}

export interface VaultOwner {
  readonly userId: string;
  readonly clientId: string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'aes256gcm:';
/** The HMAC label the vault key is derived from (see {@link vaultFor}); `/` keeps it apart from every refresh token. */
const KEY_LABEL = 'portcullis/v1/upstream-tokens';

/**
 * The vault of a server: its key is HKDF-SHA256 (RFC 5869, info `portcullis/v1/upstream-tokens-aes256gcm`)
 * of `successorOf(KEY_LABEL)`, an HMAC under the server key (from `PORTCULLIS_SECRET`, or the secret kept in
 * the store without it), exactly as the browser sealer derives its own (authorize/seal.ts): every instance
 * sharing the store agrees on it, and no other use of the server key yields it.
 *
 * @example
 * const vault = vaultFor(ctx.successorOf);
 * const sealedTokens = vault.seal({ userId, clientId }, { refreshToken });
 */
export function vaultFor(successorOf: (label: string) => string): UpstreamVault {
  return createVault(deriveKey(successorOf(KEY_LABEL), 'portcullis/v1/upstream-tokens-aes256gcm'));
}

/** A vault over a 32-byte AES key. */
export function createVault(key: Buffer): UpstreamVault {
  if (key.length !== 32) throw new TypeError('the vault key must be 32 bytes');
  const aad = (owner: VaultOwner) => Buffer.from(JSON.stringify([owner.userId, owner.clientId]), 'utf8');
  return {
    seal(owner, tokens) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(owner));
      const ciphertext = Buffer.concat([cipher.update(JSON.stringify(tokens), 'utf8'), cipher.final()]);
      return PREFIX + [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url')).join('.');
    },
    open(owner, sealed) {
      if (!sealed.startsWith(PREFIX)) return undefined;
      const parts = sealed.slice(PREFIX.length).split('.').map((part) => Buffer.from(part, 'base64url'));
      if (parts.length !== 3 || parts[0]!.length !== IV_BYTES || parts[2]!.length !== TAG_BYTES) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, parts[0]!, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(owner));
        decipher.setAuthTag(parts[2]!);
        const value: unknown = JSON.parse(Buffer.concat([decipher.update(parts[1]!), decipher.final()]).toString('utf8'));
        if (typeof value !== 'object' || value === null) return undefined;
        const refreshToken = (value as { refreshToken?: unknown }).refreshToken;
        if (refreshToken !== undefined && typeof refreshToken !== 'string') return undefined;
        return refreshToken === undefined ? {} : { refreshToken };
      } catch {
        return undefined; // wrong key, altered, truncated: all the same to the caller
      }
    },
  };
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';

/**
 * How a private signing JWK is kept at rest (`SigningKeyRecord.privateJwk`):
 *
 * - `aes256gcm:<iv>.<ciphertext>.<tag>` (base64url each) when a server secret is configured: AES-256-GCM
 *   (NIST SP 800-38D) with a fresh 96-bit IV per key and the key's `kid` as additional authenticated data,
 *   so a ciphertext moved onto another key's record fails to decrypt instead of signing under a wrong kid;
 * - `plain:<JWK JSON>` without one (start-up warns about it).
 */

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Why a stored private key could not be read; the message is for the operator and names no key material. */
export class PrivateJwkError extends Error {
  override readonly name = 'PrivateJwkError';

  constructor(
    readonly code: 'wrong_secret' | 'no_secret' | 'malformed',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Seals a private JWK for storage.
 *
 * @example
 * const privateJwk = sealPrivateJwk(jwk, kid, secrets.encryptionKey); // 'aes256gcm:…' or 'plain:{…}'
 */
export function sealPrivateJwk(jwk: JWK, kid: string, key: Buffer | undefined): string {
  const json = JSON.stringify(jwk);
  if (!key) return `plain:${json}`;
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
  return `aes256gcm:${[iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString('base64url')).join('.')}`;
}

/**
 * Opens a stored private JWK. Throws {@link PrivateJwkError}: `wrong_secret` when the GCM tag does not
 * verify (another secret, or an altered record), `no_secret` when the key is encrypted and no secret is
 * configured, `malformed` for anything else.
 *
 * @example
 * const jwk = openPrivateJwk(record.privateJwk, record.kid, secrets.encryptionKey);
 */
export function openPrivateJwk(sealed: string, kid: string, key: Buffer | undefined): JWK {
  if (sealed.startsWith('plain:')) return parseJwk(sealed.slice('plain:'.length), kid);
  if (!sealed.startsWith('aes256gcm:')) throw new PrivateJwkError('malformed', `signing key ${kid}: the stored private key has an unknown format`);
  if (!key) {
    throw new PrivateJwkError('no_secret', `signing key ${kid} is encrypted at rest but PORTCULLIS_SECRET is not set; set it to the secret the key was encrypted with`);
  }
  const parts = sealed.slice('aes256gcm:'.length).split('.');
  if (parts.length !== 3) throw new PrivateJwkError('malformed', `signing key ${kid}: the stored private key is malformed`);
  const [iv, ciphertext, tag] = parts.map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer];
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new PrivateJwkError('malformed', `signing key ${kid}: the stored private key is malformed`);
  let json: string;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(kid, 'utf8'));
    decipher.setAuthTag(tag);
    json = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new PrivateJwkError(
      'wrong_secret',
      `cannot decrypt signing key ${kid}: PORTCULLIS_SECRET is not the secret it was encrypted with (or the stored key was altered); start with the original secret`,
    );
  }
  return parseJwk(json, kid);
}

function parseJwk(json: string, kid: string): JWK {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new PrivateJwkError('malformed', `signing key ${kid}: the stored private key is not JSON`);
  }
  if (typeof value !== 'object' || value === null || typeof (value as JWK).d !== 'string') {
    throw new PrivateJwkError('malformed', `signing key ${kid}: the stored private key is not a private JWK`);
  }
  return value as JWK;
}

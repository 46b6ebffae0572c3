import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (RFC 7914), for user passwords and client secrets.
 *
 * Stored format: `scrypt$N$r$p$salt$hash` — N, r, p in decimal, salt (16 bytes) and hash (32 bytes) in
 * base64url. The parameters travel with the hash, so raising {@link SCRYPT_PARAMS} later leaves old hashes
 * verifiable (and {@link needsRehash} tells when to upgrade one at the next login).
 *
 * Parameters: N = 2^15, r = 8, p = 1 (32 MiB of memory per hash). Measured on the 2-core build machine
 * with node:crypto: 95–125 ms per hash (N = 2^14: ~45 ms; 2^16: ~245 ms; 2^17: ~470 ms), up to 300 ms
 * while parallel test suites competed for the cores. Percival's 2009 guidance for interactive logins was
 * N = 2^14 (r = 8, p = 1, as RFC 7914 §2 describes them); OWASP's current advice is work equivalent to
 * N = 2^17, four times this, which took ~0.5 s per login here: too slow for a login form served from two
 * cores. The parameters travel in each hash: raise them on faster hardware.
 */

/** The scrypt parameters of new hashes. */
export const SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Longest password accepted (UTF-8 bytes): bounds the work a request can ask for. */
export const MAX_PASSWORD_BYTES = 1024;
/**
 * Bounds on parameters read from a stored hash: a hash outside them is refused rather than run, so a
 * tampered record cannot make a login allocate gigabytes or spin for minutes.
 */
const LIMITS = { maxN: 2 ** 20, maxR: 32, maxP: 16 } as const;

function scrypt(password: string, salt: Buffer, length: number, params: ScryptParams): Promise<Buffer> {
  // maxmem: scrypt needs 128·N·r bytes; Node's default cap (32 MiB) is exactly that at N = 2^15, r = 8.
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) => scryptCallback(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** NFKC, as NIST SP 800-63B §5.1.1.2 advises, so the same password typed on another keyboard still matches. */
function normalise(password: string): string {
  return password.normalize('NFKC');
}

/**
 * Hashes a password (or a client secret) with fresh salt.
 *
 * @example
 * const passwordHash = await hashPassword('correct horse battery staple');
 * // 'scrypt$32768$8$1$Jc1…$9xQ…'
 * @throws TypeError for an empty password or one longer than {@link MAX_PASSWORD_BYTES}.
 */
export async function hashPassword(password: string, params: ScryptParams = SCRYPT_PARAMS): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw new TypeError('the password must not be empty');
  const normalised = normalise(password);
  if (Buffer.byteLength(normalised, 'utf8') > MAX_PASSWORD_BYTES) throw new TypeError(`the password must be at most ${MAX_PASSWORD_BYTES} bytes`);
  if (!validParams(params)) throw new TypeError('scrypt parameters out of range');
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(normalised, salt, HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/**
 * Checks a password against a stored hash, comparing in constant time. A hash in an unknown or
 * malformed format, or with parameters out of bounds, never matches (false, no throw).
 *
 * @example
 * if (!(await verifyPassword(form.password, user.passwordHash))) return loginFailed();
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed || typeof password !== 'string') return false;
  const normalised = normalise(password);
  // Still spend the time for an over-long password, so length cannot be told apart by timing.
  const tooLong = Buffer.byteLength(normalised, 'utf8') > MAX_PASSWORD_BYTES;
  const derived = await scrypt(tooLong ? '' : normalised, parsed.salt, parsed.hash.length, parsed.params);
  return timingSafeEqual(derived, parsed.hash) && !tooLong;
}

/**
 * Whether a stored hash was made with weaker parameters than {@link SCRYPT_PARAMS} (re-hash it after a
 * successful login).
 *
 * @example
 * if (needsRehash(user.passwordHash)) await store.users.update(user.username, { passwordHash: await hashPassword(password) });
 */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.params.N < SCRYPT_PARAMS.N || parsed.params.r < SCRYPT_PARAMS.r || parsed.params.p < SCRYPT_PARAMS.p;
}

interface Parsed {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

const DECIMAL = /^[1-9][0-9]{0,9}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

function parse(stored: unknown): Parsed | undefined {
  if (typeof stored !== 'string') return undefined;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (!DECIMAL.test(n) || !DECIMAL.test(r) || !DECIMAL.test(p) || !B64URL.test(salt) || !B64URL.test(hash)) return undefined;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!validParams(params)) return undefined;
  const saltBytes = Buffer.from(salt, 'base64url');
  const hashBytes = Buffer.from(hash, 'base64url');
  if (saltBytes.length < 8 || hashBytes.length < 16 || hashBytes.length > 64) return undefined;
  return { params, salt: saltBytes, hash: hashBytes };
}

function validParams({ N, r, p }: ScryptParams): boolean {
  const powerOfTwo = Number.isInteger(N) && N >= 2 && (N & (N - 1)) === 0;
  return powerOfTwo && N <= LIMITS.maxN && Number.isInteger(r) && r >= 1 && r <= LIMITS.maxR && Number.isInteger(p) && p >= 1 && p <= LIMITS.maxP;
}

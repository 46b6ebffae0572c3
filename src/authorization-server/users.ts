import type { Logger } from '../core/log.js';
import type { AuthorizationStores, UserRecord } from '../stores/auth-types.js';
import { StoreError } from '../stores/errors.js';
import { hashPassword, MAX_PASSWORD_BYTES, verifyPassword } from './passwords.js';
import { hashToken, randomToken } from './secrets.js';

/** The first user of an empty store. */
export const ADMIN_USERNAME = 'admin';
/** The scope of the OAuth management tools (ARCHITECTURE §5); only users holding it can grant it. */
export const ADMIN_SCOPE = 'mcp:admin';
/** Shortest password accepted when one is set by hand (`users add`, `PORTCULLIS_ADMIN_PASSWORD`). */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Login throttling, fixed windows of {@link LOGIN_WINDOW_SECONDS} in the rate-limit store. Every attempt
 * counts; a success clears the counters of that username. Past a limit, attempts are refused for the
 * rest of the window without checking the password (so a guessing run costs us no scrypt time):
 *
 * - per username and address: 5 attempts since the last success — one attacker stops guessing one account;
 * - per username from anywhere: 20 — a distributed guess stops, while the owner elsewhere gets 4× as long
 *   before the lock-out an attacker can impose on them (lock-out lasts at most one window);
 * - per address: 50 attempts, never cleared by a success — spraying many usernames from one address stops
 *   (a success does not clear it, or an attacker holding one account could reset it at will).
 *
 * Usernames enter the keys hashed: a password typed into the username field is not kept in clear.
 */
export const LOGIN_WINDOW_SECONDS = 15 * 60;
export const LOGIN_LIMITS: Readonly<LoginLimits> = Object.freeze({ perUserAndAddress: 5, perUser: 20, perAddress: 50 });

/** Attempts allowed per {@link LOGIN_WINDOW_SECONDS}, see {@link LOGIN_LIMITS}. */
export interface LoginLimits {
  perUserAndAddress: number;
  perUser: number;
  perAddress: number;
}

/** The subject (`sub`) of a user's tokens: the stable record id, never reused, unlike a username. */
export function userSubject(user: Pick<UserRecord, 'id'>): string {
  return user.id;
}

/** A username's problem as one line, or undefined when it is acceptable (1..64 of `[A-Za-z0-9._@-]`). */
export function checkUsername(username: string): string | undefined {
  return /^[A-Za-z0-9._@-]{1,64}$/.test(username) ? undefined : 'a username is 1 to 64 characters of letters, digits and . _ @ -';
}

/** A chosen password's problem as one line, or undefined when it is acceptable. */
export function checkPassword(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `a password needs at least ${MIN_PASSWORD_LENGTH} characters`;
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return `a password may have at most ${MAX_PASSWORD_BYTES} bytes`;
  return undefined;
}

/** A random password for people to copy: 18 random bytes, 24 base64url characters. */
export function generatePassword(): string {
  return randomToken(18);
}

export interface BootstrapOptions {
  store: Pick<AuthorizationStores, 'users'>;
  logger: Logger;
  /** The resource's scopes; the admin gets these plus {@link ADMIN_SCOPE}. */
  scopes: readonly string[];
  /** `PORTCULLIS_ADMIN_PASSWORD`; random when absent. */
  password?: string | undefined;
}

export type BootstrapResult =
  | { readonly created: false }
  /** `password` is for the start-up banner, printed once; it is never logged. */
  | { readonly created: true; readonly username: string; readonly password: string; readonly generated: boolean };

/**
 * Creates the user `admin` on an empty user store, with the resource's scopes and `mcp:admin`, and the
 * given password or a random one. Does nothing once any user exists (also when another instance
 * created the admin a moment earlier).
 *
 * @example
 * const admin = await bootstrapAdmin({ store, logger, scopes, password: process.env.PORTCULLIS_ADMIN_PASSWORD });
 * if (admin.created && admin.generated) console.error(`login: admin / ${admin.password}`);
 * @throws TypeError when the given password is too short.
 */
export async function bootstrapAdmin(options: BootstrapOptions): Promise<BootstrapResult> {
  const { store, logger } = options;
  const given = options.password === '' ? undefined : options.password;
  const problem = given === undefined ? undefined : checkPassword(given);
  if (problem) throw new TypeError(`PORTCULLIS_ADMIN_PASSWORD: ${problem}`);
  if ((await store.users.count()) > 0) return { created: false };
  const password = given ?? generatePassword();
  const scopes = [...new Set([...options.scopes, ADMIN_SCOPE])].sort();
  try {
    await store.users.create({ username: ADMIN_USERNAME, passwordHash: await hashPassword(password), scopes });
  } catch (error) {
    if (error instanceof StoreError && error.code === 'conflict') return { created: false };
    throw error;
  }
  logger.info({ username: ADMIN_USERNAME, scopes, passwordFrom: given === undefined ? 'generated' : 'PORTCULLIS_ADMIN_PASSWORD' }, 'created the first user');
  return { created: true, username: ADMIN_USERNAME, password, generated: given === undefined };
}

export type LoginResult =
  | { readonly ok: true; readonly user: UserRecord }
  /** Unknown user or wrong password: one answer for both. */
  | { readonly ok: false; readonly reason: 'invalid_credentials' }
  /** Too many attempts: refuse without checking, "try again in `retryAfter` seconds". */
  | { readonly ok: false; readonly reason: 'throttled'; readonly retryAfter: number };

export interface LoginContext {
  /** The client's address (the socket's, or the proxy's forwarded one when configured). */
  address: string;
  /** Epoch seconds. */
  now: number;
  logger?: Logger;
  /** Default {@link LOGIN_LIMITS}. */
  limits?: Partial<LoginLimits>;
}

/** Spent on unknown users so that they take as long as known ones (made once, lazily, with the current parameters). */
let decoyHash: Promise<string> | undefined;

/**
 * Checks a login. Unknown usernames cost the same scrypt time as known ones, so which names exist cannot be
 * learned by timing, and both fail the same way. Attempts are throttled as {@link LOGIN_LIMITS} says.
 *
 * @example
 * const result = await authenticateUser(store, form.username, form.password, { address: req.socket.remoteAddress!, now: ctx.now() });
 * if (!result.ok && result.reason === 'throttled') return page('Too many attempts; try again later', 429);
 */
export async function authenticateUser(
  store: Pick<AuthorizationStores, 'users' | 'rateLimits'>,
  username: string,
  password: string,
  context: LoginContext,
): Promise<LoginResult> {
  const { address, now, logger } = context;
  const limits = { ...LOGIN_LIMITS, ...context.limits };
  const user = hashToken(username);
  const keys = {
    userAndAddress: `login:ua:${user}:${address}`,
    user: `login:u:${user}`,
    address: `login:a:${address}`,
  };
  const [perUserAndAddress, perUser, perAddress] = await Promise.all([
    store.rateLimits.hit(keys.userAndAddress, LOGIN_WINDOW_SECONDS, now),
    store.rateLimits.hit(keys.user, LOGIN_WINDOW_SECONDS, now),
    store.rateLimits.hit(keys.address, LOGIN_WINDOW_SECONDS, now),
  ]);
  if (perUserAndAddress > limits.perUserAndAddress || perUser > limits.perUser || perAddress > limits.perAddress) {
    const retryAfter = LOGIN_WINDOW_SECONDS - (now % LOGIN_WINDOW_SECONDS);
    logger?.warn({ address, perUserAndAddress, perUser, perAddress, retryAfter }, 'login throttled');
    return { ok: false, reason: 'throttled', retryAfter };
  }

  // The decoy is awaited on every path, so the first login after start costs the same for known and unknown names.
  const fallback = await decoy();
  const record = checkUsername(username) === undefined ? await store.users.getByUsername(username) : undefined;
  const matches = await verifyPassword(password, record?.passwordHash ?? fallback);
  if (!record || !matches) {
    logger?.info({ address, known: record !== undefined }, 'login failed');
    return { ok: false, reason: 'invalid_credentials' };
  }
  await Promise.all([store.rateLimits.reset(keys.userAndAddress), store.rateLimits.reset(keys.user)]);
  return { ok: true, user: record };
}

function decoy(): Promise<string> {
  decoyHash ??= hashPassword(randomToken());
  return decoyHash;
}

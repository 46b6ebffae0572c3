import type { AuthorizationStores, UserRecord } from '../../stores/auth-types.js';
import { StoreError } from '../../stores/errors.js';
import { hashToken } from '../secrets.js';

/**
 * Who an upstream login is here. The local user is derived deterministically from (upstream issuer,
 * upstream `sub`) — the pair OIDC Core §2 makes unique and stable — never from `email` or
 * `preferred_username`, which the upstream may reassign:
 *
 * - `username`: the `sub` made safe for usernames (characters outside `[A-Za-z0-9._-]` become `_`, at most
 *   41 of them, for people reading `users list`), `.`, then 22 characters of base64url SHA-256 of
 *   `issuer \n sub` (132 bits: what makes it unique, and ties it to the issuer);
 * - `passwordHash`: `upstream$` + the whole SHA-256, base64url. It is no scrypt hash, so password login is
 *   impossible for this user, and it marks the record as belonging to exactly this upstream identity: a
 *   local user who happens to hold the username (created by `users add`) is refused, never taken over;
 * - `scopes`: `--upstream-user-scopes` when the record is created; later logins leave them alone.
 *
 * Our tokens' `sub` is the record's `id`, as for every user.
 */

const MARKER_PREFIX = 'upstream$';
/** Subject characters kept in the username; the rest become `_`. */
const UNSAFE = /[^A-Za-z0-9._-]/g;
const READABLE_LENGTH = 41;
const UNIQUE_LENGTH = 22;

/** SHA-256 of the identity, base64url (43 characters). */
function fingerprint(issuer: string, subject: string): string {
  return hashToken(`${issuer}\n${subject}`);
}

/**
 * The local username of an upstream identity (at most 64 characters of `[A-Za-z0-9._-]`).
 *
 * @example
 * upstreamUsername('https://idp.example.com', '00u1ab2cd3'); // '00u1ab2cd3.Kx9…' (the suffix is 22 characters)
 */
export function upstreamUsername(issuer: string, subject: string): string {
  const readable = subject.replace(UNSAFE, '_').slice(0, READABLE_LENGTH) || '_';
  return `${readable}.${fingerprint(issuer, subject).slice(0, UNIQUE_LENGTH)}`;
}

/** The `passwordHash` that marks a user as this upstream identity (and makes password login impossible). */
export function upstreamMarker(issuer: string, subject: string): string {
  return MARKER_PREFIX + fingerprint(issuer, subject);
}

/** Whether a user record belongs to an upstream identity (of any issuer). */
export function isUpstreamUser(user: Pick<UserRecord, 'passwordHash'>): boolean {
  return user.passwordHash.startsWith(MARKER_PREFIX);
}

export type UpstreamUserResult =
  | { readonly ok: true; readonly user: UserRecord; readonly created: boolean }
  /** The username is held by a local user (or another identity): nobody signs in as them through the upstream. */
  | { readonly ok: false; readonly username: string };

/**
 * The local user of an upstream identity, created on its first login with `scopes`. Two first logins at
 * once create it once (the second finds the first's record after the username conflict).
 *
 * @example
 * const result = await upstreamUser(ctx.stores, { issuer, subject: claims.sub, scopes: ['incidents:read'] });
 * if (!result.ok) throw new PageError(409, …);
 */
export async function upstreamUser(stores: Pick<AuthorizationStores, 'users'>, identity: { issuer: string; subject: string; scopes: readonly string[] }): Promise<UpstreamUserResult> {
  const username = upstreamUsername(identity.issuer, identity.subject);
  const marker = upstreamMarker(identity.issuer, identity.subject);
  const mine = (user: UserRecord | undefined): UpstreamUserResult | undefined => {
    if (!user) return undefined;
    return user.passwordHash === marker ? { ok: true, user, created: false } : { ok: false, username };
  };
  const found = mine(await stores.users.getByUsername(username));
  if (found) return found;
  try {
    return { ok: true, user: await stores.users.create({ username, passwordHash: marker, scopes: identity.scopes }), created: true };
  } catch (error) {
    if (!(error instanceof StoreError) || error.code !== 'conflict') throw error;
    return mine(await stores.users.getByUsername(username)) ?? { ok: false, username };
  }
}

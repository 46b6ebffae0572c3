import type { IncomingMessage } from 'node:http';
import { cookieValues } from '../../core/http.js';
import type { UserRecord } from '../../stores/auth-types.js';
import type { AuthorizationServerContext } from '../context.js';
import { hashToken, randomToken, safeEqual } from '../secrets.js';
import { sealerFor } from './seal.js';

/**
 * The browser session of the authorization endpoint: one sealed cookie (see seal.ts), no server-side
 * record. It exists before login (to carry the CSRF token of the login form) and after it (who signed in,
 * when). Login replaces it with a new one: new id, new CSRF token (no session fixation).
 *
 * Cookie: `__Host-portcullis-session` with `Secure` when the public URL is https (the prefix guarantees
 * `Path=/`, no `Domain`, so no sibling host can plant or shadow it), else `portcullis-session`; always
 * `HttpOnly` and `SameSite=Lax` (not sent on cross-site POSTs: a second CSRF defence).
 */

/** How long a session lasts: absolute from its creation (login included), never extended. */
export const SESSION_TTL_SECONDS = 15 * 60;

export interface BrowserSession {
  /** Random id; the authorization request sealed into a form is bound to it. */
  readonly sid: string;
  /** The CSRF token every form of this session carries (compared in constant time). */
  readonly csrf: string;
  /** The signed-in user's id; absent before login. */
  readonly userId?: string;
  /** When the user signed in (epoch seconds). */
  readonly authTime?: number;
  /** A fingerprint of the user's password hash at login: a password change (new salt) ends the session. */
  readonly credential?: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** The session cookie's name for this server. */
export function sessionCookieName(ctx: AuthorizationServerContext): string {
  return ctx.secureCookies ? '__Host-portcullis-session' : 'portcullis-session';
}

/** A new session (anonymous, or signed in as `user`), valid for {@link SESSION_TTL_SECONDS}. */
export function newSession(ctx: AuthorizationServerContext, user?: UserRecord): BrowserSession {
  const now = ctx.now();
  const signedIn = user === undefined ? {} : { userId: user.id, authTime: now, credential: credentialOf(user) };
  return { sid: randomToken(), csrf: randomToken(), expiresAt: now + SESSION_TTL_SECONDS, ...signedIn };
}

/** The fingerprint of a user's current password hash (not reversible, and sealed in the cookie anyway). */
export function credentialOf(user: Pick<UserRecord, 'passwordHash'>): string {
  return hashToken(user.passwordHash).slice(0, 22);
}

/**
 * The request's session, or undefined when it has none that opens (absent, expired, tampered with, sealed
 * by another server). Several cookies of our name (one planted on a parent path) are tried in turn.
 */
export function readSession(ctx: AuthorizationServerContext, req: IncomingMessage): BrowserSession | undefined {
  const name = sessionCookieName(ctx);
  const sealer = sealerFor(ctx);
  const now = ctx.now();
  for (const value of cookieValues(req.headers.cookie, name)) {
    const data = sealer.open('session', value, now);
    if (!data || typeof data.sid !== 'string' || typeof data.csrf !== 'string' || typeof data.exp !== 'number') continue;
    const signedIn = typeof data.uid === 'string' && typeof data.at === 'number' && typeof data.cr === 'string';
    return {
      sid: data.sid,
      csrf: data.csrf,
      expiresAt: data.exp,
      ...(signedIn ? { userId: data.uid as string, authTime: data.at as number, credential: data.cr as string } : {}),
    };
  }
  return undefined;
}

/**
 * The cookies of a redirect to the client. Cookies do not isolate ports (RFC 6265 §8.5): when the
 * client's redirect URI is on this server's host (a loopback client beside a loopback server, the default
 * quick start), the browser would hand it our session cookie along with the code, and the client could
 * then approve its own consent for more scopes. So the session ends there instead: the user signs in
 * again for the next authorization. Other hosts never see the cookie (it is host-only), so it stays.
 */
export function cookiesForClientRedirect(ctx: AuthorizationServerContext, location: string, cookies: readonly string[]): string[] {
  const name = sessionCookieName(ctx);
  let host: string;
  try {
    host = new URL(location).hostname;
  } catch {
    return [...cookies];
  }
  if (host !== new URL(ctx.issuer).hostname) return [...cookies];
  const others = cookies.filter((cookie) => !cookie.startsWith(`${name}=`));
  return [...others, `${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${ctx.secureCookies ? '; Secure' : ''}`];
}

/** The `Set-Cookie` value that stores `session` in the browser until it expires. */
export function sessionCookie(ctx: AuthorizationServerContext, session: BrowserSession): string {
  const data: Record<string, unknown> = { sid: session.sid, csrf: session.csrf };
  if (session.userId !== undefined) Object.assign(data, { uid: session.userId, at: session.authTime, cr: session.credential });
  const value = sealerFor(ctx).seal('session', data, session.expiresAt);
  const maxAge = Math.max(0, session.expiresAt - ctx.now());
  return `${sessionCookieName(ctx)}=${value}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${ctx.secureCookies ? '; Secure' : ''}`;
}

/** Whether a form's CSRF token is this session's (constant time). A missing token never matches. */
export function csrfMatches(session: BrowserSession | undefined, presented: string | undefined): boolean {
  if (!session || presented === undefined) return false;
  return safeEqual(presented, session.csrf);
}


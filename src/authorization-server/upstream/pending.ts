import type { IncomingMessage } from 'node:http';
import { REQUEST_PARAMETERS } from '../authorize/request.js';
import { sealerFor } from '../authorize/seal.js';
import { cookieValues } from '../../core/http.js';
import type { AuthorizationServerContext } from '../context.js';
import { hashToken, safeEqual } from '../secrets.js';
import type { PendingSecrets } from './idp.js';

/**
 * The authorization request that waits while the user is at the upstream: the MCP client's request (the
 * parameters it sent us, as the forms carry them) and the secrets of our request to the upstream (`state`,
 * `nonce`, PKCE verifier). It lives in one cookie, sealed (AES-256-GCM, purpose `upstream-login`, so the
 * browser can neither read the verifier nor change the request), for {@link PENDING_TTL_SECONDS}.
 *
 * The cookie's name carries a digest of the upstream `state`, so several sign-ins in one browser (two tabs,
 * two MCP clients) do not overwrite each other, and the callback finds the one its `state` belongs to — a
 * `state` that names no cookie of this browser is refused (RFC 6749 §10.12: a response the browser did
 * not ask for). Whatever the callback decides, it deletes the cookie: the pending authorization is used once.
 * `HttpOnly`, `SameSite=Lax` (sent on the upstream's top-level redirect back to us, never on a cross-site
 * POST), `__Host-` and `Secure` when the public URL is https.
 */

/** How long the user may take at the upstream. */
export const PENDING_TTL_SECONDS = 10 * 60;

export interface PendingLogin extends PendingSecrets {
  /** The MCP client's authorization request, checked again at the callback. */
  readonly params: Readonly<Record<string, string>>;
}

function prefix(ctx: AuthorizationServerContext): string {
  return `${ctx.secureCookies ? '__Host-' : ''}portcullis-upstream-`;
}

/** The cookie's name for the login whose upstream `state` is `state`. */
function cookieName(ctx: AuthorizationServerContext, state: string): string {
  return `${prefix(ctx)}${hashToken(state).slice(0, 16)}`;
}

function attributes(ctx: AuthorizationServerContext, maxAge: number): string {
  return `Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${ctx.secureCookies ? '; Secure' : ''}`;
}

/** The `Set-Cookie` value that keeps `pending` in the browser. */
export function pendingCookie(ctx: AuthorizationServerContext, pending: PendingLogin): string {
  const value = sealerFor(ctx).seal('upstream-login', { ...pending }, ctx.now() + PENDING_TTL_SECONDS);
  return `${cookieName(ctx, pending.state)}=${value}; ${attributes(ctx, PENDING_TTL_SECONDS)}`;
}

/** The `Set-Cookie` value that deletes the pending login of `state`. */
export function clearPendingCookie(ctx: AuthorizationServerContext, state: string): string {
  return `${cookieName(ctx, state)}=; ${attributes(ctx, 0)}`;
}

/**
 * `Set-Cookie` values deleting every pending login this browser sent: for a callback whose `state` is none
 * of them (forged, or replayed after use), so that no sign-in under way here can be completed after it.
 */
export function clearAllPendingCookies(ctx: AuthorizationServerContext, req: IncomingMessage): string[] {
  const names = new Set<string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const name = part.slice(0, part.indexOf('=')).trim();
    if (part.includes('=') && name.startsWith(prefix(ctx)) && /^[A-Za-z0-9_-]+$/.test(name.slice(prefix(ctx).length))) names.add(name);
  }
  return [...names].map((name) => `${name}=; ${attributes(ctx, 0)}`);
}

/** The pending login of `state` in this browser, or undefined (none, expired, tampered, another `state`). */
export function readPending(ctx: AuthorizationServerContext, req: IncomingMessage, state: string): PendingLogin | undefined {
  const sealer = sealerFor(ctx);
  for (const value of cookieValues(req.headers.cookie, cookieName(ctx, state))) {
    const data = sealer.open('upstream-login', value, ctx.now());
    if (!data || !isPending(data) || !safeEqual(data.state, state)) continue;
    return { params: data.params, state: data.state, nonce: data.nonce, verifier: data.verifier };
  }
  return undefined;
}

function isPending(data: Record<string, unknown>): data is Record<string, unknown> & PendingLogin {
  if (typeof data.state !== 'string' || typeof data.nonce !== 'string' || typeof data.verifier !== 'string') return false;
  const params = data.params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return false;
  return Object.entries(params).every(([name, value]) => (REQUEST_PARAMETERS as readonly string[]).includes(name) && typeof value === 'string');
}

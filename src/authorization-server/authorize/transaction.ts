import type { AuthorizationServerContext } from '../context.js';
import type { AuthorizationRequest } from './request.js';
import { REQUEST_PARAMETERS } from './request.js';
import { sealerFor } from './seal.js';
import type { BrowserSession } from './session.js';

/**
 * The authorization request as the login and consent forms carry it between steps: sealed (seal.ts), so
 * the browser brings back exactly what the server checked and showed, and nothing it sends can widen it.
 * A transaction is bound to the browser session it was rendered for (its `sid`) and to the step whose
 * form carries it; the consent step's also to the user who saw the page and the scopes the page listed.
 */

/** How long a login or consent form stays usable. */
export const TRANSACTION_TTL_SECONDS = 15 * 60;

export type Transaction =
  | { readonly step: 'login'; readonly sid: string; readonly params: Readonly<Record<string, string>> }
  | {
      readonly step: 'consent';
      readonly sid: string;
      readonly params: Readonly<Record<string, string>>;
      readonly userId: string;
      /** Exactly the scopes the consent page listed: approving grants these, never more. */
      readonly scopes: readonly string[];
    };

/** The sealed form value of a transaction. */
export function sealTransaction(ctx: AuthorizationServerContext, transaction: Transaction): string {
  return sealerFor(ctx).seal('transaction', { ...transaction }, ctx.now() + TRANSACTION_TTL_SECONDS);
}

/** A login transaction for `request` in `session`. */
export function loginTransaction(request: AuthorizationRequest, session: BrowserSession): Transaction {
  return { step: 'login', sid: session.sid, params: request.params };
}

/** Opens a form's transaction; undefined when missing, tampered with, expired or malformed. */
export function openTransaction(ctx: AuthorizationServerContext, value: string | undefined): Transaction | undefined {
  if (value === undefined) return undefined;
  const data = sealerFor(ctx).open('transaction', value, ctx.now());
  if (!data || typeof data.sid !== 'string' || !isParams(data.params)) return undefined;
  if (data.step === 'login') return { step: 'login', sid: data.sid, params: data.params };
  if (data.step === 'consent' && typeof data.userId === 'string' && isStringArray(data.scopes)) {
    return { step: 'consent', sid: data.sid, params: data.params, userId: data.userId, scopes: data.scopes };
  }
  return undefined;
}

/** The query that starts the transaction's authorization request again (for a "try again" link). */
export function restartQuery(params: Readonly<Record<string, string>>): string {
  return new URLSearchParams(Object.entries(params)).toString();
}

function isParams(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.entries(value).every(([name, v]) => (REQUEST_PARAMETERS as readonly string[]).includes(name) && typeof v === 'string');
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

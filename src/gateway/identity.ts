/**
 * How the backend learns who calls (ARCHITECTURE §5, gateway): every JSON-RPC request the gateway forwards
 * carries `params._meta["dev.portcullis/caller"] = {"sub", "client_id", "scopes"}`, taken from the verified
 * token, never the token itself. A value the client put under that key is overwritten (a client cannot
 * claim to be someone else); the rest of the client's `_meta` (`progressToken`, its own keys) is kept.
 */
import type { AuthInfo } from '../core/auth.js';

/** The `_meta` key of the caller's identity. */
export const CALLER_META_KEY = 'dev.portcullis/caller';

/** What the backend receives about the caller. */
export interface CallerIdentity {
  readonly sub: string;
  readonly client_id: string;
  readonly scopes: readonly string[];
}

/** The identity of a verified caller. */
export function callerIdentity(auth: AuthInfo): CallerIdentity {
  return { sub: auth.subject, client_id: auth.clientId, scopes: auth.scopes };
}

/**
 * Sets the caller on one parsed JSON-RPC request, in place: `params` and `params._meta` are created when
 * missing (or replaced when they are not objects, which no valid request has).
 *
 * @example
 * const request = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 7 } } };
 * stampCaller(request, callerIdentity(auth));
 * // request.params._meta = { progressToken: 7, 'dev.portcullis/caller': { sub, client_id, scopes } }
 */
export function stampCaller(request: Record<string, unknown>, caller: CallerIdentity): void {
  let params = request['params'];
  if (!isObject(params)) params = request['params'] = {};
  const holder = params as Record<string, unknown>;
  let meta = holder['_meta'];
  if (!isObject(meta)) meta = holder['_meta'] = {};
  (meta as Record<string, unknown>)[CALLER_META_KEY] = caller;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

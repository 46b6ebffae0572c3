import { OAuthError } from '../../core/errors.js';
import type { AuthorizationServerContext } from '../context.js';

/** RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (printable ASCII but `"` and `\`). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** Bounds on a `scope` parameter: far above anything the resource defines, far below anything costly. */
const MAX_SCOPE_LENGTH = 1000;
const MAX_SCOPE_TOKENS = 50;

/**
 * Parses a `scope` parameter (RFC 6749 §3.3): space-delimited, case-sensitive tokens, duplicates dropped,
 * order kept. Absent → undefined (the caller applies its default). Malformed → `invalid_scope`.
 *
 * @example
 * parseScope('incidents:read incidents:write'); // ['incidents:read', 'incidents:write']
 */
export function parseScope(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (value.length > MAX_SCOPE_LENGTH) throw new OAuthError('invalid_scope', 400, 'The scope parameter is too long');
  const tokens = value.split(' ').filter((token) => token !== '');
  if (tokens.length > MAX_SCOPE_TOKENS) throw new OAuthError('invalid_scope', 400, 'The scope parameter has too many scopes');
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) throw new OAuthError('invalid_scope', 400, 'The scope parameter is malformed');
  }
  return [...new Set(tokens)];
}

/** The wire form of a scope list (RFC 6749 §3.3): space-separated. */
export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/**
 * Refuses scopes the resource does not define (`invalid_scope`, RFC 6749 §4.1.2.1 / §5.2). The description
 * does not repeat the request's text.
 *
 * @example
 * knownScopes(ctx, ['incidents:read']); // ['incidents:read']
 */
export function knownScopes(ctx: Pick<AuthorizationServerContext, 'scopes'>, requested: readonly string[]): string[] {
  for (const scope of requested) {
    if (!ctx.scopes.includes(scope)) throw new OAuthError('invalid_scope', 400, 'The request names a scope this server does not define', { detail: `unknown scope ${JSON.stringify(scope.slice(0, 64))}` });
  }
  return [...requested];
}

/**
 * The scopes of a request that may only narrow what was granted before (RFC 6749 §6: "MUST NOT include
 * any scope not originally granted"; §4.4.2 for a client's registered scope). Absent → all of `granted`.
 *
 * @example
 * narrowScopes(['incidents:read'], ['incidents:read', 'incidents:write']); // ['incidents:read']
 * narrowScopes(['mcp:admin'], ['incidents:read']); // throws invalid_scope
 */
export function narrowScopes(requested: readonly string[] | undefined, granted: readonly string[]): string[] {
  if (requested === undefined) return [...granted];
  for (const scope of requested) {
    if (!granted.includes(scope)) throw new OAuthError('invalid_scope', 400, 'The requested scope exceeds what was granted');
  }
  return [...requested];
}

/**
 * The scopes a user can grant a client: the resource's scopes the user holds (issue 3: the user's own
 * permissions cap every consent; a public client's registered `scope` does not).
 *
 * @example
 * grantableScopes(ctx, user.scopes); // ['incidents:read'] for a read-only user
 */
export function grantableScopes(ctx: Pick<AuthorizationServerContext, 'scopes'>, userScopes: readonly string[]): string[] {
  return ctx.scopes.filter((scope) => userScopes.includes(scope));
}

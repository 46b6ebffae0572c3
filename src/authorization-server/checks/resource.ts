import { OAuthError } from '../../core/errors.js';
import type { AuthorizationServerContext } from '../context.js';

/**
 * The RFC 8707 `resource` of an authorization or token request, which must be this server's one resource.
 *
 * - Absent → the resource (issue 3: clients that omit it get a token for the only thing we protect).
 * - Present more than once → `invalid_target`: §2 allows several, but we can only serve one, and one token
 *   valid at two resources is what RFC 8707 exists to prevent.
 * - Not an absolute URI, or carrying a fragment → `invalid_target` (§2: "MUST be an absolute URI … MUST NOT
 *   include a fragment component").
 * - Otherwise it must equal `ctx.resource` exactly. No normalisation, not even of a trailing slash: the
 *   value we announce in the RFC 9728 metadata is the one conformant clients copy (MCP 2025-11-25,
 *   "Resource Parameter Implementation"), it is the `aud` the resource server enforces byte for byte, and
 *   accepting `…/mcp/` would mean accepting a URI that names a different path on other servers.
 *
 * @example
 * const resource = checkResource(ctx, form.getAll('resource')); // 'https://mcp.example.com/mcp'
 */
export function checkResource(ctx: Pick<AuthorizationServerContext, 'resource'>, values: readonly string[]): string {
  // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
  values = values.filter((value) => value !== '');
  if (values.length === 0) return ctx.resource;
  if (values.length > 1) throw new OAuthError('invalid_target', 400, 'Only one resource can be requested');
  const value = values[0]!;
  if (value === ctx.resource) return ctx.resource;
  throw new OAuthError('invalid_target', 400, 'The requested resource is not served by this authorization server', { detail: describe(value) });
}

function describe(value: string): string {
  let shape = 'not an absolute URI';
  if (URL.canParse(value)) shape = new URL(value).hash ? 'has a fragment' : 'another resource';
  return `resource ${JSON.stringify(value.slice(0, 200))}: ${shape}`;
}

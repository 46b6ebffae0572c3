import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../core/errors.js';
import type { AuthorizationServerContext, Endpoint } from './context.js';
import { authorize } from './endpoints/authorize.js';
import { discovery } from './endpoints/discovery.js';
import { introspect } from './endpoints/introspect.js';
import { jwks } from './endpoints/jwks.js';
import { register } from './endpoints/register.js';
import { revoke } from './endpoints/revoke.js';
import { token } from './endpoints/token.js';
import { upstreamCallback } from './endpoints/upstream-callback.js';
import { userinfo } from './endpoints/userinfo.js';
import { AS_PATHS } from './metadata.js';
import { renderError } from './respond.js';
import { UPSTREAM_CALLBACK_PATH } from './upstream/federation.js';

interface Route {
  endpoint: Endpoint;
  /**
   * Readable from any origin (`Access-Control-Allow-Origin: *`): browser-based clients (the MCP Inspector)
   * call discovery, registration, token, revocation and userinfo with `fetch`. None of them uses cookies,
   * so `*` grants nothing a script could not do from a server. Not the authorization endpoint (a page)
   * nor introspection (server to server).
   */
  cors: boolean;
}

const WELL_KNOWN_PREFIXES = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];
const CORS_PREFLIGHT = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'Authorization, Content-Type, MCP-Protocol-Version',
  'access-control-max-age': '600',
} as const;

const tables = new WeakMap<AuthorizationServerContext, ReadonlyMap<string, Route>>();

/**
 * The paths of the embedded authorization server, for an issuer `https://host[/base]`:
 *
 * - `/base/oauth/{authorize,token,register,revoke,introspect,userinfo}` and `/base/.well-known/jwks.json`;
 * - with federated login, `/base/oauth/upstream/callback`;
 * - RFC 8414 §3.1 metadata at `/.well-known/oauth-authorization-server/base`, OIDC Discovery at
 *   `/.well-known/openid-configuration/base` and `/base/.well-known/openid-configuration` (the three forms
 *   MCP 2025-11-25 clients try; with no base they are the two root documents);
 * - for MCP 2025-03-26 clients, which derive everything from the server's origin: `/authorize`, `/token`,
 *   `/register` and the root metadata documents.
 */
function routes(ctx: AuthorizationServerContext): ReadonlyMap<string, Route> {
  let table = tables.get(ctx);
  if (table) return table;
  const base = new URL(ctx.issuer).pathname.replace(/\/$/, '');
  const entries: Array<[string, Endpoint, boolean]> = [
    [AS_PATHS.authorize, authorize, false],
    [AS_PATHS.token, token, true],
    [AS_PATHS.register, register, true],
    [AS_PATHS.revoke, revoke, true],
    [AS_PATHS.introspect, introspect, false],
    [AS_PATHS.userinfo, userinfo, true],
    [AS_PATHS.jwks, jwks, true],
  ];
  // Federated login: where the upstream sends the browser back (a page, like the authorization endpoint).
  if (ctx.federation) entries.push([UPSTREAM_CALLBACK_PATH, upstreamCallback, false]);
  const map = new Map<string, Route>();
  for (const [path, endpoint, cors] of entries) map.set(`${base}${path}`, { endpoint, cors });
  map.set(`/.well-known/oauth-authorization-server${base}`, { endpoint: discovery('oauth'), cors: true });
  map.set(`/.well-known/openid-configuration${base}`, { endpoint: discovery('openid'), cors: true });
  map.set(`${base}/.well-known/openid-configuration`, { endpoint: discovery('openid'), cors: true });
  // 2025-03-26 fallbacks, at the origin whatever the issuer's path.
  map.set('/authorize', { endpoint: authorize, cors: false });
  map.set('/token', { endpoint: token, cors: true });
  map.set('/register', { endpoint: register, cors: true });
  if (!map.has('/.well-known/oauth-authorization-server')) map.set('/.well-known/oauth-authorization-server', { endpoint: discovery('oauth'), cors: true });
  if (!map.has('/.well-known/openid-configuration')) map.set('/.well-known/openid-configuration', { endpoint: discovery('openid'), cors: true });
  table = map;
  tables.set(ctx, table);
  return table;
}

/**
 * Answers a request for one of the authorization server's paths and resolves `true`; resolves `false`
 * for any other path, so the caller routes it elsewhere. `path` is the request path without the query.
 *
 * Errors thrown by an endpoint are rendered here (`respond.ts`): an `OAuthError` as its status and
 * RFC 6749 §5.2 JSON, always `Cache-Control: no-store`. Any other path under the two metadata well-known
 * names (a path-suffixed form for an issuer we are not) is a 404 here too, never a 5xx: clients stop
 * discovery at a 5xx but try the next URL after a 404.
 *
 * @example
 * if (await routeAuthorizationServer(ctx, path, req, res)) return;
 */
export async function routeAuthorizationServer(ctx: AuthorizationServerContext, path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const route = routes(ctx).get(path);
  if (!route) {
    if (!WELL_KNOWN_PREFIXES.some((prefix) => path.startsWith(`${prefix}/`))) return false;
    renderError(res, new HttpError(404, 'not_found', 'No authorization server metadata at this path'), ctx.logger);
    return true;
  }
  if (route.cors) {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, CORS_PREFLIGHT);
      res.end();
      return true;
    }
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'WWW-Authenticate, Retry-After');
  }
  try {
    await route.endpoint(ctx, req, res);
  } catch (error) {
    renderError(res, error, ctx.logger);
  }
  return true;
}

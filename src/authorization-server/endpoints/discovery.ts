import { HttpError } from '../../core/errors.js';
import type { AuthorizationServerContext, Endpoint } from '../context.js';
import { authorizationServerMetadata, openIdConfiguration } from '../metadata.js';

/** Metadata changes only with the configuration, which means a restart: an hour of caching is safe. */
const CACHE_CONTROL = 'public, max-age=3600';

type Kind = 'oauth' | 'openid';
const serialized = new WeakMap<AuthorizationServerContext, Record<Kind, string>>();

function documents(ctx: AuthorizationServerContext): Record<Kind, string> {
  let docs = serialized.get(ctx);
  if (!docs) {
    docs = { oauth: JSON.stringify(authorizationServerMetadata(ctx)), openid: JSON.stringify(openIdConfiguration(ctx)) };
    serialized.set(ctx, docs);
  }
  return docs;
}

/**
 * `GET /.well-known/oauth-authorization-server` (RFC 8414 §3) or `/.well-known/openid-configuration`
 * (OIDC Discovery §4): the document, serialized once per context.
 */
export function discovery(kind: Kind): Endpoint {
  return async (ctx, req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'Use GET', { allow: 'GET, HEAD' });
    const body = documents(ctx)[kind];
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': CACHE_CONTROL, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

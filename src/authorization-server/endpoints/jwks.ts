import { HttpError } from '../../core/errors.js';
import type { Endpoint } from '../context.js';
import { JWKS_CACHE_CONTROL } from '../keys.js';

/**
 * `GET /.well-known/jwks.json` (RFC 7517 §5; RFC 8414 `jwks_uri`): the public keys of the key ring, never a
 * private member (the ring builds them from `kty`, `crv`, `x`, `y`). Cacheable for `JWKS_MAX_AGE_SECONDS`,
 * which the ring's publish-before-sign period covers (keys.ts).
 */
export const jwks: Endpoint = async (ctx, req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', 'Use GET', { allow: 'GET, HEAD' });
  const body = JSON.stringify(await ctx.keys.jwks());
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': JWKS_CACHE_CONTROL, 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
};

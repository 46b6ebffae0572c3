/**
 * Token verifiers: each turns a bearer token into an `AuthInfo` or refuses it (401 `invalid_token`, or 503
 * `temporarily_unavailable` when it cannot check). Wrap any of them in `cachedVerifier` for the hot path.
 *
 * @example
 * import { cachedVerifier, createJwtVerifier, resolveJwksUri } from './verifiers/index.js';
 * const jwksUri = config.jwksUri ?? (await resolveJwksUri(config.issuer));
 * const verifier = cachedVerifier(createJwtVerifier({ issuer: config.issuer, audience, jwksUri, provider: config.provider }));
 */
export { cachedVerifier, type CachedVerifier, type CachedVerifierOptions, type CacheHints } from './cache.js';
export { DiscoveryError, discoverIssuer, oktaIssuer, resolveJwksUri, type DiscoveryOptions } from './discovery.js';
export { createIntrospectionVerifier, type IntrospectionVerifierOptions } from './introspection.js';
export { createJwtVerifier, type JwtVerifier, type JwtVerifierOptions } from './jwt.js';
export { presets, resolvePreset, toAuthInfo, type ClaimPreset, type Claims, type Identity, type ProviderName } from './presets.js';
export type { Clock, Fetch } from './lib/options.js';

import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { AuthInfo, TokenVerifier } from '../core/auth.js';
import { refuseSenderConstrained } from './lib/claims.js';
import { joseRefusal } from './lib/errors.js';
import { duration, parseSecureUrl, requireString, type Clock, type Fetch } from './lib/options.js';
import { RemoteKeySet } from './lib/remote-jwks.js';
import { resolvePreset, toAuthInfo, type ClaimPreset, type ProviderName } from './presets.js';

/** Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037): the only ones that can verify a third party's tokens. */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

export interface JwtVerifierOptions {
  /** The authorization server's issuer identifier; `iss` must equal it exactly (RFC 9068 §4). */
  issuer: string;
  /** This resource's identifier; `aud` must equal it or be an array containing it (RFC 9068 §4, RFC 8707). */
  audience: string;
  /** The issuer's JWKS (see `resolveJwksUri` to find it by discovery). */
  jwksUri: string | URL;
  /** Accepted `alg` values, fixed here and never taken from the token. Default `['RS256', 'ES256']`. */
  algorithms?: readonly string[];
  /** Claim format of the issuer (see `presets`). Default `generic`. */
  provider?: ProviderName | ClaimPreset;
  /** Require the RFC 9068 §2.1 header `typ: at+jwt` (refuses ID tokens presented as access tokens). */
  requireAtJwt?: boolean;
  /** Allowed clock skew for `exp` and `nbf`. Default 30, at most 60. */
  clockToleranceSeconds?: number;
  /** After a successful JWKS fetch, the wait before an unknown `kid` may trigger another. Default 30. */
  jwksCooldownSeconds?: number;
  /** Age after which the JWKS is refetched. Default 600. */
  jwksCacheMaxAgeSeconds?: number;
  /** How long cached keys keep working while the JWKS endpoint fails. Default 86400 (a day). */
  jwksMaxStaleSeconds?: number;
  /** Timeout of one JWKS request. Default 5000. */
  jwksTimeoutMs?: number;
  fetch?: Fetch;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: Clock;
}

/** A {@link TokenVerifier} for JWT access tokens, with a readiness probe for `/ready`. */
export interface JwtVerifier extends TokenVerifier {
  /** Whether signing keys are loaded and usable (a failing JWKS endpoint past the stale limit makes it false). */
  readonly ready: boolean;
}


/**
 * Verifies JWT access tokens against an issuer's remote JWKS (RFC 9068 §4):
 *
 * - the signature, with an algorithm from the configured list only (so `none` and HS256 keyed with the
 *   public key are refused before any key is looked up);
 * - `iss` exactly (for the `entra` preset: the v1 or v2 issuer of the configured tenant);
 * - `aud` equal to the audience or an array containing it;
 * - `exp` required, `exp` and `nbf` checked with the clock tolerance (at most 60 s);
 * - `typ: at+jwt` when `requireAtJwt` is set;
 * - no `cnf` (sender-constrained tokens are refused: their proof of possession is not checked here).
 *
 * Not validated: `iat`, `jti` replay, `auth_time`, `acr`, scopes (the guard checks those). The JWKS
 * policy (one refetch for an unknown `kid`, cooldown, stale keys while the endpoint is down, 503 with no
 * usable key) is {@link RemoteKeySet}'s. Options are checked here, so bad configuration throws at start-up.
 *
 * Refusals are `OAuthError('invalid_token', 401)`; when keys cannot be had, `temporarily_unavailable` (503).
 *
 * @example
 * const verifier = createJwtVerifier({
 *   issuer: 'https://dev-123.okta.com/oauth2/default',
 *   audience: 'https://mcp.example.com/mcp',
 *   jwksUri: 'https://dev-123.okta.com/oauth2/default/v1/keys',
 *   provider: 'okta',
 * });
 * const auth = await verifier.verify(token); // { subject, clientId, scopes, ... }
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const issuer = requireString(options.issuer, 'issuer');
  parseSecureUrl(issuer, 'issuer');
  const audience = requireString(options.audience, 'audience');
  const jwksUrl = parseSecureUrl(options.jwksUri, 'jwksUri');
  const algorithms = checkAlgorithms(options.algorithms ?? ['RS256', 'ES256']);
  const preset = resolvePreset(options.provider);
  const clockTolerance = duration(options.clockToleranceSeconds, 30, 'clockToleranceSeconds', 60);
  const cacheMaxAge = duration(options.jwksCacheMaxAgeSeconds, 600, 'jwksCacheMaxAgeSeconds');
  const maxStale = duration(options.jwksMaxStaleSeconds, 86_400, 'jwksMaxStaleSeconds');
  if (maxStale < cacheMaxAge) throw new TypeError('jwksMaxStaleSeconds must not be less than jwksCacheMaxAgeSeconds');
  const now = options.now ?? Date.now;
  const keys = new RemoteKeySet(
    jwksUrl,
    {
      cooldownMs: duration(options.jwksCooldownSeconds, 30, 'jwksCooldownSeconds') * 1000,
      cacheMaxAgeMs: cacheMaxAge * 1000,
      maxStaleMs: maxStale * 1000,
      timeoutMs: duration(options.jwksTimeoutMs, 5000, 'jwksTimeoutMs'),
    },
    options.fetch,
    now,
  );
  const verifyOptions: JWTVerifyOptions = {
    issuer: [...preset.acceptedIssuers(issuer)],
    audience,
    algorithms: [...algorithms],
    clockTolerance,
    requiredClaims: ['exp'],
    typ: options.requireAtJwt === true ? 'at+jwt' : undefined,
  };

  return {
    get ready() {
      return keys.ready;
    },
    async verify(token: string): Promise<AuthInfo> {
      let payload: JWTPayload;
      try {
        payload = await verifySigned(token, keys.getKey, { ...verifyOptions, currentDate: new Date(now()) });
      } catch (err) {
        throw joseRefusal(err);
      }
      refuseSenderConstrained(payload);
      return toAuthInfo(preset, payload);
    },
  };
}

function checkAlgorithms(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) throw new TypeError('algorithms must be a non-empty list such as ["RS256", "ES256"]');
  for (const alg of value) {
    if (!ASYMMETRIC_ALGORITHMS.includes(alg)) {
      throw new TypeError(
        `algorithms: ${JSON.stringify(alg)} is not accepted; use asymmetric signature algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')}). ` +
          '"none" and HMAC (HS*) cannot verify tokens signed by an authorization server',
      );
    }
  }
  return Object.freeze([...new Set(value as string[])]);
}

async function verifySigned(token: string, getKey: JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, getKey, options)).payload;
  } catch (err) {
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    // Several keys fit a token without `kid`: jose leaves the choice to the caller, so try each.
    for await (const key of err) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (inner) {
        if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}


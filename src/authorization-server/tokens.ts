import { errors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { AuthInfo, TokenVerifier } from '../core/auth.js';
import { refuseSenderConstrained } from '../verifiers/lib/claims.js';
import { joseRefusal } from '../verifiers/lib/errors.js';
import { presets, toAuthInfo } from '../verifiers/presets.js';
import type { AuthorizationServerContext } from './context.js';
import { randomToken } from './secrets.js';

/** RFC 9068 §2.1: the `typ` header of a JWT access token. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Clock skew allowed for `exp` and `nbf`, as the JWT verifier allows by default. */
const CLOCK_TOLERANCE_SECONDS = 30;

/** What the issuing side of the context needs. */
export type IssuingContext = Pick<AuthorizationServerContext, 'issuer' | 'resource' | 'keys' | 'accessTokenTtl' | 'now'>;
/** What the verifying side needs. */
export type VerifyingContext = Pick<AuthorizationServerContext, 'issuer' | 'resource' | 'keys' | 'now'>;

export interface AccessTokenRequest {
  /** `sub`: the user's subject, or the client id for client credentials (RFC 9068 §2.2). */
  subject: string;
  clientId: string;
  /** Granted scopes; `scope` is omitted when empty. */
  scopes: readonly string[];
  /** `aud`; defaults to the context's resource (the checks of RFC 8707 `resource` happen before this). */
  resource?: string;
  /** Lifetime in seconds; defaults to, and may not exceed, the context's `accessTokenTtl` (keys stay published only that long). */
  ttl?: number;
  /** When the user authenticated (epoch seconds), RFC 9068 §2.2.1 `auth_time`. */
  authTime?: number;
}

export interface IssuedAccessToken {
  token: string;
  /** Seconds until it expires: the token response's `expires_in`. */
  expiresIn: number;
  jti: string;
}

/**
 * Issues a JWT access token (RFC 9068): header `{ alg: ES256, kid, typ: at+jwt }`, claims `iss`, `sub`,
 * `aud` (the resource), `client_id`, `scope` (space-separated), `jti`, `iat`, `exp`, and `auth_time` when
 * given. Signed by the key ring's active key.
 *
 * @example
 * const { token, expiresIn } = await issueAccessToken(ctx, { subject: user.id, clientId: client.clientId, scopes: ['incidents:read'] });
 * @throws RangeError when `ttl` is not a positive whole number no larger than `ctx.accessTokenTtl`.
 */
export async function issueAccessToken(ctx: IssuingContext, request: AccessTokenRequest): Promise<IssuedAccessToken> {
  const ttl = request.ttl ?? ctx.accessTokenTtl;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > ctx.accessTokenTtl) {
    throw new RangeError(`the token lifetime must be a whole number of seconds from 1 to ${ctx.accessTokenTtl}`);
  }
  if (!request.subject || !request.clientId) throw new TypeError('an access token needs a subject and a client id');
  const iat = ctx.now();
  const jti = randomToken(16);
  const payload: JWTPayload & Record<string, unknown> = {
    iss: ctx.issuer,
    sub: request.subject,
    aud: request.resource ?? ctx.resource,
    client_id: request.clientId,
    jti,
    iat,
    exp: iat + ttl,
  };
  if (request.scopes.length > 0) payload.scope = [...new Set(request.scopes)].join(' ');
  if (request.authTime !== undefined) payload.auth_time = request.authTime;
  return { token: await ctx.keys.sign(payload, { typ: ACCESS_TOKEN_TYPE }), expiresIn: ttl, jti };
}

/**
 * A {@link TokenVerifier} for the embedded authorization server's own access tokens, checked locally
 * against the key ring (no HTTP). It checks, in one place:
 *
 * - the signature, with ES256 only (the algorithm is fixed here, never taken from the token), by a key
 *   the ring publishes (an unknown `kid` makes the ring look in the store once, rate-limited);
 * - header `typ: at+jwt` (RFC 9068 §4: refuses ID tokens and other JWTs);
 * - `iss` equal to the issuer exactly; `aud` equal to, or an array containing, the resource (RFC 8707);
 * - `exp` required; `exp` and `nbf` with 30 s of clock skew;
 * - no `cnf` (we never issue sender-constrained tokens).
 *
 * Not checked: `iat`, `jti` replay (access tokens are bearer tokens until they expire), scopes (the guard
 * checks them). Claims map to {@link AuthInfo} as the `generic` preset maps them. A refused token rejects
 * with `OAuthError('invalid_token', 401)`; a failure of ours with `temporarily_unavailable` (503).
 *
 * @example
 * const verifier = createEmbeddedVerifier(ctx);
 * const auth = await verifier.verify(token); // { subject, clientId, scopes, audience, issuer, expiresAt, claims }
 */
export function createEmbeddedVerifier(ctx: VerifyingContext): TokenVerifier {
  const { issuer, resource, keys } = ctx;
  if (!issuer || !resource) throw new TypeError('the embedded verifier needs an issuer and a resource');
  const options: JWTVerifyOptions = {
    issuer,
    audience: resource,
    algorithms: ['ES256'],
    typ: ACCESS_TOKEN_TYPE,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp'],
  };
  const getKey = async (header: JWTHeaderParameters) => {
    const key = header.kid === undefined ? undefined : await keys.publicKey(header.kid);
    if (!key) throw new errors.JWKSNoMatchingKey();
    return key;
  };

  return {
    async verify(token: string): Promise<AuthInfo> {
      let payload: JWTPayload;
      try {
        payload = (await jwtVerify(token, getKey, { ...options, currentDate: new Date(ctx.now() * 1000) })).payload;
      } catch (err) {
        throw joseRefusal(err);
      }
      refuseSenderConstrained(payload);
      return toAuthInfo(presets.generic, payload);
    },
  };
}



import * as oauth from 'oauth4webapi';
import type { AuthInfo, TokenVerifier } from '../core/auth.js';
import { unavailable } from '../core/errors.js';
import type { CacheHints } from './cache.js';
import { audienceList, refuseSenderConstrained } from './lib/claims.js';
import { invalidToken } from './lib/errors.js';
import { duration, isLoopbackHttp, parseSecureUrl, requireString, type Clock, type Fetch } from './lib/options.js';
import { resolvePreset, toAuthInfo, type ClaimPreset, type ProviderName } from './presets.js';

export interface IntrospectionVerifierOptions {
  /** The RFC 7662 introspection endpoint. https, or http on a loopback host (tests). */
  introspectionUrl: string | URL;
  /** Expected `iss` of the answers, when they carry one; also the `issuer` of the AuthInfo when they do not. */
  issuer?: string;
  /** This resource's client at the authorization server (RFC 7662 §2.1: the call is authenticated). */
  clientId: string;
  clientSecret: string;
  /** This resource's identifier; the answer's `aud` must equal it or contain it. */
  audience: string;
  /** Claim format of the answers (see `presets`). Default `generic`. */
  provider?: ProviderName | ClaimPreset;
  /** Default `client_secret_basic` (RFC 6749 §2.3.1). */
  clientAuthentication?: 'client_secret_basic' | 'client_secret_post';
  /** How long a positive answer may be reused (by `cachedVerifier`); revocation shows after at most this. Default 60. */
  cacheSeconds?: number;
  /** Allowed clock skew for `exp` and `nbf`. Default 30, at most 60. */
  clockToleranceSeconds?: number;
  /** Timeout of one introspection call. Default 5000. */
  timeoutMs?: number;
  fetch?: Fetch;
  /** Clock in milliseconds since the epoch. Default `Date.now`. */
  now?: Clock;
}

/** Token types an introspection answer may report for a bearer access token (RFC 7662 §2.2 `token_type`). */
const BEARER_TYPES = new Set(['bearer', 'access_token']);

/**
 * Verifies opaque (or any) access tokens by RFC 7662 introspection through oauth4webapi, the call
 * authenticated with the resource's client credentials (`client_secret_basic` by default).
 *
 * Checked, in this order: the call succeeded and the answer is well-formed (else 503, never access);
 * `active` is true (else 401: RFC 7662 §2.2 makes expired, revoked and unknown tokens all inactive);
 * `token_type`, when given, is a bearer access token (a refresh token is refused); `exp` is present and
 * not past, `nbf` not in the future (clock tolerance); `aud` is present and equals or contains the
 * audience; `iss`, when both the answer and the options have one, is the issuer (or, for `entra`, its
 * other version); no `cnf`. Then the preset maps subject, client and scopes.
 *
 * Not validated: `iat`, `username`, signed (RFC 9701) answers' signature beyond what oauth4webapi does.
 * The returned verifier carries `maxCacheSeconds` (RFC 7662 §4: a cached answer hides a revocation),
 * which `cachedVerifier` honours.
 *
 * @example
 * const verifier = cachedVerifier(createIntrospectionVerifier({
 *   introspectionUrl: 'https://idp.example.com/oauth2/introspect',
 *   issuer: 'https://idp.example.com',
 *   clientId: 'portcullis', clientSecret: process.env.OAUTH_CLIENT_SECRET!,
 *   audience: 'https://mcp.example.com/mcp',
 * }));
 */
export function createIntrospectionVerifier(options: IntrospectionVerifierOptions): TokenVerifier & Required<CacheHints> {
  const url = parseSecureUrl(options.introspectionUrl, 'introspectionUrl');
  const issuer = options.issuer === undefined ? undefined : requireString(options.issuer, 'issuer');
  if (issuer !== undefined) parseSecureUrl(issuer, 'issuer');
  const clientId = requireString(options.clientId, 'clientId');
  const clientSecret = requireString(options.clientSecret, 'clientSecret');
  const audience = requireString(options.audience, 'audience');
  const preset = resolvePreset(options.provider);
  const acceptedIssuers = issuer === undefined ? undefined : preset.acceptedIssuers(issuer);
  const method = options.clientAuthentication ?? 'client_secret_basic';
  if (method !== 'client_secret_basic' && method !== 'client_secret_post') {
    throw new TypeError(`clientAuthentication must be client_secret_basic or client_secret_post, got ${JSON.stringify(method)}`);
  }
  const clientAuth = method === 'client_secret_basic' ? oauth.ClientSecretBasic(clientSecret) : oauth.ClientSecretPost(clientSecret);
  const maxCacheSeconds = duration(options.cacheSeconds, 60, 'cacheSeconds');
  const tolerance = duration(options.clockToleranceSeconds, 30, 'clockToleranceSeconds', 60);
  const timeoutMs = duration(options.timeoutMs, 5000, 'timeoutMs');
  const now = options.now ?? Date.now;
  const as: oauth.AuthorizationServer = { issuer: issuer ?? url.origin, introspection_endpoint: url.href };
  const client: oauth.Client = { client_id: clientId };
  const requestOptions: oauth.IntrospectionRequestOptions = {
    signal: () => AbortSignal.timeout(timeoutMs),
    additionalParameters: { token_type_hint: 'access_token' },
    // Plain http only to this machine (tests, a local IdP); parseSecureUrl refused it elsewhere.
    [oauth.allowInsecureRequests]: isLoopbackHttp(url),
    ...(options.fetch === undefined ? {} : { [oauth.customFetch]: options.fetch }),
  };

  return {
    maxCacheSeconds,
    async verify(token: string): Promise<AuthInfo> {
      if (typeof token !== 'string' || token.length === 0) throw invalidToken('The access token is invalid', 'empty token');
      let answer: oauth.IntrospectionResponse;
      try {
        const response = await oauth.introspectionRequest(as, client, clientAuth, token, requestOptions);
        answer = await oauth.processIntrospectionResponse(as, client, response);
      } catch (err) {
        // Down, 5xx, our credentials refused, not JSON, no boolean `active`: we cannot tell, so 503.
        throw unavailable(`introspection at ${url.href} failed: ${describe(err)}`);
      }
      if (!answer.active) throw invalidToken('The access token is not active', 'introspection answered active: false');
      if (typeof answer.token_type === 'string' && !BEARER_TYPES.has(answer.token_type.toLowerCase())) {
        throw invalidToken('The token is not a bearer access token', `introspection token_type ${answer.token_type}`);
      }
      const nowSeconds = now() / 1000;
      if (typeof answer.exp !== 'number') throw invalidToken('The access token has no expiry', 'introspection answer has no numeric exp');
      if (answer.exp <= nowSeconds - tolerance) throw invalidToken('The access token expired', `introspection exp ${answer.exp} is past`);
      if (typeof answer.nbf === 'number' && answer.nbf > nowSeconds + tolerance) {
        throw invalidToken('The access token is not valid yet', `introspection nbf ${answer.nbf} is in the future`);
      }
      if (answer.aud === undefined || !audienceList(answer).includes(audience)) {
        throw invalidToken('The access token is not meant for this resource', 'introspection aud does not contain the audience');
      }
      if (acceptedIssuers !== undefined && answer.iss !== undefined && !acceptedIssuers.includes(answer.iss)) {
        throw invalidToken('The access token was not issued by the expected authorization server', 'introspection iss differs from the issuer');
      }
      refuseSenderConstrained(answer);
      return toAuthInfo(preset, answer, issuer);
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof oauth.ResponseBodyError) return `HTTP ${err.status} ${err.error}`;
  if (err instanceof oauth.WWWAuthenticateChallengeError) return `HTTP ${err.status} challenge (client credentials refused?)`;
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

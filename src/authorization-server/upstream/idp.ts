import * as oauth from 'oauth4webapi';
import { DiscoveryError, discoverIssuer } from '../../verifiers/discovery.js';
import { isLoopbackHttp, parseSecureUrl } from '../../verifiers/lib/options.js';

/**
 * The upstream identity provider of federated login, as the authorization server sees it: a narrow
 * interface over `oauth4webapi` (the only module that talks to the upstream). The upstream is an OpenID
 * Provider we are a pre-registered client of — no dynamic registration needed there.
 *
 * Checked here, at every step:
 * - start-up: discovery (RFC 8414, then OIDC Discovery; `issuer` equal to the configured one character for
 *   character), an https (or loopback http) authorization and token endpoint, `S256` among
 *   `code_challenge_methods_supported` when the upstream lists them, and a client authentication method the
 *   upstream accepts: `client_secret_basic`, else `client_secret_post` (RFC 8414 §2: absent means basic),
 *   or `none` (a public client, PKCE only) when no secret is configured;
 * - the callback (`validateAuthResponse`): `state` equal to ours, then RFC 9207 `iss` equal to the issuer
 *   when present — and required when the upstream advertises `authorization_response_iss_parameter_supported`
 *   — before any `error` is believed;
 * - the code exchange: PKCE `code_verifier`, the token response's shape, and the ID token (required):
 *   `iss`, `aud` (our client id), `azp`, `exp`, `iat`, `nonce` equal to ours, `sub` present
 *   (`processAuthorizationCodeResponse`).
 *
 * Not checked: the ID token's signature. It comes straight from the token endpoint over TLS, which OIDC Core
 * §3.1.3.7 (6) accepts in place of the signature (oauth4webapi's default); nothing else ever reaches us as
 * an ID token.
 */

/** Why a start-up could not use the upstream: `unreachable` (discovery failed) or `unsuitable` (it cannot do what we need). */
export class UpstreamSetupError extends Error {
  override readonly name = 'UpstreamSetupError';

  constructor(
    readonly kind: 'unreachable' | 'unsuitable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A failed exchange with the upstream after start-up. `refused`: the upstream answered with an OAuth error
 * (`error` is its code); `unavailable`: it could not be reached, timed out, or answered something that is not
 * OAuth (a 5xx page); `invalid`: its answer failed a check above. `message` never holds a token or code.
 */
export class UpstreamFailure extends Error {
  override readonly name = 'UpstreamFailure';

  constructor(
    readonly kind: 'refused' | 'unavailable' | 'invalid',
    message: string,
    readonly error?: string,
  ) {
    super(message);
  }
}

export interface UpstreamIdpOptions {
  /** `--upstream-issuer`, exactly as the upstream spells it. */
  issuer: string;
  clientId: string;
  /** `PORTCULLIS_UPSTREAM_CLIENT_SECRET`; absent: a public client (PKCE only). */
  clientSecret?: string | undefined;
  /** What we ask the upstream for; must contain `openid`. */
  scopes: readonly string[];
  /** Our callback, registered at the upstream for this client. */
  redirectUri: string;
  fetch?: typeof fetch;
  /** Per request to the upstream. Default 10000. */
  timeoutMs?: number;
}

/** What the callback needs to finish a login; kept sealed in the browser between the two steps. */
export interface PendingSecrets {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/** A finished upstream login. */
export interface UpstreamLogin {
  /** The ID token's `sub`. */
  readonly subject: string;
  readonly refreshToken: string | undefined;
  /** The upstream access token's `expires_in`, when given. */
  readonly expiresIn: number | undefined;
}

/** A refreshed upstream grant: a rotated refresh token when the upstream rotates. */
export interface UpstreamRefresh {
  readonly refreshToken: string | undefined;
  readonly expiresIn: number | undefined;
}

export interface UpstreamIdp {
  readonly issuer: string;
  readonly authMethod: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** A new login: the upstream authorization URL (code, PKCE S256, state, nonce) and the secrets the callback needs. */
  begin(): Promise<{ url: URL; pending: PendingSecrets }>;
  /** Validates the callback's parameters and redeems the code. Throws {@link UpstreamFailure}. */
  complete(callback: URLSearchParams, pending: PendingSecrets): Promise<UpstreamLogin>;
  /** Redeems an upstream refresh token. Throws {@link UpstreamFailure} (`refused` with `error: 'invalid_grant'` when the upstream ended the grant). */
  refresh(refreshToken: string): Promise<UpstreamRefresh>;
}

/**
 * Discovers the upstream and checks it can serve as federated login's identity provider (once, at
 * start-up; the metadata is kept for the life of the process).
 *
 * @example
 * const idp = await createUpstreamIdp({ issuer: 'https://dev-123.okta.com', clientId, clientSecret, scopes: ['openid'], redirectUri });
 * const { url, pending } = await idp.begin();
 * @throws UpstreamSetupError
 */
export async function createUpstreamIdp(options: UpstreamIdpOptions): Promise<UpstreamIdp> {
  if (!options.scopes.includes('openid')) throw new UpstreamSetupError('unsuitable', 'the upstream scopes must include openid (the ID token names the user)');
  const timeoutMs = options.timeoutMs ?? 10_000;
  let as: oauth.AuthorizationServer;
  try {
    as = await discoverIssuer(options.issuer, { timeoutMs, ...(options.fetch ? { fetch: options.fetch } : {}) });
  } catch (error) {
    if (error instanceof DiscoveryError || error instanceof TypeError) throw new UpstreamSetupError('unreachable', error.message);
    throw error;
  }
  const unsuitable = (why: string) => new UpstreamSetupError('unsuitable', `the upstream ${options.issuer} ${why}`);
  for (const name of ['authorization_endpoint', 'token_endpoint'] as const) {
    if (typeof as[name] !== 'string') throw unsuitable(`publishes no ${name}`);
    try {
      parseSecureUrl(as[name], name);
    } catch (error) {
      throw unsuitable(`publishes an unusable ${name}: ${(error as Error).message}`);
    }
  }
  if (Array.isArray(as.code_challenge_methods_supported) && !as.code_challenge_methods_supported.includes('S256')) throw unsuitable('does not support PKCE S256');
  const authMethod = chooseAuthMethod(as, options.clientSecret, unsuitable);
  const clientAuth = authMethod === 'none' ? oauth.None() : authMethod === 'client_secret_post' ? oauth.ClientSecretPost(options.clientSecret!) : oauth.ClientSecretBasic(options.clientSecret!);
  const client: oauth.Client = { client_id: options.clientId };
  const requestOptions = {
    signal: () => AbortSignal.timeout(timeoutMs),
    [oauth.allowInsecureRequests]: isLoopbackHttp(new URL(as.token_endpoint!)),
    ...(options.fetch ? { [oauth.customFetch]: options.fetch } : {}),
  };

  return {
    issuer: as.issuer,
    authMethod,
    async begin() {
      const pending: PendingSecrets = { state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), verifier: oauth.generateRandomCodeVerifier() };
      const url = new URL(as.authorization_endpoint!);
      const params = {
        response_type: 'code',
        client_id: options.clientId,
        redirect_uri: options.redirectUri,
        scope: options.scopes.join(' '),
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
      };
      for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
      return { url, pending };
    },
    async complete(callback, pending) {
      return upstreamCall(async () => {
        const params = oauth.validateAuthResponse(as, client, callback, pending.state);
        const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, options.redirectUri, pending.verifier, requestOptions);
        const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
        const claims = oauth.getValidatedIdTokenClaims(result);
        if (!claims || typeof claims.sub !== 'string' || claims.sub === '') throw new UpstreamFailure('invalid', 'the ID token names no subject');
        return { subject: claims.sub, refreshToken: result.refresh_token, expiresIn: result.expires_in };
      });
    },
    async refresh(refreshToken) {
      return upstreamCall(async () => {
        const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, requestOptions);
        const result = await oauth.processRefreshTokenResponse(as, client, response);
        return { refreshToken: result.refresh_token, expiresIn: result.expires_in };
      });
    },
  };
}

/** RFC 8414 §2: without `token_endpoint_auth_methods_supported` the default is `client_secret_basic`. */
function chooseAuthMethod(as: oauth.AuthorizationServer, secret: string | undefined, unsuitable: (why: string) => Error): UpstreamIdp['authMethod'] {
  const supported = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  if (secret === undefined || secret === '') {
    if (as.token_endpoint_auth_methods_supported !== undefined && !supported.includes('none')) {
      throw unsuitable('does not accept public clients (token_endpoint_auth_methods_supported has no "none"): set PORTCULLIS_UPSTREAM_CLIENT_SECRET');
    }
    return 'none';
  }
  if (supported.includes('client_secret_basic')) return 'client_secret_basic';
  if (supported.includes('client_secret_post')) return 'client_secret_post';
  throw unsuitable(`accepts neither client_secret_basic nor client_secret_post (it lists ${supported.join(', ')})`);
}

/** Runs an exchange with the upstream, turning every failure into an {@link UpstreamFailure} (no token in its message). */
async function upstreamCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw classify(error);
  }
}

function classify(error: unknown): unknown {
  if (error instanceof UpstreamFailure) return error;
  if (error instanceof oauth.AuthorizationResponseError) return new UpstreamFailure('refused', `the upstream answered the authorization request with ${error.error}`, error.error);
  if (error instanceof oauth.ResponseBodyError) {
    const kind = error.status >= 500 ? 'unavailable' : 'refused';
    return new UpstreamFailure(kind, `the upstream token endpoint answered ${error.status} ${error.error}`, error.error);
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) return new UpstreamFailure('refused', `the upstream token endpoint refused our client (${error.status})`, 'invalid_client');
  if (error instanceof oauth.OperationProcessingError) {
    // Not OAuth at all (an HTML 502, a proxy's page): the upstream is not working; anything else failed a check.
    const broken = error.code === oauth.RESPONSE_IS_NOT_CONFORM || error.code === oauth.RESPONSE_IS_NOT_JSON;
    return new UpstreamFailure(broken ? 'unavailable' : 'invalid', `the upstream's answer failed a check: ${error.message}`);
  }
  // fetch's network failures are plain TypeErrors; oauth4webapi's argument errors carry a `code` and are bugs.
  if ((error instanceof TypeError && !('code' in error)) || (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError'))) {
    return new UpstreamFailure('unavailable', `the upstream could not be reached: ${error.message}`);
  }
  return error;
}

import * as oauth from 'oauth4webapi';
import { isLoopbackHttp, parseSecureUrl, requireString, type Fetch } from './lib/options.js';

export interface DiscoveryOptions {
  fetch?: Fetch;
  /** Timeout of each metadata request. Default 5000. */
  timeoutMs?: number;
}

/** Discovery failed: the message says which documents were tried and why each was not usable. */
export class DiscoveryError extends Error {
  override readonly name = 'DiscoveryError';
}

/**
 * Fetches an issuer's metadata: RFC 8414 `/.well-known/oauth-authorization-server` first (inserted before
 * the issuer's path, RFC 8414 §3.1), then OpenID Connect Discovery `/.well-known/openid-configuration`
 * (appended to it). The document's `issuer` must equal the configured issuer character for character
 * (RFC 8414 §3.3): tokens are later compared with it exactly, so a trailing-slash mismatch is reported
 * here, at start-up, instead of refusing every token.
 *
 * @example
 * const metadata = await discoverIssuer('https://dev-123.okta.com/oauth2/default');
 * metadata.introspection_endpoint; // 'https://dev-123.okta.com/oauth2/default/v1/introspect'
 * @throws DiscoveryError when neither document is usable.
 */
export async function discoverIssuer(issuer: string, options: DiscoveryOptions = {}): Promise<oauth.AuthorizationServer> {
  const issuerUrl = parseSecureUrl(requireString(issuer, 'issuer'), 'issuer');
  const timeoutMs = options.timeoutMs ?? 5000;
  const problems: string[] = [];
  for (const algorithm of ['oauth2', 'oidc'] as const) {
    try {
      const response = await oauth.discoveryRequest(issuerUrl, {
        algorithm,
        signal: () => AbortSignal.timeout(timeoutMs),
        [oauth.allowInsecureRequests]: isLoopbackHttp(issuerUrl),
        ...(options.fetch === undefined ? {} : { [oauth.customFetch]: options.fetch }),
      });
      const metadata = await oauth.processDiscoveryResponse(issuerUrl, response);
      // oauth4webapi compares the URLs after normalisation; `iss` is compared as a string later.
      if (metadata.issuer !== issuer) {
        throw new Error(`the document names issuer ${JSON.stringify(metadata.issuer)}; configure exactly that`);
      }
      return metadata;
    } catch (err) {
      problems.push(`${algorithm === 'oauth2' ? 'RFC 8414' : 'OpenID Connect'} metadata: ${describe(err)}`);
    }
  }
  throw new DiscoveryError(`Cannot discover the authorization server ${issuer}: ${problems.join('; ')}`);
}

/**
 * Finds an issuer's JWKS by discovery (see {@link discoverIssuer}); the `jwks_uri` must be https (or
 * loopback http).
 *
 * @example
 * const jwksUri = config.jwksUri ?? await resolveJwksUri(config.issuer);
 * const verifier = createJwtVerifier({ issuer: config.issuer, audience, jwksUri });
 * @throws DiscoveryError when discovery fails or the metadata has no usable `jwks_uri`.
 */
export async function resolveJwksUri(issuer: string, options: DiscoveryOptions = {}): Promise<string> {
  const metadata = await discoverIssuer(issuer, options);
  if (typeof metadata.jwks_uri !== 'string') throw new DiscoveryError(`The authorization server ${issuer} publishes no jwks_uri`);
  try {
    return parseSecureUrl(metadata.jwks_uri, 'jwks_uri').href;
  } catch (err) {
    throw new DiscoveryError(`The authorization server ${issuer} publishes an unusable jwks_uri: ${(err as Error).message}`);
  }
}

/**
 * The issuer of an Okta custom authorization server, for the `OKTA_DOMAIN` / `OKTA_AUTH_SERVER_ID`
 * shorthands: `https://DOMAIN/oauth2/ID`. (Okta's org authorization server, `https://DOMAIN`, issues
 * tokens only for Okta's own APIs, so it is not a choice here.)
 *
 * @example
 * oktaIssuer('dev-123.okta.com');               // 'https://dev-123.okta.com/oauth2/default'
 * oktaIssuer('https://dev-123.okta.com/', 'aus1'); // 'https://dev-123.okta.com/oauth2/aus1'
 */
export function oktaIssuer(domain: string, authServerId = 'default'): string {
  const host = requireString(domain, 'OKTA_DOMAIN')
    .replace(/^https:\/\//i, '')
    .replace(/\/+$/, '');
  if (!/^[a-z0-9.-]+(:\d+)?$/i.test(host)) throw new TypeError(`OKTA_DOMAIN must be a host name such as dev-123.okta.com, got ${JSON.stringify(domain)}`);
  if (!/^[A-Za-z0-9_-]+$/.test(requireString(authServerId, 'OKTA_AUTH_SERVER_ID'))) {
    throw new TypeError(`OKTA_AUTH_SERVER_ID must be an authorization server id such as default or aus1a2b3c, got ${JSON.stringify(authServerId)}`);
  }
  return `https://${host.toLowerCase()}/oauth2/${authServerId}`;
}

function describe(err: unknown): string {
  if (err instanceof oauth.OperationProcessingError && err.cause instanceof Response) return `HTTP ${err.cause.status}`;
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

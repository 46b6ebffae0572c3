import type { AuthInfo } from '../core/auth.js';
import {
  buildAuthInfo,
  firstStringClaim,
  scopeListClaim,
  scopeStringClaim,
  stringArrayClaim,
  stringClaim,
  type Claims,
  type Identity,
} from './lib/claims.js';

export type { Claims, Identity } from './lib/claims.js';

/** The built-in claim formats (`--provider` / `OAUTH_PROVIDER`). */
export type ProviderName = 'okta' | 'auth0' | 'keycloak' | 'entra' | 'generic';

/**
 * How one identity provider writes subject, client and scopes into its access tokens (and introspection
 * responses), and which `iss` values stand for a configured issuer.
 *
 * @example
 * const custom: ClaimPreset = {
 *   name: 'acme',
 *   acceptedIssuers: (issuer) => [issuer],
 *   identity: (claims) => ({ subject: claims.sub as string, clientId: claims.client_id as string, scopes: [] }),
 * };
 */
export interface ClaimPreset {
  readonly name: string;
  /** Exact `iss` values accepted for the configured issuer (compared as strings, never normalised). */
  acceptedIssuers(issuer: string): readonly string[];
  /** Reads subject, client id and scopes; throws `invalid_token` for a claim of the wrong type. */
  identity(claims: Claims): Identity;
}

const exactIssuer = (issuer: string): readonly string[] => [issuer];

/** RFC 7662 §2.2 / RFC 9068 §2.2 standard members, the fallback of every preset (introspection answers). */
const standardScope = (claims: Claims): readonly string[] => scopeStringClaim(claims, 'scope') ?? [];

const ENTRA_V1 = /^https:\/\/sts\.windows\.net\/([^/]+)\/$/;
const ENTRA_V2 = /^https:\/\/login\.microsoftonline\.com\/([^/]+)\/v2\.0$/;

/**
 * The built-in presets. Every preset falls back to the standard members (`scope` string, `client_id`) where
 * its own claim is absent, so the same preset also reads RFC 7662 introspection responses.
 *
 * | preset | subject | client id | scopes | issuers accepted |
 * |---|---|---|---|---|
 * | `okta` | `sub` (the login), else `uid` | `cid`, else `client_id` | `scp` (array); else `scope` (string, Okta introspection) | the configured one |
 * | `auth0` | `sub` (`<client>@clients` for client credentials) | `azp`, else `client_id` | `scope` (string) merged with `permissions` (array, Auth0 RBAC) | the configured one (Auth0's ends in `/`) |
 * | `keycloak` | `sub` | `azp`, else `client_id` | `scope` (string); realm and client roles (`realm_access`, `resource_access`) are **not** scopes and stay in `claims` | the configured one (`https://HOST/realms/REALM`) |
 * | `entra` | `sub` (pairwise; `oid` stays in `claims`) | `azp` (v2), else `appid` (v1), else `client_id` | `scp` (space string) for delegated tokens; `roles` (array) for app-only tokens, which have no `scp` | v1 `https://sts.windows.net/{tid}/` and v2 `https://login.microsoftonline.com/{tid}/v2.0` of the configured tenant, whichever of the two is configured |
 * | `generic` | `sub` | `client_id`, else `azp`, else `cid` | `scope` (string), else `scp` (string or array) | the configured one |
 *
 * For all presets: with no subject claim (client-credentials tokens), the subject is the client id; a
 * token that names no client is refused (`invalid_token`); `audience` is `aud` as a list, `expiresAt` is
 * `exp`, `issuer` is `iss`, `claims` holds every claim. A claim present with the wrong type (say `scp` a
 * number) refuses the token rather than being ignored.
 *
 * @example
 * const auth = toAuthInfo(presets.okta, { iss, aud: 'api://default', exp, sub: 'ada@example.com', cid: '0oa1', scp: ['incidents:read'] });
 * auth.scopes; // ['incidents:read']
 */
export const presets: Readonly<Record<ProviderName, ClaimPreset>> = Object.freeze({
  okta: {
    name: 'okta',
    acceptedIssuers: exactIssuer,
    identity: (claims) => ({
      subject: firstStringClaim(claims, 'sub', 'uid'),
      clientId: firstStringClaim(claims, 'cid', 'client_id'),
      scopes: stringArrayClaim(claims, 'scp') ?? standardScope(claims),
    }),
  },
  auth0: {
    name: 'auth0',
    acceptedIssuers: exactIssuer,
    identity: (claims) => ({
      subject: stringClaim(claims, 'sub'),
      clientId: firstStringClaim(claims, 'azp', 'client_id'),
      scopes: [...standardScope(claims), ...(stringArrayClaim(claims, 'permissions') ?? [])],
    }),
  },
  keycloak: {
    name: 'keycloak',
    acceptedIssuers: exactIssuer,
    identity: (claims) => ({
      subject: stringClaim(claims, 'sub'),
      clientId: firstStringClaim(claims, 'azp', 'client_id'),
      scopes: standardScope(claims),
    }),
  },
  entra: {
    name: 'entra',
    acceptedIssuers: (issuer) => {
      // A tenant's API may receive v1 or v2 tokens depending on its `accessTokenAcceptedVersion`;
      // both issuers name the same tenant, so configuring either accepts both (and nothing else).
      const tenant = ENTRA_V1.exec(issuer)?.[1] ?? ENTRA_V2.exec(issuer)?.[1];
      return tenant === undefined ? [issuer] : [`https://sts.windows.net/${tenant}/`, `https://login.microsoftonline.com/${tenant}/v2.0`];
    },
    identity: (claims) => ({
      subject: stringClaim(claims, 'sub'),
      clientId: firstStringClaim(claims, 'azp', 'appid', 'client_id'),
      // Delegated tokens carry `scp`; app-only (client-credentials) tokens carry application `roles` instead.
      scopes: scopeStringClaim(claims, 'scp') ?? stringArrayClaim(claims, 'roles') ?? standardScope(claims),
    }),
  },
  generic: {
    name: 'generic',
    acceptedIssuers: exactIssuer,
    identity: (claims) => ({
      subject: stringClaim(claims, 'sub'),
      clientId: firstStringClaim(claims, 'client_id', 'azp', 'cid'),
      scopes: scopeListClaim(claims, 'scope') ?? scopeListClaim(claims, 'scp') ?? [],
    }),
  },
});

/**
 * Resolves a provider name (or a custom preset) to its preset; `undefined` gives `generic`.
 *
 * @example
 * const preset = resolvePreset(config.provider); // presets.okta for 'okta'
 * @throws TypeError for an unknown name, so a typo fails at start-up.
 */
export function resolvePreset(provider: ProviderName | ClaimPreset | undefined): ClaimPreset {
  if (provider === undefined) return presets.generic;
  if (typeof provider === 'object') return provider;
  if (!Object.hasOwn(presets, provider)) {
    throw new TypeError(`provider must be one of ${Object.keys(presets).join(', ')}, got ${JSON.stringify(provider)}`);
  }
  return presets[provider];
}

/**
 * Maps verified claims to the caller's {@link AuthInfo} with a preset. Does not check signature, issuer,
 * audience or time: the verifiers do that before calling it.
 *
 * @example
 * const auth = toAuthInfo(presets.entra, claims);
 */
export function toAuthInfo(preset: ClaimPreset, claims: Claims, fallbackIssuer?: string): AuthInfo {
  return buildAuthInfo(preset.identity(claims), claims, fallbackIssuer, preset.name);
}

import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * One option of `serve` and `proxy`: its flag, its environment variables (first set wins) and its doc line.
 * The configuration reference (docs/configuration.md) is generated from this table, so it cannot drift.
 */
export interface OptionSpec {
  key: keyof RawConfig;
  /** Absent for secrets, which are read from the environment only (a flag would show in `ps`). */
  flag?: string;
  env: readonly string[];
  value?: string;
  description: string;
  default?: string;
  /** Set for an option of that command only (`serve` does not offer it); absent: both commands. */
  only?: 'proxy';
}

const PROVIDERS = ['okta', 'auth0', 'keycloak', 'entra', 'generic'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const BACKEND_TOKENS = ['none', 'jwt'] as const;
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  { key: 'port', flag: '--port', env: ['PORT'], value: 'n', default: '9001', description: 'listen port (0 = any free port; the chosen port is printed)' },
  { key: 'host', flag: '--host', env: ['HOST'], value: 'addr', default: '127.0.0.1', description: 'listen address' },
  { key: 'publicUrl', flag: '--public-url', env: ['PUBLIC_URL'], value: 'url', default: 'http://HOST:PORT', description: 'canonical external base URL; the MCP resource is PUBLIC_URL/mcp' },
  { key: 'store', flag: '--store', env: ['PORTCULLIS_STORE'], value: 'url', default: 'sqlite:./data/portcullis.db', description: 'memory:, sqlite:PATH, redis://HOST:PORT[/DB][?prefix=NAME] or postgres://USER@HOST:PORT/DB[?schema=NAME]; instances sharing a Redis or PostgreSQL store serve one URL together (docs/deployment.md)' },
  { key: 'issuer', flag: '--issuer', env: ['OAUTH_ISSUER'], value: 'url', description: 'external authorization server issuer (resource-server mode)' },
  { key: 'audience', flag: '--audience', env: ['OAUTH_AUDIENCE', 'OKTA_AUDIENCE'], value: 'aud', default: 'the resource URL', description: 'the `aud` tokens must carry' },
  { key: 'jwksUri', flag: '--jwks-uri', env: ['OAUTH_JWKS_URI'], value: 'url', default: 'from discovery', description: "the issuer's JWKS" },
  { key: 'provider', flag: '--provider', env: ['OAUTH_PROVIDER'], value: 'name', default: 'generic', description: `claim format: ${PROVIDERS.join(', ')}` },
  { key: 'algorithms', flag: '--algorithms', env: ['OAUTH_ALGORITHMS'], value: 'list', default: 'RS256,ES256', description: 'JWS algorithms accepted (fixed here, never taken from the token)' },
  { key: 'requireAtJwt', flag: '--require-at-jwt', env: ['OAUTH_REQUIRE_AT_JWT'], value: 'bool', default: 'false', description: 'require RFC 9068 `typ: at+jwt` access tokens' },
  { key: 'introspectionUrl', flag: '--introspection-url', env: ['OAUTH_INTROSPECTION_URL'], value: 'url', description: 'validate tokens by RFC 7662 introspection instead of JWT' },
  { key: 'clientId', flag: '--client-id', env: ['OAUTH_CLIENT_ID'], value: 'id', description: 'client id for introspection' },
  { key: 'clientSecret', flag: '--client-secret', env: ['OAUTH_CLIENT_SECRET'], value: 'secret', description: 'client secret for introspection (prefer the environment variable)' },
  { key: 'requiredScopes', flag: '--required-scopes', env: ['MCP_REQUIRED_SCOPES'], value: 'list', description: 'scopes every MCP request needs (space- or comma-separated)' },
  { key: 'allowedOrigins', flag: '--allowed-origins', env: ['PORTCULLIS_ALLOWED_ORIGINS'], value: 'list', description: 'browser origins allowed besides PUBLIC_URL and loopback' },
  { key: 'allowedHosts', flag: '--allowed-hosts', env: ['PORTCULLIS_ALLOWED_HOSTS'], value: 'list', description: 'Host header values allowed besides PUBLIC_URL and loopback' },
  { key: 'logLevel', flag: '--log-level', env: ['LOG_LEVEL'], value: 'level', default: 'info', description: `${LOG_LEVELS.join(', ')}; JSON lines on stdout` },
  { key: 'refreshGraceSeconds', flag: '--refresh-grace-seconds', env: ['PORTCULLIS_REFRESH_GRACE_SECONDS'], value: 's', default: '30', description: 'embedded AS: reuse of a just-rotated refresh token by its client within this many seconds returns the same successor; 0 = off' },
  { key: 'accessTokenTtl', flag: '--access-token-ttl', env: ['PORTCULLIS_ACCESS_TOKEN_TTL'], value: 's', default: '3600', description: 'embedded AS: access-token lifetime in seconds' },
  { key: 'registrationLimit', flag: '--registration-limit', env: ['PORTCULLIS_REGISTRATION_LIMIT'], value: 'n', default: '30', description: 'embedded AS: dynamic registrations allowed per client address per minute' },
  { key: 'cimdAllowedHosts', flag: '--cimd-allowed-hosts', env: ['PORTCULLIS_CIMD_ALLOWED_HOSTS'], value: 'list', description: 'embedded AS: hosts whose client ID metadata documents may be fetched despite the SSRF rules (e.g. a test server on loopback)' },
  { key: 'secret', env: ['PORTCULLIS_SECRET'], value: 'secret', description: 'embedded AS: server secret (32+ characters) that encrypts private keys at rest; without it they are stored unencrypted and start-up warns' },
  { key: 'adminPassword', env: ['PORTCULLIS_ADMIN_PASSWORD'], value: 'password', default: 'random, printed once', description: 'embedded AS: password of the first user `admin` on an empty store (ignored once users exist)' },
  { key: 'upstreamIssuer', flag: '--upstream-issuer', env: ['PORTCULLIS_UPSTREAM_ISSUER'], value: 'url', description: 'embedded AS: federated login — people sign in at this OpenID Provider (discovered at start-up) instead of the password page; MCP clients still register here (docs/authorization-server.md, "Federated login")' },
  { key: 'upstreamClientId', flag: '--upstream-client-id', env: ['PORTCULLIS_UPSTREAM_CLIENT_ID'], value: 'id', description: 'federated login: our client id, pre-registered at the upstream with the redirect URI PUBLIC_URL/oauth/upstream/callback' },
  { key: 'upstreamClientSecret', env: ['PORTCULLIS_UPSTREAM_CLIENT_SECRET'], value: 'secret', description: "federated login: our client secret at the upstream (client_secret_basic or _post, as its metadata allows); without it, a public client with PKCE" },
  { key: 'upstreamScopes', flag: '--upstream-scopes', env: ['PORTCULLIS_UPSTREAM_SCOPES'], value: 'list', default: 'openid profile email', description: 'federated login: the scopes asked of the upstream; must include openid (add offline_access where the upstream issues refresh tokens only for it)' },
  { key: 'upstreamUserScopes', flag: '--upstream-user-scopes', env: ['PORTCULLIS_UPSTREAM_USER_SCOPES'], value: 'list', default: "the resource's basic scope (incidents:read for serve) and --required-scopes", description: 'federated login: the scopes a user signing in upstream for the first time may grant' },
  { key: 'oktaDomain', flag: '--okta-domain', env: ['OKTA_DOMAIN'], value: 'host', description: 'Okta shorthand: issuer https://DOMAIN/oauth2/OKTA_AUTH_SERVER_ID, provider okta' },
  { key: 'oktaAuthServerId', flag: '--okta-auth-server-id', env: ['OKTA_AUTH_SERVER_ID'], value: 'id', default: 'default', description: 'Okta custom authorization server id' },
  { key: 'oktaIssuer', flag: '--okta-issuer', env: ['OKTA_ISSUER'], value: 'url', description: 'Okta issuer, when it is not DOMAIN/oauth2/ID' },
  { key: 'backendUrl', flag: '--backend-url', env: ['PORTCULLIS_BACKEND_URL'], value: 'url', only: 'proxy', description: 'proxy: the Streamable HTTP MCP endpoint to protect, e.g. http://127.0.0.1:8080/mcp (docs/gateway.md)' },
  { key: 'backendEnv', flag: '--backend-env', env: ['PORTCULLIS_BACKEND_ENV'], value: 'list', only: 'proxy', description: 'proxy, stdio backend (`portcullis proxy -- COMMAND ARGS`): names of the environment variables the command gets; it gets only these and PATH, never the gateway\'s secrets' },
  { key: 'toolScopes', flag: '--tool-scopes', env: ['PORTCULLIS_TOOL_SCOPES'], value: 'file', only: 'proxy', description: 'proxy: JSON file mapping tool-name patterns to the scopes a tools/call needs (docs/gateway.md); without it any valid token may call every tool. `token`, `users add` and `clients add` read it too' },
  { key: 'backendToken', flag: '--backend-token', env: ['PORTCULLIS_BACKEND_TOKEN'], value: 'kind', default: 'none', only: 'proxy', description: `proxy: ${BACKEND_TOKENS.join(' or ')}; jwt sends the backend a JWT signed by the gateway (aud = the backend URL, the caller as sub, client_id and scope, 60 s) in Authorization; needs the embedded AS` },
];

export type RawConfig = Partial<Record<
  | 'port' | 'host' | 'publicUrl' | 'store' | 'issuer' | 'audience' | 'jwksUri' | 'provider' | 'algorithms' | 'requireAtJwt'
  | 'introspectionUrl' | 'clientId' | 'clientSecret' | 'requiredScopes' | 'allowedOrigins' | 'allowedHosts' | 'logLevel'
  | 'oktaDomain' | 'oktaAuthServerId' | 'oktaIssuer'
  | 'refreshGraceSeconds' | 'accessTokenTtl' | 'registrationLimit' | 'cimdAllowedHosts' | 'secret' | 'adminPassword'
  | 'backendUrl' | 'backendEnv' | 'toolScopes' | 'backendToken'
  | 'upstreamIssuer' | 'upstreamClientId' | 'upstreamClientSecret' | 'upstreamScopes' | 'upstreamUserScopes',
  string
>>;

const list = z.string().transform((s) => s.split(/[\s,]+/).filter(Boolean));
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const Schema = z.object({
  port: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0).max(65535).default(9001),
  host: z.string().min(1).default('127.0.0.1'),
  publicUrl: httpUrl.refine((u) => !new URL(u).search && !new URL(u).hash, 'must have no query or fragment').optional(),
  store: z.string().regex(/^(memory:|sqlite:.+|redis:\/\/.+|rediss:\/\/.+|postgres(ql)?:\/\/.+)$/, 'must be memory:, sqlite:PATH, redis://… or postgres://…').default('sqlite:./data/portcullis.db'),
  issuer: httpUrl.optional(),
  audience: z.string().min(1).optional(),
  jwksUri: httpUrl.optional(),
  provider: z.enum(PROVIDERS, { error: `must be one of ${PROVIDERS.join(', ')}` }).optional(),
  algorithms: list.pipe(z.array(z.enum(ALGORITHMS, { error: `each must be one of ${ALGORITHMS.join(', ')}` })).min(1)).default(['RS256', 'ES256']),
  requireAtJwt: z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1').default(false),
  introspectionUrl: httpUrl.optional(),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  requiredScopes: list.default([]),
  allowedOrigins: list.pipe(z.array(httpUrl)).default([]),
  allowedHosts: list.default([]),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  oktaDomain: z.string().regex(/^[a-z0-9.-]+$/i, 'must be a host name such as dev-123.okta.com').optional(),
  oktaAuthServerId: z.string().min(1).default('default'),
  oktaIssuer: httpUrl.optional(),
  refreshGraceSeconds: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0).max(3600).default(30),
  accessTokenTtl: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(60).max(86400).default(3600),
  registrationLimit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1).max(100000).default(30),
  cimdAllowedHosts: list.default([]),
  secret: z.string().min(32, 'must be at least 32 characters (use e.g. `openssl rand -base64 32`)').optional(),
  adminPassword: z.string().min(8, 'must be at least 8 characters').optional(),
  backendUrl: httpUrl.refine((u) => !new URL(u).hash, 'must have no fragment').optional(),
  backendEnv: list.pipe(z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be environment variable names'))).optional(),
  toolScopes: z.string().min(1).optional(),
  backendToken: z.enum(BACKEND_TOKENS, { error: `must be one of ${BACKEND_TOKENS.join(', ')}` }).default('none'),
  upstreamIssuer: httpUrl.optional(),
  upstreamClientId: z.string().min(1).optional(),
  upstreamClientSecret: z.string().min(1).optional(),
  upstreamScopes: list.pipe(z.array(z.string()).refine((scopes) => scopes.includes('openid'), 'must include openid (the ID token names the user)')).optional(),
  upstreamUserScopes: list.pipe(z.array(z.string()).min(1, 'must name at least one scope')).optional(),
});

type Parsed = z.infer<typeof Schema>;

/** The validated configuration of `serve` and `proxy` (and of the admin commands, which read the same). */
export interface Config extends Omit<Parsed, 'publicUrl' | 'provider' | 'oktaDomain' | 'oktaAuthServerId' | 'oktaIssuer'> {
  /** Explicit public URL; otherwise derived from the bound address after listening. */
  publicUrl: string | undefined;
  provider: NonNullable<Parsed['provider']>;
  /** `portcullis proxy -- COMMAND ARGS…`: a stdio backend to run (from the command line only, never env or file). */
  backendCommand?: readonly string[];
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/**
 * Merges flags over environment over a config file (`--config portcullis.json`, keys as in {@link RawConfig})
 * over defaults, and validates the result in one place. Problems come back one line each, naming the
 * flag and the variable, so the CLI can print them and exit 2.
 *
 * @example
 * const result = loadConfig({ port: '0' }, process.env);
 * if (!result.ok) { for (const p of result.problems) console.error(p); process.exit(2); }
 */
export function loadConfig(flags: RawConfig, env: NodeJS.ProcessEnv, configFile?: string): ConfigResult {
  const problems: string[] = [];
  let file: RawConfig = {};
  if (configFile) {
    try {
      file = fileConfig(JSON.parse(readFileSync(configFile, 'utf8')));
    } catch (error) {
      return { ok: false, problems: [`--config: cannot read ${configFile}: ${(error as Error).message}`] };
    }
  }
  const raw: Record<string, string> = {};
  for (const spec of SERVE_OPTIONS) {
    const fromEnv = spec.env.map((name) => env[name]).find((v) => v !== undefined && v !== '');
    const value = flags[spec.key] ?? fromEnv ?? file[spec.key];
    if (value !== undefined) raw[spec.key] = value;
  }
  const parsed = Schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const spec = SERVE_OPTIONS.find((s) => s.key === issue.path[0]);
      const name = spec ? [spec.flag, ...spec.env].filter(Boolean).join(' / ') : String(issue.path[0]);
      problems.push(`${name}: ${issue.message}`);
    }
    return { ok: false, problems };
  }
  const { oktaDomain, oktaAuthServerId, oktaIssuer, ...rest } = parsed.data;
  let issuer = rest.issuer;
  let provider = rest.provider;
  if (!issuer && (oktaIssuer || oktaDomain)) {
    issuer = oktaIssuer ?? `https://${oktaDomain}/oauth2/${oktaAuthServerId}`;
    provider ??= 'okta';
  }
  if (rest.introspectionUrl && (!rest.clientId || !rest.clientSecret)) {
    problems.push('--introspection-url / OAUTH_INTROSPECTION_URL needs --client-id / OAUTH_CLIENT_ID and --client-secret / OAUTH_CLIENT_SECRET');
  }
  if (rest.introspectionUrl && !issuer) {
    problems.push('--introspection-url / OAUTH_INTROSPECTION_URL needs --issuer / OAUTH_ISSUER (the authorization server clients are sent to)');
  }
  problems.push(...upstreamProblems(rest, issuer));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, config: { ...rest, issuer, provider: provider ?? 'generic', publicUrl: rest.publicUrl?.replace(/\/+$/, '') } };
}

/** Federated login needs its client id, and the embedded AS (there is none in resource-server mode). */
function upstreamProblems(options: Pick<Parsed, 'upstreamIssuer' | 'upstreamClientId' | 'upstreamClientSecret' | 'upstreamScopes' | 'upstreamUserScopes'>, issuer: string | undefined): string[] {
  const given = (['upstreamClientId', 'upstreamClientSecret', 'upstreamScopes', 'upstreamUserScopes'] as const).filter((key) => options[key] !== undefined);
  if (options.upstreamIssuer === undefined) {
    if (given.length === 0) return [];
    const names = given.map((key) => optionName(key)).join(', ');
    return [`${names}: federated login needs --upstream-issuer / PORTCULLIS_UPSTREAM_ISSUER`];
  }
  if (issuer) return ['--upstream-issuer / PORTCULLIS_UPSTREAM_ISSUER: federated login is a feature of the embedded authorization server, but --issuer / OAUTH_ISSUER (or OKTA_*) selects resource-server mode, where there is none'];
  if (options.upstreamClientId === undefined) return ['--upstream-issuer / PORTCULLIS_UPSTREAM_ISSUER needs --upstream-client-id / PORTCULLIS_UPSTREAM_CLIENT_ID (the client pre-registered at the upstream)'];
  return [];
}

/** `--flag / ENV` of an option, as problems name it. */
function optionName(key: keyof RawConfig): string {
  const spec = SERVE_OPTIONS.find((s) => s.key === key)!;
  return [spec.flag, ...spec.env].filter(Boolean).join(' / ');
}

function fileConfig(value: unknown): RawConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the file must hold a JSON object');
  const out: RawConfig = {};
  for (const [key, v] of Object.entries(value)) {
    if (!SERVE_OPTIONS.some((s) => s.key === key)) throw new Error(`unknown key "${key}"`);
    out[key as keyof RawConfig] = Array.isArray(v) ? v.join(' ') : String(v);
  }
  return out;
}

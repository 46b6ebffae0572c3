import type { Command } from 'commander';
import { hashClientSecret, randomToken } from '../authorization-server/secrets.js';
import type { ClientRecord, TokenEndpointAuthMethod } from '../stores/auth-types.js';
import { addConfigOptions, failure, nowSeconds, out, runAdmin, splitList, usage, type SetExitCode } from './lib/admin.js';
import { checkScopes, resourceScopes } from './lib/embedded.js';

const GRANT_TYPES = ['client_credentials', 'authorization_code', 'refresh_token'] as const;
const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];

interface AddOptions {
  name?: string;
  grantTypes: string;
  scope?: string;
  redirectUri: string[];
  authMethod: string;
  json?: boolean;
}

/**
 * `portcullis clients add|list|remove`: clients made by an admin — above all `client_credentials` clients,
 * which act for no user and so are never created by anonymous registration (issue 3 item 6). The secret
 * is printed once and stored as an scrypt hash; it cannot be shown again.
 *
 * @example
 * portcullis clients add --name reporting --grant-types client_credentials --scope "incidents:read" --json
 * // {"client_id":"…","client_secret":"…","client_name":"reporting","grant_types":["client_credentials"],…}
 */
export function registerClientsCommand(program: Command, setExitCode: SetExitCode): void {
  const clients = program.command('clients').description('manage the OAuth clients of the embedded authorization server');

  addConfigOptions(
    clients
      .command('add')
      .description('add a client; its secret is printed once')
      .requiredOption('--name <name>', 'client name, shown on the consent page')
      .option('--grant-types <list>', `any of ${GRANT_TYPES.join(', ')}`, 'client_credentials')
      .option('--scope <scopes>', "the most the client may get (default: the resource's scopes, without mcp:admin)")
      .option('--redirect-uri <uri>', 'a redirect URI (repeatable; authorization_code needs one)', (value: string, previous: string[]) => [...previous, value], [] as string[])
      .option('--auth-method <method>', `token endpoint auth: ${AUTH_METHODS.join(', ')} (none: a public client, no secret)`, 'client_secret_basic')
      .option('--json', 'print the registration as JSON (RFC 7591 §3.2.1 members)'),
    ['store', 'toolScopes', 'logLevel'],
  ).action((options: AddOptions) =>
    runAdmin(options, setExitCode, async ({ config, store }) => {
      const scopes = resourceScopes(config, store);
      const scope = options.scope === undefined ? [...scopes.defaults] : splitList(options.scope);
      checkScopes(scope, scopes);
      const { grantTypes, authMethod, redirectUris } = checkAdd(options);
      const name = options.name!.trim();
      if (name.length === 0 || name.length > 200) throw usage('--name must be 1 to 200 characters');

      const clientId = randomToken(16);
      const secret = authMethod === 'none' ? undefined : randomToken();
      const metadata = {
        client_name: name,
        grant_types: grantTypes,
        response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
        token_endpoint_auth_method: authMethod,
        scope: scope.join(' '),
        ...(redirectUris.length > 0 ? { redirect_uris: redirectUris } : {}),
      };
      const record: ClientRecord = {
        clientId,
        ...(secret === undefined ? {} : { secretHash: hashClientSecret(secret) }),
        name,
        redirectUris,
        grantTypes,
        responseTypes: metadata.response_types,
        tokenEndpointAuthMethod: authMethod,
        scope: scope.join(' '),
        origin: 'admin',
        metadata,
        createdAt: nowSeconds(),
      };
      await store.clients.create(record);

      if (options.json) {
        out(JSON.stringify({ client_id: clientId, ...(secret === undefined ? {} : { client_secret: secret, client_secret_expires_at: 0 }), client_id_issued_at: record.createdAt, ...metadata }));
        return;
      }
      out(`added client ${name}`);
      out(`client_id: ${clientId}`);
      if (secret !== undefined) {
        out(`client_secret: ${secret}`);
        out('the secret is shown only now: it is stored hashed and cannot be shown again');
      }
    }),
  );

  addConfigOptions(clients.command('list').description('list the clients').option('--json', 'print JSON'), ['store', 'logLevel']).action((options: { json?: boolean }) =>
    runAdmin(options, setExitCode, async ({ store }) => {
      const all = await store.clients.list();
      if (options.json) {
        out(JSON.stringify(all.map((c) => ({ client_id: c.clientId, client_name: c.name, origin: c.origin, grant_types: c.grantTypes, token_endpoint_auth_method: c.tokenEndpointAuthMethod, scope: c.scope, redirect_uris: c.redirectUris, created_at: c.createdAt }))));
        return;
      }
      if (all.length === 0) return out('no clients');
      for (const c of all) out(`${c.clientId}\t${c.name}\t${c.origin}\t${c.grantTypes.join(',')}\t${c.tokenEndpointAuthMethod}\t${c.scope ?? '-'}`);
    }),
  );

  addConfigOptions(clients.command('remove <client_id>').description('remove a client and its grants, refresh tokens and consents'), ['store', 'logLevel']).action(
    (clientId: string, options: object) =>
      runAdmin(options, setExitCode, async ({ store }) => {
        if (!(await store.clients.remove(clientId))) throw failure(`no client ${clientId}`);
        out(`removed client ${clientId}`);
      }),
  );
}

/** The combinations that make a working client, refused (exit 2) with the reason otherwise. */
function checkAdd(options: AddOptions): { grantTypes: string[]; authMethod: TokenEndpointAuthMethod; redirectUris: string[] } {
  const grantTypes = [...new Set(splitList(options.grantTypes))];
  const unknown = grantTypes.filter((g) => !(GRANT_TYPES as readonly string[]).includes(g));
  if (grantTypes.length === 0 || unknown.length > 0) throw usage(`--grant-types: each must be one of ${GRANT_TYPES.join(', ')}`);
  if (!(AUTH_METHODS as readonly string[]).includes(options.authMethod)) throw usage(`--auth-method must be one of ${AUTH_METHODS.join(', ')}`);
  const authMethod = options.authMethod as TokenEndpointAuthMethod;
  const code = grantTypes.includes('authorization_code');
  if (grantTypes.includes('refresh_token') && !code) throw usage('--grant-types: refresh_token comes with authorization_code');
  if (grantTypes.includes('client_credentials') && authMethod === 'none') throw usage('--auth-method none: a client_credentials client must authenticate (RFC 6749 §4.4)');
  if (code && options.redirectUri.length === 0) throw usage('--redirect-uri: authorization_code needs at least one');
  if (!code && options.redirectUri.length > 0) throw usage('--redirect-uri: only authorization_code clients are redirected');
  for (const uri of options.redirectUri) {
    const problem = redirectUriProblem(uri);
    if (problem) throw usage(`--redirect-uri ${JSON.stringify(uri)}: ${problem}`);
  }
  return { grantTypes, authMethod, redirectUris: [...new Set(options.redirectUri)] };
}

/**
 * The redirect URI rules of issue 3 item 6 (RFC 6749 §3.1.2, RFC 8252 §7): absolute, no fragment; https, or
 * http on a loopback address, or a private-use scheme with a dot (`com.example.app:/cb`); never
 * `javascript:`, `data:`, `file:`.
 */
function redirectUriProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URI';
  }
  if (url.hash || value.includes('#')) return 'must have no fragment (RFC 6749 §3.1.2)';
  const scheme = url.protocol.slice(0, -1);
  if (['javascript', 'data', 'file', 'vbscript', 'blob'].includes(scheme)) return `the ${scheme}: scheme is refused`;
  if (scheme === 'https') return undefined;
  if (scheme === 'http') return ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname) ? undefined : 'http is allowed on loopback only (RFC 8252 §7.3); use https';
  return scheme.includes('.') ? undefined : 'a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)';
}

import type { Command } from 'commander';
import { issueAccessToken } from '../authorization-server/tokens.js';
import { userSubject } from '../authorization-server/users.js';
import { addConfigOptions, failure, nowSeconds, out, runAdmin, splitList, usage, type SetExitCode } from './lib/admin.js';
import { checkScopes, embeddedUrls, openKeyRing, resourceScopes } from './lib/embedded.js';

/** The client a minted token names when `--client` is not given. */
export const CLI_CLIENT_ID = 'portcullis-cli';

interface TokenOptions {
  scope?: string;
  client?: string;
  sub?: string;
  ttl?: string;
  json?: boolean;
}

/**
 * `portcullis token`: prints an access token of the embedded authorization server for curl and scripts,
 * signed with the store's active key, so a `serve` on the same store (and the same `--public-url`, or
 * `--host`/`--port`, which make `iss` and `aud`) accepts it.
 *
 * - `--sub USER`: a token for that user (`sub` is the user's subject); scopes must be the user's.
 *   Without it, the token acts for the client alone (`sub` = the client id, RFC 9068 §2.2).
 * - `--client ID`: a registered client (default `portcullis-cli`, which needs no registration).
 * - `--scope "S"`: default the resource's scopes (intersected with the user's); `mcp:admin` only when asked.
 * - `--ttl SECONDS`: default and at most the access-token lifetime (keys stay published that long).
 * - `--tool-scopes FILE`: for a `proxy`, its scope file, so the scopes known are the gateway's.
 *
 * @example
 * curl -H "Authorization: Bearer $(portcullis token --scope incidents:read)" http://127.0.0.1:9001/mcp/tools
 */
export function registerTokenCommand(program: Command, setExitCode: SetExitCode): void {
  addConfigOptions(
    program
      .command('token')
      .description('print an access token of the embedded authorization server')
      .option('--scope <scopes>', "scopes (default: the resource's scopes)")
      .option('--client <id>', `client id (default: ${CLI_CLIENT_ID})`)
      .option('--sub <username>', 'a user to act for (default: none, the token acts for the client)')
      .option('--ttl <seconds>', 'lifetime in seconds (default and maximum: the access-token lifetime)')
      .option('--json', 'print a token response (access_token, token_type, expires_in, scope)'),
    ['store', 'publicUrl', 'port', 'host', 'accessTokenTtl', 'toolScopes', 'logLevel'],
  ).action((options: TokenOptions) =>
    runAdmin(options, setExitCode, async ({ config, store, logger }) => {
      if (config.issuer) throw usage('token mints tokens of the embedded authorization server, but --issuer / OAUTH_ISSUER is set: serve would not accept them');
      const { issuer, resource } = embeddedUrls(config);
      const ttl = options.ttl === undefined ? config.accessTokenTtl : Number(options.ttl);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > config.accessTokenTtl) {
        throw usage(`--ttl must be a whole number of seconds from 1 to ${config.accessTokenTtl} (the access-token lifetime, --access-token-ttl)`);
      }
      const scopes = resourceScopes(config, store);
      let requested = options.scope === undefined ? [...scopes.defaults] : splitList(options.scope);
      checkScopes(requested, scopes);

      const clientId = options.client ?? CLI_CLIENT_ID;
      if (options.client !== undefined && !(await store.clients.get(clientId))) throw failure(`no client ${clientId} (see clients list)`);
      let subject = clientId;
      if (options.sub !== undefined) {
        const user = await store.users.getByUsername(options.sub);
        if (!user) throw failure(`no user named ${options.sub} (see users list)`);
        if (options.scope === undefined) requested = requested.filter((s) => user.scopes.includes(s));
        const missing = requested.filter((s) => !user.scopes.includes(s));
        if (missing.length > 0) throw usage(`user ${user.username} does not hold ${missing.join(' ')}`);
        subject = userSubject(user);
      }

      const keys = await openKeyRing(config, store, logger);
      const issued = await issueAccessToken(
        { issuer, resource, keys, accessTokenTtl: config.accessTokenTtl, now: nowSeconds },
        { subject, clientId, scopes: requested, ttl },
      );
      if (options.json) {
        out(JSON.stringify({ access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: requested.join(' ') }));
      } else {
        out(issued.token);
      }
    }),
  );
}

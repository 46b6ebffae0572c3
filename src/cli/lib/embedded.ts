import { registerIncidents } from '../../apps/incidents/index.js';
import type { Config } from '../../core/config.js';
import { publicBaseUrl, resourceUrl } from '../../core/urls.js';
import type { Logger } from '../../core/log.js';
import { createKeyRing, type RotatingKeyRing } from '../../authorization-server/keys.js';
import { serverSecrets } from '../../authorization-server/secrets.js';
import { ADMIN_SCOPE } from '../../authorization-server/users.js';
import { Registry } from '../../mcp/registry.js';
import type { Store } from '../../stores/types.js';
import { readToolScopes, ToolScopesError } from '../../gateway/tool-scopes.js';
import { usage } from './admin.js';

/**
 * What the administrative commands need to know about the embedded authorization server that `serve`
 * runs: its issuer and resource (so a minted token is one serve accepts), its scopes, and its keys.
 */

export interface ResourceScopes {
  /** Every scope the resource understands, `mcp:admin` included. */
  all: readonly string[];
  /** What a user or client gets when no scope is named: the app's scopes, without `mcp:admin`. */
  defaults: readonly string[];
}

/**
 * The scopes of the resource, plus `--required-scopes`: with `--tool-scopes` those of the gateway's file (as
 * `proxy` publishes them), else the incident tracker's, read from its registry as `serve` reads them. A bad
 * file is a usage error (exit 2).
 *
 * @example
 * const { all, defaults } = resourceScopes(config, store); // defaults: ['incidents:read', 'incidents:write']
 */
export function resourceScopes(config: Pick<Config, 'requiredScopes' | 'toolScopes'>, store: Store): ResourceScopes {
  let appScopes: readonly string[];
  if (config.toolScopes !== undefined) {
    try {
      appScopes = readToolScopes(config.toolScopes).all;
    } catch (error) {
      if (error instanceof ToolScopesError) throw usage(`--tool-scopes / PORTCULLIS_TOOL_SCOPES: ${error.message}`);
      throw error;
    }
  } else {
    const registry = new Registry();
    registerIncidents(registry, store);
    appScopes = registry.scopes();
  }
  const defaults = [...new Set([...appScopes, ...config.requiredScopes])].filter((s) => s !== ADMIN_SCOPE).sort();
  return { all: [...defaults, ADMIN_SCOPE].sort(), defaults };
}

/** Refuses (exit 2) scopes the resource does not know: a typo would otherwise mint a useless token or client. */
export function checkScopes(requested: readonly string[], scopes: ResourceScopes): void {
  const unknown = requested.filter((scope) => !scopes.all.includes(scope));
  if (unknown.length > 0) throw usage(`unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}; the resource knows ${scopes.all.join(' ')}`);
}

/**
 * The embedded authorization server's issuer (`PUBLIC_URL`, no trailing slash) and resource (`PUBLIC_URL/mcp`),
 * computed from `--public-url`, else `--host`/`--port` exactly as `serve` derives them after listening.
 *
 * @example
 * embeddedUrls({ publicUrl: undefined, host: '127.0.0.1', port: 9001 });
 * // { issuer: 'http://127.0.0.1:9001', resource: 'http://127.0.0.1:9001/mcp' }
 */
export function embeddedUrls(config: Pick<Config, 'publicUrl' | 'host' | 'port'>): { issuer: string; resource: string } {
  if (config.publicUrl === undefined && config.port === 0) {
    throw usage('with --port 0 the server URL is only known once serve listens; pass the --public-url (or --port) serve uses');
  }
  const issuer = publicBaseUrl(config, config.port);
  return { issuer, resource: resourceUrl(issuer).href };
}

/**
 * The key ring over the store, with the same server secrets as `serve` (`PORTCULLIS_SECRET`): the first
 * key is created if the store has none; a key that cannot be decrypted stops the command (exit 2).
 *
 * @example
 * const keys = await openKeyRing(config, store, logger);
 */
export async function openKeyRing(config: Pick<Config, 'secret' | 'accessTokenTtl'>, store: Store, logger: Logger): Promise<RotatingKeyRing> {
  const secrets = await serverSecrets({ configured: config.secret, store, logger });
  return createKeyRing({ store, encryptionKey: secrets.encryptionKey, logger, accessTokenTtl: config.accessTokenTtl });
}

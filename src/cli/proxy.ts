import { createConsole } from '../console/console.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Backend } from '../gateway/backend.js';
import { backendCredentials } from '../gateway/backend-token.js';
import { createHttpBackend } from '../gateway/backends/http.js';
import { createStdioBackend } from '../gateway/backends/stdio.js';
import { Gateway } from '../gateway/gateway.js';
import { readToolScopes, ToolScopes, ToolScopesError } from '../gateway/tool-scopes.js';
import { usage } from './lib/admin.js';
import { startProtected, type Running } from './lib/protected.js';

/**
 * `portcullis proxy --backend-url URL` or `portcullis proxy -- COMMAND ARGS`: the gateway (docs/gateway.md).
 * The same resource server as `serve` (embedded authorization server, or an external issuer with
 * `--issuer`) in front of an existing Streamable HTTP MCP server, or a stdio one run as one process per
 * session, with the per-tool scopes of `--tool-scopes` and, with `--backend-token jwt`,
 * a JWT for the backend signed by the embedded authorization server's keys.
 *
 * Configuration problems found before anything starts (no backend URL, a bad scope file, a backend token
 * without the embedded AS, a backend that is the gateway itself) reject with a usage `CommandError` (exit 2).
 * Resolves once it listens; `/ready` answers 200 only while the backend does.
 *
 * @example
 * const running = await proxy({ ...config, backendUrl: 'http://127.0.0.1:8080/mcp' }, logger);
 */
export async function proxy(config: Config, logger: Logger): Promise<Running> {
  const command = config.backendCommand ?? [];
  if (config.backendUrl === undefined && command.length === 0) {
    throw usage('name the MCP server to protect: --backend-url URL (Streamable HTTP), or a stdio command after --: portcullis proxy -- node server.js');
  }
  if (config.backendUrl !== undefined && command.length > 0) throw usage('--backend-url and a stdio command after -- name two backends: give one');
  if (config.backendToken === 'jwt' && command.length > 0) throw usage('--backend-token jwt is for HTTP backends: a stdio backend has no channel for a token (it gets the caller in _meta)');
  if (config.backendToken === 'jwt' && config.issuer) {
    throw usage('--backend-token jwt needs the embedded authorization server (its keys sign the token, its JWKS publishes them), but --issuer / OAUTH_ISSUER is set');
  }
  let toolScopes = ToolScopes.none();
  if (config.toolScopes !== undefined) {
    try {
      toolScopes = readToolScopes(config.toolScopes);
    } catch (error) {
      if (error instanceof ToolScopesError) throw usage(`--tool-scopes / PORTCULLIS_TOOL_SCOPES: ${error.message}`);
      throw error;
    }
  }
  const backendUrl = config.backendUrl === undefined ? undefined : new URL(config.backendUrl);
  const location = backendUrl?.href ?? command.join(' ');

  return startProtected(config, logger, () => ({
    scopes: toolScopes.all,
    challengeScopes: toolScopes.challenge,
    // Public (RFC 9728): it names no backend, whose address is the operator's business.
    resourceName: 'Portcullis gateway',
    serving: backendUrl ? `the MCP server ${backendUrl.href}` : `the stdio MCP server \`${location}\` (one process per session)`,
    configName: 'portcullis',
    logFields: { backend: location, toolScopes: config.toolScopes, backendToken: config.backendToken },
    async start({ store, resource, issuer, verifier, inner, embedded, address }) {
      let backend: Backend;
      if (backendUrl !== undefined) {
        // Forwarding to itself would loop until the sockets run out.
        if (backendUrl.href === resource.href) throw usage(`--backend-url is this gateway's own MCP URL (${resource.href})`);
        const credentials = config.backendToken === 'jwt' ? backendCredentials({ signer: embedded!.context.keys, issuer, audience: backendUrl.href }) : undefined;
        backend = createHttpBackend({ url: backendUrl, ...(credentials ? { credentials } : {}) });
      } else {
        const [program, ...args] = command;
        const env = Object.fromEntries((config.backendEnv ?? []).flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name]!]])));
        backend = createStdioBackend({ command: program!, args, env, cwd: process.cwd(), logger });
        if (!(await backend.ready())) throw usage(`cannot run the backend command "${program}": not found, or not executable (on the PATH it will get)`);
      }
      const gateway = new Gateway({ backend, toolScopes, logger });
      // The web console logs people in as a client of the embedded AS: none with an external issuer.
      const pages = embedded ? await createConsole({ authorizationServer: embedded, verifier, resource, address, backend, gateway, logger }) : undefined;
      return {
        mcp: gateway,
        pages,
        // Ready when the backend answers, the store answers, and, for JWT, a usable signing key is known.
        ready: async () => {
          if (!(await backend.ready())) return false;
          await store.ping();
          return 'ready' in inner ? Boolean(inner.ready) : true;
        },
        close: () => {
          pages?.close();
          return gateway.close();
        },
      };
    },
  }));
}

import type { BootstrapResult } from '../authorization-server/users.js';

export interface BannerFacts {
  resource: string;
  metadataUrl: string;
  issuer: string;
  embedded: boolean;
  admin: BootstrapResult | undefined;
  /** What is served, as in "Portcullis is serving the incident tracker at URL" (default: the incident tracker). */
  serving?: string;
  /** The server's key in the client configuration (default `incidents`). */
  configName?: string;
  /** Federated login: the upstream issuer people sign in at (the password login, and the first login's line, are then moot). */
  upstream?: string | undefined;
}

/**
 * The start-up banner for a person (stderr; the JSON logs stay on stdout): the MCP URL, the metadata
 * URLs, the first login when this start created it (the only time the password is shown), and a client
 * configuration to paste.
 */
export function banner(facts: BannerFacts): string {
  const lines = [
    '',
    `  Portcullis is serving ${facts.serving ?? 'the incident tracker'} at ${facts.resource}`,
    '',
    `  Protected resource metadata  ${facts.metadataUrl}`,
    facts.embedded
      ? `  Authorization server         ${facts.issuer}/.well-known/oauth-authorization-server (built in)`
      : `  Authorization server         ${facts.issuer}`,
  ];
  if (facts.upstream !== undefined) {
    lines.push(`  Sign-in                      at ${facts.upstream} (federated login; redirect URI ${facts.issuer}/oauth/upstream/callback)`);
  } else if (facts.admin?.created) {
    // A password the operator chose is not echoed: stderr often ends up in a log collector.
    lines.push(
      '',
      facts.admin.generated
        ? `  First login: ${facts.admin.username} / ${facts.admin.password}   (shown once: write it down, or set PORTCULLIS_ADMIN_PASSWORD)`
        : `  First login: ${facts.admin.username} (password from PORTCULLIS_ADMIN_PASSWORD)`,
    );
  }
  const config = { mcpServers: { [facts.configName ?? 'incidents']: { type: 'http', url: facts.resource } } };
  lines.push('', '  Client configuration (Claude, VS Code, Cursor…):', ...JSON.stringify(config, null, 2).split('\n').map((l) => `    ${l}`), '');
  return lines.join('\n');
}

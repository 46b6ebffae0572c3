import { html, type Html } from './html.js';
import { layout } from './layout.js';
import { hiddenFields } from './login.js';

/** Plain-language descriptions of the scopes this server knows; others are shown by name only. */
const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  'incidents:read': 'Read incidents',
  'incidents:write': 'Create and update incidents',
  'mcp:admin': 'Administer this server’s OAuth configuration',
};

/** What the consent page shows and posts back. */
export interface ConsentPageOptions {
  /** The application's name (escaped; self-asserted unless the client was registered by an admin). */
  clientName: string;
  /** Shown for clients whose id is a URL (client ID metadata documents): the id is what was verified. */
  clientId?: string;
  /** Whether the name was asserted by the client itself (dynamic registration, metadata document). */
  nameUnverified: boolean;
  /** Where the browser goes after the decision (host, or the scheme of an app-claimed redirect URI). */
  redirectHost: string;
  /**
   * MCP 2025-11-25 (client ID metadata documents, security considerations): a metadata document whose
   * only redirect URIs are loopback ones can be published by anyone, so any program on this computer
   * might receive the code. Warn.
   */
  loopbackWarning: boolean;
  /** The scopes to grant. */
  scopes: readonly string[];
  /** Who is signed in. */
  username: string;
  /** Form target, relative to the page (`authorize`). */
  action: string;
  /** Opaque hidden fields the endpoint needs back. */
  hidden: Readonly<Record<string, string>>;
}

/**
 * The consent form (ARCHITECTURE §5: submit buttons `name="decision"`, values `approve` / `deny`). The
 * redirect host is the most prominent fact on the page: it is where the authorization code goes.
 *
 * @example
 * consentPage({ clientName: 'Claude', nameUnverified: true, redirectHost: 'claude.ai', loopbackWarning: false,
 *   scopes: ['incidents:read'], username: 'alice', action: 'authorize', hidden });
 */
export function consentPage(options: ConsentPageOptions): Html {
  const body = html`<h1>Allow <span>${options.clientName}</span> to access your account?</h1>
${options.nameUnverified && html`<p class="muted">The application chose this name itself; Portcullis has not verified it.</p>`}
${options.clientId && html`<p class="muted">Client ID: ${options.clientId}</p>`}
<p>Signed in as <strong>${options.username}</strong>. It will be able to:</p>
<ul class="scopes">
${options.scopes.map((scope) => html`<li>${SCOPE_DESCRIPTIONS[scope] ?? scope} <code>${scope}</code></li>\n`)}</ul>
<div class="destination">
<p>After you decide, you will be sent to</p>
<strong>${options.redirectHost}</strong>
</div>
${
  options.loopbackWarning &&
  html`<p class="notice" role="note">This application can only receive the answer on this computer (<code>localhost</code>).
Any program running on this computer could be the one asking. Allow only if you started this sign-in yourself just now.</p>`
}
<form method="post" action="${options.action}">
${hiddenFields(options.hidden)}
<div class="actions">
<button type="submit" name="decision" value="approve" class="primary">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`;
  return layout({ title: 'Allow access', body });
}

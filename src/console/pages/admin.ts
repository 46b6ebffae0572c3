import { html, type Html } from '../../web/html.js';
import { consolePage, formatTime, type Viewer } from './shell.js';

/** The administrators' pages share these. */
export interface AdminPageBase {
  readonly base: string;
  readonly viewer: Viewer;
  /** A fixed message about the last action (never request input). */
  readonly notice: string | undefined;
}

export interface ClientRow {
  readonly clientId: string;
  readonly name: string;
  readonly kind: string;
  readonly grantTypes: readonly string[];
  readonly redirectUris: readonly string[];
  readonly createdAt: number;
  /** The console's own client: listed, not removable here. */
  readonly own: boolean;
}

export interface GrantRow {
  readonly id: string;
  readonly user: string;
  readonly client: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface SessionRow {
  /** A digest of the session id: the page never shows the id itself. */
  readonly handle: string;
  readonly user: string;
  readonly client: string;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly lastSeen: number;
}

/** The registered clients, each with a Remove button (POST + CSRF). */
export function clientsPage(options: AdminPageBase & { clients: readonly ClientRow[] }): Html {
  const rows = options.clients.map(
    (client) => html`<tr>
<td>${client.name}${client.own ? html` <span class="muted">(this console)</span>` : ''}</td>
<td><code>${client.clientId}</code></td>
<td>${client.kind}</td>
<td>${client.grantTypes.join(', ')}</td>
<td>${client.redirectUris.map((uri) => html`<code>${uri}</code><br>`)}</td>
<td>${formatTime(client.createdAt)}</td>
<td>${client.own ? '' : action(options, 'clients/remove', 'client_id', client.clientId, 'Remove', `Remove client ${client.name}`)}</td>
</tr>`,
  );
  const table = html`<table>
<thead><tr><th>Name</th><th>Client ID</th><th>Kind</th><th>Grant types</th><th>Redirect URIs</th><th>Registered</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
  return page(options, 'Clients', options.clients.length === 0 ? html`<p>No clients.</p>` : table, 'Removing a client ends its grants and remembered consents; its access tokens run out within their lifetime.');
}

/** The live grants (refresh-token families), each with a Revoke button. */
export function grantsPage(options: AdminPageBase & { grants: readonly GrantRow[] }): Html {
  const rows = options.grants.map(
    (grant) => html`<tr>
<td>${grant.user}</td>
<td>${grant.client}</td>
<td><code>${grant.scopes.join(' ')}</code></td>
<td>${formatTime(grant.createdAt)}</td>
<td>${formatTime(grant.expiresAt)}</td>
<td>${action(options, 'grants/revoke', 'grant_id', grant.id, 'Revoke', `Revoke the grant of ${grant.user} to ${grant.client}`)}</td>
</tr>`,
  );
  const table = html`<table>
<thead><tr><th>User</th><th>Client</th><th>Scopes</th><th>Created</th><th>Expires</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
  return page(options, 'Grants', options.grants.length === 0 ? html`<p>No live grants.</p>` : table, 'Revoking a grant ends its refresh token at once; access tokens already issued run out within their lifetime.');
}

/** The gateway's MCP sessions, each with an End button. */
export function sessionsPage(options: AdminPageBase & { sessions: readonly SessionRow[] }): Html {
  const rows = options.sessions.map(
    (session) => html`<tr>
<td>${session.user}</td>
<td>${session.client}</td>
<td>${formatTime(session.createdAt)}</td>
<td>${formatTime(session.lastSeen)}</td>
<td>${action(options, 'sessions/end', 'session', session.handle, 'End', `End the session of ${session.user} with ${session.client}`)}</td>
</tr>`,
  );
  const table = html`<table>
<thead><tr><th>User</th><th>Client</th><th>Started</th><th>Last active</th><th></th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
  return page(options, 'Sessions', options.sessions.length === 0 ? html`<p>No open MCP sessions.</p>` : table, 'Ending a session ends it here and on the backend; its client gets 404 and may initialize again with a valid token.');
}

function page(options: AdminPageBase, title: string, content: Html, note: string): Html {
  const body = html`${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
${content}
<p class="muted">${note}</p>`;
  return consolePage({ title, body, base: options.base, viewer: options.viewer });
}

/** One revoke button: a form POST carrying the session's CSRF token. */
function action(options: AdminPageBase, path: string, field: string, value: string, label: string, description: string): Html {
  return html`<form method="post" action="${options.base}/admin/${path}">
<input type="hidden" name="csrf_token" value="${options.viewer.csrf}">
<input type="hidden" name="${field}" value="${value}">
<button type="submit" aria-label="${description}">${label}</button>
</form>`;
}

import { html, type Html } from './html.js';
import { layout } from './layout.js';

/** What the login page shows and posts back. */
export interface LoginPageOptions {
  /** The name of the application asking (escaped; self-asserted by dynamically registered clients). */
  clientName: string;
  /** Form target, relative to the page (`authorize`), so the page works behind a path prefix. */
  action: string;
  /** Opaque hidden fields the endpoint needs back (the sealed request, the CSRF token). */
  hidden: Readonly<Record<string, string>>;
  /** The username to fill in again after a failed attempt. */
  username?: string;
  /** A message about the previous attempt (e.g. "Invalid username or password."). */
  error?: string;
}

/**
 * The login form (ARCHITECTURE §5: fields `username` and `password`). A plain form POST, no script. The
 * cancel button posts `decision=deny`, which ends the request with `access_denied`.
 *
 * @example
 * loginPage({ clientName: 'VS Code', action: 'authorize', hidden: { transaction, csrf_token } });
 */
export function loginPage(options: LoginPageOptions): Html {
  const body = html`<h1>Sign in</h1>
<p>to continue to <strong>${options.clientName}</strong></p>
${options.error && html`<p class="error" role="alert">${options.error}</p>`}
<form method="post" action="${options.action}">
${hiddenFields(options.hidden)}
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required
 maxlength="64" value="${options.username ?? ''}"${options.username ? '' : html` autofocus`}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${options.username ? html` autofocus` : ''}>
<div class="actions">
<button type="submit" class="primary">Sign in</button>
<button type="submit" name="decision" value="deny" formnovalidate>Cancel</button>
</div>
</form>`;
  return layout({ title: 'Sign in', body });
}

/** Hidden inputs, every name and value escaped. */
export function hiddenFields(fields: Readonly<Record<string, string>>): Html[] {
  return Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">\n`);
}

import { html, type Html } from './html.js';
import { layout } from './layout.js';

/** What an error page says. */
export interface ErrorPageOptions {
  /** A short heading, e.g. "Unknown application". */
  title: string;
  /** One or two sentences for the person in front of the browser; never raw request input. */
  message: string;
  /** A relative link that starts the same request again, when that is safe (it only asks again). */
  retry?: string;
}

/**
 * An error shown to the user instead of a redirect: used when redirecting would be unsafe (unknown client,
 * unregistered `redirect_uri`: RFC 6749 §4.1.2.1) or impossible (an expired or tampered form).
 *
 * @example
 * errorPage({ title: 'Unknown application', message: 'This sign-in link names an application this server does not know.' });
 */
export function errorPage(options: ErrorPageOptions): Html {
  const body = html`<h1>${options.title}</h1>
<p class="error" role="alert">${options.message}</p>
${
    options.retry
      ? html`<p><a href="${options.retry}">Start this sign-in again</a></p>`
      : html`<p class="muted">Close this window and start again from the application.</p>`
  }`;
  return layout({ title: options.title, body });
}

/**
 * A person at a browser, over fetch, for federated login: from portcullis's authorization endpoint to the
 * upstream (oidc-provider's development login and consent pages: the login form takes an account id and
 * any password; the consent form one button; every page has a "[ Cancel ]" link that aborts), back to
 * portcullis's callback and consent page, and on to the redirect back to the client — which it never
 * follows. Cookies are kept per origin, as a browser does. Forms are read from the HTML the servers sent.
 *
 * It is a {@link UserAgent}, so `UserOAuthProvider` drives it for the official MCP client.
 */
import { parseForm, UserAgent, visibleText } from './user-agent.js';

export interface FederatedUserAgentOptions {
  /** The upstream account to sign in as. */
  account: string;
  /** The upstream's origin (`http://127.0.0.1:PORT`). */
  upstream: string;
}

/** A page the agent stopped at. */
export interface Page {
  status: number;
  url: URL;
  text: string;
  headers: Headers;
}

const MAX_STEPS = 16;

export class FederatedUserAgent extends UserAgent {
  /** At the upstream: sign in, or press Cancel (oidc-provider then answers `error=access_denied`). */
  upstreamDecision: 'login' | 'abort' = 'login';
  /** Stop at the upstream's redirect to portcullis's callback and return it, unfollowed (to tamper with it). */
  stopAtCallback = false;
  readonly #account: string;
  readonly #upstream: string;

  constructor(options: FederatedUserAgentOptions) {
    super({ username: options.account, password: 'unused' });
    this.#account = options.account;
    this.#upstream = new URL(options.upstream).origin;
  }

  /**
   * Opens an authorization URL of portcullis and goes through the upstream and back; resolves with the URL
   * a redirect leads to outside portcullis and the upstream (the client's redirect URI with the response),
   * or, with {@link stopAtCallback}, the callback URL. Rejects on any page it cannot answer.
   */
  override async authorize(authorizationUrl: URL | string): Promise<URL> {
    const start = new URL(authorizationUrl);
    const ours = start.origin;
    let request: { method: 'GET' | 'POST'; url: URL; form?: URLSearchParams } = { method: 'GET', url: start };
    for (let step = 0; step < MAX_STEPS; step++) {
      const response = await this.send(request.method, request.url, request.form);
      const location = response.headers.get('location');
      if (location !== null) {
        this.visits.push({ method: request.method, url: request.url.href, status: response.status, kind: 'redirect' });
        const next = new URL(location, request.url);
        if (next.origin !== ours && next.origin !== this.#upstream) return next;
        if (this.stopAtCallback && next.origin === ours && next.pathname.endsWith('/oauth/upstream/callback')) return next;
        request = { method: 'GET', url: next };
        continue;
      }
      const text = await response.text();
      const form = response.status === 200 ? parseForm(text, request.url) : undefined;
      const visit = (kind: 'login' | 'consent' | 'error') => this.visits.push({ method: request.method, url: request.url.href, status: response.status, kind, text: visibleText(text) });
      if (request.url.origin === this.#upstream && form?.inputs.has('login')) {
        visit('login');
        if (this.upstreamDecision === 'abort') {
          const abort = /href="([^"]*\/abort[^"]*)"/.exec(text);
          if (!abort) throw new Error('the upstream login page has no cancel link');
          request = { method: 'GET', url: new URL(abort[1]!.replace(/&amp;/g, '&'), request.url) };
          continue;
        }
        const fields = new URLSearchParams([...form.inputs]);
        fields.set('login', this.#account);
        fields.set('password', 'any password');
        request = { method: 'POST', url: form.action, form: fields };
        continue;
      }
      if (request.url.origin === this.#upstream && form?.inputs.get('prompt') === 'consent') {
        visit('consent');
        request = { method: 'POST', url: form.action, form: new URLSearchParams([...form.inputs]) };
        continue;
      }
      const choice = form?.buttons.find((b) => b.name === 'decision' && b.value === this.decision);
      if (request.url.origin === ours && form && choice) {
        visit('consent');
        const fields = new URLSearchParams([...form.inputs]);
        fields.set(choice.name, choice.value);
        request = { method: 'POST', url: form.action, form: fields };
        continue;
      }
      visit('error');
      throw new Error(`${request.url.origin === ours ? 'portcullis' : 'the upstream'} answered a page the user cannot answer (${response.status}): ${visibleText(text).slice(0, 400)}`);
    }
    throw new Error(`no redirect to the client after ${MAX_STEPS} requests`);
  }

  /** Opens one URL (no redirect followed) with this browser's cookies; resolves with the page or redirect. */
  async open(url: URL | string): Promise<Page> {
    const target = new URL(url);
    const response = await this.send('GET', target);
    return { status: response.status, url: target, text: await response.text(), headers: response.headers };
  }
}

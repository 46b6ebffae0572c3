/**
 * A person at a browser, over fetch: follows the authorization endpoint's pages as a user would, keeping
 * the cookies it sets, filling in the login form and answering the consent form, and stops at the
 * redirect back to the client (which it never follows: the test reads `code`, `state` and `iss` from it).
 * The forms are read from the HTML the server sent (their action, hidden fields and buttons), not
 * rebuilt from knowledge of the server, so a page that lost a field fails here as it would in a browser.
 */

export interface Credentials {
  username: string;
  password: string;
}

/** One page or redirect the agent saw, for assertions on the path it took. */
export interface Visit {
  method: 'GET' | 'POST';
  url: string;
  status: number;
  /** `login`, `consent`, `error` (any other page), or `redirect`. */
  kind: 'login' | 'consent' | 'error' | 'redirect';
  /** The page's visible text (pages only). */
  text?: string;
}

export interface ParsedForm {
  action: URL;
  /** Every named input with its value (hidden ones included), in document order. */
  inputs: Map<string, string>;
  /** Every submit button's `name=value`. */
  buttons: Array<{ name: string; value: string }>;
}

const MAX_STEPS = 8;

export class UserAgent {
  /** Cookies by origin, then name (the server sets at most a session cookie; paths are all `/`). */
  readonly #cookies = new Map<string, Map<string, string>>();
  readonly visits: Visit[] = [];
  /** What to answer on the consent page. */
  decision: 'approve' | 'deny' = 'approve';

  constructor(readonly credentials: Credentials) {}

  /**
   * Opens an authorization URL and goes through login and consent as needed; resolves with the URL the
   * server redirected to outside its authorization endpoint (the client's redirect URI, with the
   * authorization response in its query). Rejects on any page it cannot answer.
   */
  async authorize(authorizationUrl: URL | string): Promise<URL> {
    const endpoint = new URL(authorizationUrl);
    let request: { method: 'GET' | 'POST'; url: URL; form?: URLSearchParams } = { method: 'GET', url: endpoint };
    for (let step = 0; step < MAX_STEPS; step++) {
      const response = await this.send(request.method, request.url, request.form);
      let text = '';
      const visit = (kind: Visit['kind']): void => void this.visits.push({ method: request.method, url: request.url.href, status: response.status, kind, ...(text ? { text: visibleText(text) } : {}) });
      const location = response.headers.get('location');
      if (location !== null) {
        visit('redirect');
        const next = new URL(location, request.url);
        if (next.origin !== endpoint.origin || next.pathname !== endpoint.pathname) return next;
        request = { method: 'GET', url: next };
        continue;
      }
      text = await response.text();
      const form = response.status === 200 ? parseForm(text, request.url) : undefined;
      if (form?.inputs.has('password')) {
        visit('login');
        const fields = new URLSearchParams([...form.inputs]);
        fields.set('username', this.credentials.username);
        fields.set('password', this.credentials.password);
        request = { method: 'POST', url: form.action, form: fields };
        continue;
      }
      const choice = form?.buttons.find((b) => b.name === 'decision' && b.value === this.decision);
      if (form && choice) {
        visit('consent');
        const fields = new URLSearchParams([...form.inputs]);
        fields.set(choice.name, choice.value);
        request = { method: 'POST', url: form.action, form: fields };
        continue;
      }
      visit('error');
      throw new Error(`the authorization endpoint answered a page the user cannot answer (${response.status}): ${visibleText(text).slice(0, 400)}`);
    }
    throw new Error(`no redirect to the client after ${MAX_STEPS} requests`);
  }

  /** One request with the cookies of its origin, keeping those the response sets (deleting expired ones). */
  async send(method: 'GET' | 'POST', url: URL, form?: URLSearchParams): Promise<Response> {
    const jar = this.#cookies.get(url.origin) ?? new Map<string, string>();
    const headers: Record<string, string> = { accept: 'text/html' };
    if (jar.size > 0) headers.cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      // A browser sends Origin with a form POST.
      headers.origin = url.origin;
    }
    const response = await fetch(url, { method, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000), ...(form ? { body: form.toString() } : {}) });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now()));
      if (expired) jar.delete(name);
      else jar.set(name, pair!.slice(eq + 1).trim());
    }
    this.#cookies.set(url.origin, jar);
    return response;
  }

  /** The names of the cookies this browser holds for an origin. */
  cookieNames(origin: string): string[] {
    return [...(this.#cookies.get(new URL(origin).origin)?.keys() ?? [])];
  }

}

/** The first `method="post"` form of a page: its action (resolved against the page URL), inputs and buttons. */
export function parseForm(html: string, pageUrl: URL): ParsedForm | undefined {
  const match = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!match) return undefined;
  const formAttributes = attributes(match[1]!);
  if ((formAttributes.get('method') ?? 'get').toLowerCase() !== 'post') return undefined;
  const inputs = new Map<string, string>();
  for (const input of match[2]!.matchAll(/<input\b([^>]*)>/gi)) {
    const a = attributes(input[1]!);
    const name = a.get('name');
    if (name !== undefined) inputs.set(name, a.get('value') ?? '');
  }
  const buttons: ParsedForm['buttons'] = [];
  for (const button of match[2]!.matchAll(/<button\b([^>]*)>/gi)) {
    const a = attributes(button[1]!);
    const name = a.get('name');
    if (name !== undefined && (a.get('type') ?? 'submit') === 'submit') buttons.push({ name, value: a.get('value') ?? '' });
  }
  return { action: new URL(formAttributes.get('action') ?? '', pageUrl), inputs, buttons };
}

/** The attributes of a start tag (quoted values unescaped; a bare attribute has the empty value). */
function attributes(source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of source.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    out.set(m[1]!.toLowerCase(), unescapeHtml(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[entity]!);
}

/** A page's text without markup, for error messages. */
export function visibleText(html: string): string {
  return unescapeHtml(html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
}

import assert from 'node:assert/strict';
import { s256 } from '../../src/authorization-server/checks/pkce.js';
import { hashPassword } from '../../src/authorization-server/passwords.js';
import { randomToken } from '../../src/authorization-server/secrets.js';
import type { UserRecord } from '../../src/stores/auth-types.js';
import { REDIRECT_URI, type TestServer } from './helpers.js';

/** The password of every user made by {@link addLoginUser}. */
export const PASSWORD = 'correct horse battery staple';

/** A user who can really log in (scrypt hash of {@link PASSWORD}). */
export async function addLoginUser(as: TestServer, scopes: readonly string[] = ['incidents:read', 'incidents:write'], username = `user${randomToken(4).replace(/[^A-Za-z0-9]/g, 'x')}`): Promise<UserRecord> {
  return as.store.users.create({ username, passwordHash: await hashPassword(PASSWORD), scopes });
}

export interface AuthorizationParams {
  clientId: string;
  verifier: string;
  state: string;
  redirectUri: string;
  query: URLSearchParams;
}

/** A valid authorization request of `clientId` (S256, state); `overrides` set (or, with null, drop) parameters. */
export function authorizationRequest(clientId: string, overrides: Record<string, string | null> = {}): AuthorizationParams {
  const verifier = randomToken(48);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    state: `st-${randomToken(6)}`,
    code_challenge: s256(verifier),
    code_challenge_method: 'S256',
  });
  for (const [name, value] of Object.entries(overrides)) {
    if (value === null) query.delete(name);
    else query.set(name, value);
  }
  return { clientId, verifier, state: query.get('state') ?? '', redirectUri: query.get('redirect_uri') ?? '', query };
}

export interface PageResult {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

/**
 * A minimal browser over fetch: keeps the cookies the server sets (by name), never follows redirects, and
 * reads the hidden fields of the page it got last.
 */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly as: TestServer) {}

  async get(pathAndQuery: string): Promise<PageResult> {
    return this.#send(pathAndQuery, { method: 'GET' });
  }

  async post(path: string, form: Record<string, string>): Promise<PageResult> {
    return this.#send(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  }

  /** GET the authorization endpoint with a request. */
  async authorize(request: AuthorizationParams, path = '/oauth/authorize'): Promise<PageResult> {
    return this.get(`${path}?${request.query}`);
  }

  async #send(path: string, init: RequestInit): Promise<PageResult> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(`${this.as.origin}${path}`, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) } });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';', 1);
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return { status: response.status, headers: response.headers, text: await response.text(), location: response.headers.get('location') };
  }
}

/** The hidden fields of a page's form. */
export function hiddenFields(page: PageResult): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[match[1]!] = match[2]!;
  return fields;
}

/** Logs in through the login page `page`; returns the answer (consent page, or a redirect). */
export async function logIn(browser: Browser, page: PageResult, username: string, password = PASSWORD): Promise<PageResult> {
  assert.equal(page.status, 200, page.text);
  assert.match(page.text, /name="password"/);
  return browser.post('/oauth/authorize', { ...hiddenFields(page), username, password });
}

/** The parameters of a redirect back to the client, after checking it goes to `redirectUri`. */
export function redirectParams(result: PageResult, redirectUri = REDIRECT_URI): URLSearchParams {
  assert.ok(result.location, `expected a redirect, got ${result.status}: ${result.text.slice(0, 300)}`);
  const url = new URL(result.location);
  assert.equal(`${url.origin}${url.pathname}`, redirectUri);
  return url.searchParams;
}

/** Asserts the security headers every answer of the authorization endpoint carries. */
export function assertPageHeaders(result: PageResult): void {
  assert.equal(result.headers.get('cache-control'), 'no-store');
  assert.equal(result.headers.get('x-frame-options'), 'DENY');
  assert.equal(result.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(result.headers.get('x-content-type-options'), 'nosniff');
  const csp = result.headers.get('content-security-policy') ?? '';
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /default-src 'none'/);
}

/**
 * The gateway's web console (docs/gateway.md, "Web console") in a real browser: Debian's Chromium, driven
 * by playwright-core, against a real `portcullis proxy` in front of the recording backend
 * (test/fixtures/recording-backend.ts), each in its own process on loopback.
 *
 * - anonymous: the status page names the resource but not the backend; the security headers; `/oauth/login`
 *   starts the code flow with PKCE and a sealed login cookie;
 * - the administrator logs in through the AS's real login and consent pages, sees themselves on `/` and in
 *   `/oauth/status`, lists the tools, calls `echo` through its form with `<script>` in the argument (shown
 *   escaped, as text; no script element), and the backend sees the caller's identity, never a token;
 * - a second user holding only `things:read` (added with `users add`) is refused `create_thing` by the
 *   gateway (the backend never receives it) and gets 403 on the administrators' pages;
 * - the administrator lists clients, grants and sessions, and revokes an MCP client's grant (its refresh
 *   then fails with `invalid_grant`), ends its session (its next request gets 404), removes a client;
 *   POSTs without the CSRF token or from another Origin are refused with 403 and change nothing;
 * - logout ends the session (status unauthenticated, the cookie gone, the old cookie worthless, the
 *   console's grant revoked);
 * - with an https public URL, the cookies are `__Host-` prefixed and `Secure` (plain HTTP, no browser);
 * - no page, and no line of the gateway's output, carries a token.
 *
 * Any console error in Chromium (a CSP violation included) fails the test. Screenshots go to
 * test-artifacts/console/. Skips, saying why, when Chromium or playwright-core is not installed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startRecordingBackend, type BackendProcess } from '../helpers/backend-process.js';
import { CHROMIUM, CHROMIUM_ARGS, loadPlaywright } from '../helpers/chromium.js';
import { ADMIN, authorizeCode, freePort, issuerOf, redeemCode, refresh, registerPublicClient, runCli } from '../helpers/embedded-as.js';
import { mcpPost } from '../helpers/mcp-post.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';
import { UserAgent } from '../helpers/user-agent.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const TIMEOUT = { timeout: 120_000 };
const WAIT = { timeout: 15_000 };
const CALLER = 'dev.portcullis/caller';
const TOOL_SCOPES = { tools: { 'create_*': ['things:write'], '*': ['things:read'] } };
const BOB = Object.freeze({ username: 'bob', password: 'bob console password 42' });
const HOSTILE = '<script>alert("pwned")</script> & <b>bold</b>';
/** A JWT anywhere: two base64url JSON segments (`eyJ` is `{"`). */
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;


const { playwright, skip } = await loadPlaywright();

/**
 * Fails the test on any console error of a page (CSP violations are console errors in Chromium), except
 * Chromium's note on a page answered with 401/403, which this test asks for.
 */
function watch(page: Page, errors: string[]): void {
  page.on('console', (message) => {
    if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 40[13]/.test(message.text())) errors.push(message.text());
  });
  page.on('dialog', (dialog) => {
    errors.push(`a dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
}

/** Logs in through the console's "Log in" link, the AS's login page and, the first time, its consent page. */
async function consoleLogin(page: Page, origin: string, who: { username: string; password: string }): Promise<void> {
  await page.goto(`${origin}/`);
  await page.getByRole('navigation').getByRole('link', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
  assert.match(await page.locator('main').innerText(), /Portcullis web console/);
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const allow = page.getByRole('button', { name: 'Allow' });
  await Promise.race([allow.waitFor(WAIT), page.waitForURL(`${origin}/`, WAIT)]);
  if (new URL(page.url()).pathname !== '/') {
    await page.screenshot({ path: join(ARTIFACTS, `consent-${who.username}.png`), fullPage: true });
    await allow.click();
  }
  await page.waitForURL(`${origin}/`, WAIT);
  await page.getByRole('heading', { name: 'Gateway status' }).waitFor(WAIT);
}

/** The JSON of `/oauth/status` as the browser context sees it. */
async function status(context: BrowserContext, origin: string): Promise<Record<string, unknown>> {
  const response = await context.request.get(`${origin}/oauth/status`, WAIT);
  assert.equal(response.status(), 200);
  assert.equal(response.headers()['cache-control'], 'no-store');
  return (await response.json()) as Record<string, unknown>;
}

/** The `Set-Cookie` line of a cookie, by name. */
function setCookieLine(response: Response, name: string): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}

function assertPageHeaders(headers: Headers | Record<string, string>): void {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]) ?? undefined;
  assert.equal(get('cache-control'), 'no-store');
  assert.equal(get('x-frame-options'), 'DENY');
  assert.equal(get('x-content-type-options'), 'nosniff');
  assert.equal(get('referrer-policy'), 'same-origin');
  assert.match(get('content-security-policy') ?? '', /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action '(self|none)'; frame-ancestors 'none'; base-uri 'none'$/);
}

describe('the web console of portcullis proxy, in Chromium', { skip: skip ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-console-'));
  const scopesFile = join(dir, 'tool-scopes.json');
  const db = join(dir, 'gateway.db');
  const errors: string[] = [];
  let backend: BackendProcess;
  let gateway: ServeProcess;
  let origin: string;
  let browser: Browser;
  let adminContext: BrowserContext;
  let bobContext: BrowserContext;
  let admin: Page;
  let bob: Page;

  before(async () => {
    writeFileSync(scopesFile, JSON.stringify(TOOL_SCOPES));
    await mkdir(ARTIFACTS, { recursive: true });
    backend = await startRecordingBackend();
    gateway = await startServe(['--store', `sqlite:${db}`, '--backend-url', backend.url, '--tool-scopes', scopesFile], { PORTCULLIS_ADMIN_PASSWORD: ADMIN.password }, { command: 'proxy' });
    origin = issuerOf(gateway);
    const added = await runCli(['users', 'add', BOB.username, '--store', `sqlite:${db}`, '--tool-scopes', scopesFile, '--scope', 'things:read', '--password', BOB.password]);
    assert.equal(added.code, 0, added.stderr);
    browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    adminContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    bobContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    admin = await adminContext.newPage();
    bob = await bobContext.newPage();
    watch(admin, errors);
    watch(bob, errors);
  });

  after(async () => {
    await browser?.close();
    await gateway?.stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('anonymous: the status page names the resource, not the backend; page headers; /oauth/login starts the code flow with PKCE', TIMEOUT, async () => {
    const home = await fetch(`${origin}/`, { signal: AbortSignal.timeout(10_000) });
    const text = await home.text();
    assert.equal(home.status, 200);
    assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8');
    assertPageHeaders(home.headers);
    assert.ok(text.includes(gateway.url), 'the resource URL');
    assert.ok(!text.includes(backend.url) && !text.includes(new URL(backend.url).host), 'the public page does not reveal the backend');
    assert.match(text, /not signed in/);
    assert.match(text, new RegExp(`href="/oauth/login"`));

    const anonymous = await fetch(`${origin}/oauth/status`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(anonymous.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await anonymous.json(), { authenticated: false, user: null, scopes: [], expires_at: null });

    const start = await fetch(`${origin}/oauth/login`, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    assert.equal(start.status, 302);
    assertPageHeaders(start.headers);
    const authorize = new URL(start.headers.get('location')!);
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${origin}/oauth/authorize`);
    assert.equal(authorize.searchParams.get('client_id'), 'portcullis-console');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${origin}/oauth/callback`);
    assert.equal(authorize.searchParams.get('response_type'), 'code');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.match(authorize.searchParams.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok((authorize.searchParams.get('state') ?? '').length >= 32);
    assert.equal(authorize.searchParams.get('resource'), gateway.url);
    const loginCookie = setCookieLine(start, 'portcullis-console-login');
    assert.ok(loginCookie, 'the sealed login cookie');
    assert.match(loginCookie, /; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
    assert.ok(!loginCookie.includes(authorize.searchParams.get('state')!), 'the state travels sealed');

    // Pages that need a session, and a callback without a login under way.
    for (const path of ['/tools', '/admin/clients', '/admin/grants', '/admin/sessions']) {
      const response = await fetch(`${origin}${path}`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(response.status, 401, path);
      assertPageHeaders(response.headers);
    }
    const stray = await fetch(`${origin}/oauth/callback?code=abc&state=def&iss=${encodeURIComponent(origin)}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(stray.status, 400);
    const put = await fetch(`${origin}/`, { method: 'PUT', signal: AbortSignal.timeout(10_000) });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET');
  });

  it('the administrator logs in through the real pages: the status page and /oauth/status show them', TIMEOUT, async () => {
    await consoleLogin(admin, origin, ADMIN);
    await admin.screenshot({ path: join(ARTIFACTS, '01-status-admin.png'), fullPage: true });
    assert.equal((await admin.locator('#user').innerText()).trim(), 'admin (administrator)');
    assert.equal((await admin.locator('#backend-location').innerText()).trim(), backend.url, 'administrators see where the backend is');
    assert.equal((await admin.locator('#backend-state').innerText()).trim(), 'ready');
    assert.equal((await admin.locator('#resource').innerText()).trim(), gateway.url);
    await admin.getByRole('navigation').getByRole('button', { name: 'Log out' }).waitFor(WAIT);

    const session = (await adminContext.cookies(origin)).find((cookie) => cookie.name === 'portcullis-console');
    assert.ok(session, 'the session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    assert.match(session.value, /^[A-Za-z0-9_-]{43}$/, 'a random id, no token');
    assert.ok(session.expires > Date.now() / 1000, 'it expires');
    assert.equal((await adminContext.cookies(origin)).find((cookie) => cookie.name === 'portcullis-console-login'), undefined, 'the login cookie is cleared');

    const body = await status(adminContext, origin);
    assert.equal(body.authenticated, true);
    assert.equal((body.user as Record<string, unknown>).username, 'admin');
    assert.deepEqual(body.scopes, ['mcp:admin', 'things:read', 'things:write']);
    assert.equal(typeof body.expires_at, 'number');
    assert.deepEqual(Object.keys(body).sort(), ['authenticated', 'expires_at', 'scopes', 'user']);
    assert.ok(!JWT.test(JSON.stringify(body)) && !JWT.test(await admin.content()), 'no token in the status');
  });

  it('tools: the list through the gateway, a call through the form, its result escaped; the backend sees the caller, not a token', TIMEOUT, async () => {
    await admin.getByRole('navigation').getByRole('link', { name: 'Tools' }).click();
    await admin.getByRole('heading', { name: 'Tools', exact: true }).waitFor(WAIT);
    for (const name of ['echo', 'create_thing', 'hang']) await admin.getByRole('region', { name, exact: true }).waitFor(WAIT);
    const echo = admin.getByRole('region', { name: 'echo', exact: true });
    assert.match(await echo.innerText(), /Needs: things:read/);
    await echo.getByLabel('text').fill(HOSTILE);
    await echo.getByRole('button', { name: 'Call echo' }).click();
    await admin.getByRole('heading', { name: 'Call echo' }).waitFor(WAIT);
    await admin.screenshot({ path: join(ARTIFACTS, '02-tool-result.png'), fullPage: true });
    assert.equal(await admin.locator('pre.result').first().textContent(), HOSTILE, 'the result, as text');
    assert.equal(await admin.locator('script').count(), 0, 'no script element came from the result');
    assert.equal(await admin.locator('main b').count(), 0, 'no markup came from the result');
    const source = await (await adminContext.request.get(admin.url().replace('/tools/call', '/tools'), WAIT)).text();
    assert.ok(!source.includes('<script>'), 'no page carries raw markup');
    assert.equal(await admin.getByRole('region', { name: 'echo', exact: true }).getByLabel('text').inputValue(), HOSTILE, 'the form keeps what was typed');

    const { user } = await status(adminContext, origin);
    const records = await backend.records();
    const call = records.flatMap((r) => r.messages).filter((m) => m.method === 'tools/call' && (m.params?.['arguments'] as Record<string, unknown> | undefined)?.['text'] === HOSTILE);
    assert.equal(call.length, 1);
    assert.deepEqual(call[0]!.meta?.[CALLER], { sub: (user as Record<string, unknown>).sub, client_id: 'portcullis-console', scopes: ['mcp:admin', 'things:read', 'things:write'] });
    for (const record of records) {
      assert.equal(record.headers.authorization, undefined);
      assert.equal(record.headers.cookie, undefined);
    }
  });

  it('a user with things:read only: create_thing is refused by the gateway and never reaches the backend; the admin pages are 403', TIMEOUT, async () => {
    await consoleLogin(bob, origin, BOB);
    assert.equal((await bob.locator('#user').innerText()).trim(), 'bob');
    assert.equal(await bob.locator('#backend-location').count(), 0, 'the backend location is for administrators');
    assert.ok(!(await bob.content()).includes(backend.url));
    assert.equal(await bob.getByRole('navigation').getByRole('link', { name: 'Grants' }).count(), 0);
    assert.deepEqual((await status(bobContext, origin)).scopes, ['things:read']);

    await bob.goto(`${origin}/tools`);
    const create = bob.getByRole('region', { name: 'create_thing', exact: true });
    assert.match(await create.innerText(), /Your sign-in lacks things:write/);
    await create.getByLabel('name').fill('bob-widget');
    const before = (await backend.records()).length;
    const [response] = await Promise.all([bob.waitForResponse((r) => r.url().endsWith('/tools/call'), WAIT), create.getByRole('button', { name: 'Call create_thing' }).click()]);
    assert.equal(response.status(), 403);
    await bob.locator('#refusal').waitFor(WAIT);
    assert.match(await bob.locator('#refusal').innerText(), /Refused by the gateway: this tool needs the scope things:write/);
    await bob.screenshot({ path: join(ARTIFACTS, '03-refused.png'), fullPage: true });
    const after = (await backend.records()).slice(before);
    assert.equal(after.flatMap((r) => r.messages).filter((m) => m.method === 'tools/call').length, 0, 'the backend never received the call');

    for (const path of ['/admin/clients', '/admin/grants', '/admin/sessions']) {
      const page = await bob.goto(`${origin}${path}`);
      assert.equal(page?.status(), 403, path);
      await bob.getByRole('heading', { name: 'Administrators only' }).waitFor(WAIT);
    }
    const post = await bobContext.request.post(`${origin}/admin/grants/revoke`, { form: { grant_id: 'x', csrf_token: 'x' }, headers: { origin }, ...WAIT });
    assert.equal(post.status(), 403);
  });

  it('the administrator: clients, grants and sessions; a revoked grant cannot refresh, an ended session gets 404, a client is removed; no CSRF token or another Origin: 403', TIMEOUT, async () => {
    // An MCP client of bob's, with a refresh token and a gateway session.
    const redirectUri = 'http://localhost:33471/callback';
    const clientId = await registerPublicClient(gateway, redirectUri);
    const code = await authorizeCode(gateway, new UserAgent(BOB), clientId, redirectUri, 'things:read');
    const tokens = await redeemCode(gateway, clientId, redirectUri, code);
    assert.equal(tokens.status, 200, tokens.text);
    let refreshToken = String(tokens.body.refresh_token);
    const accessToken = String(tokens.body.access_token);
    const init = await mcpPost(gateway.url, accessToken, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    assert.equal(init.status, 200, init.text);
    const sessionId = init.headers['mcp-session-id'] as string;
    assert.ok(sessionId);

    // Clients.
    await admin.getByRole('navigation').getByRole('link', { name: 'Clients' }).click();
    await admin.getByRole('heading', { name: 'Clients', exact: true }).waitFor(WAIT);
    const own = admin.getByRole('row').filter({ hasText: 'Portcullis web console' });
    assert.match(await own.innerText(), /this console/);
    assert.equal(await own.getByRole('button').count(), 0, 'the console does not remove its own client');
    assert.equal(await admin.getByRole('row').filter({ hasText: clientId }).count(), 1);

    // Grants: no CSRF token, or another Origin → 403, nothing revoked (the refresh still works).
    await admin.getByRole('navigation').getByRole('link', { name: 'Grants' }).click();
    await admin.getByRole('heading', { name: 'Grants', exact: true }).waitFor(WAIT);
    await admin.screenshot({ path: join(ARTIFACTS, '04-grants.png'), fullPage: true });
    const row = admin.getByRole('row').filter({ hasText: 'e2e raw client' });
    assert.match(await row.innerText(), /bob/);
    assert.match(await row.innerText(), /things:read/);
    const grantId = (await row.locator('input[name="grant_id"]').getAttribute('value'))!;
    const csrf = (await row.locator('input[name="csrf_token"]').getAttribute('value'))!;
    const noToken = await adminContext.request.post(`${origin}/admin/grants/revoke`, { form: { grant_id: grantId }, headers: { origin }, ...WAIT });
    assert.equal(noToken.status(), 403);
    assert.match(await noToken.text(), /This form could not be verified/);
    const wrongToken = await adminContext.request.post(`${origin}/admin/grants/revoke`, { form: { grant_id: grantId, csrf_token: `${csrf}x` }, headers: { origin }, ...WAIT });
    assert.equal(wrongToken.status(), 403);
    const foreign = await adminContext.request.post(`${origin}/admin/grants/revoke`, { form: { grant_id: grantId, csrf_token: csrf }, headers: { origin: 'http://evil.example' }, ...WAIT });
    assert.equal(foreign.status(), 403);
    const stillLive = await refresh(gateway, clientId, refreshToken);
    assert.equal(stillLive.status, 200, stillLive.text);
    refreshToken = String(stillLive.body.refresh_token);

    await row.getByRole('button', { name: /^Revoke/ }).click();
    await admin.getByRole('status').filter({ hasText: 'The grant was revoked.' }).waitFor(WAIT);
    assert.equal(await admin.getByRole('row').filter({ hasText: 'e2e raw client' }).count(), 0);
    const refused = await refresh(gateway, clientId, refreshToken);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_grant');

    // Sessions: the MCP client's session, ended → its next request gets 404.
    await admin.getByRole('navigation').getByRole('link', { name: 'Sessions' }).click();
    await admin.getByRole('heading', { name: 'Sessions', exact: true }).waitFor(WAIT);
    await admin.screenshot({ path: join(ARTIFACTS, '05-sessions.png'), fullPage: true });
    assert.ok(!(await admin.content()).includes(sessionId), 'the page never shows a session id');
    const sessionRow = admin.getByRole('row').filter({ hasText: 'e2e raw client' });
    assert.match(await sessionRow.innerText(), /bob/);
    const listed = await mcpPost(gateway.url, accessToken, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': sessionId });
    assert.equal(listed.status, 200, 'the session works before');
    await sessionRow.getByRole('button', { name: /^End/ }).click();
    await admin.getByRole('status').filter({ hasText: 'The session was ended.' }).waitFor(WAIT);
    const gone = await mcpPost(gateway.url, accessToken, { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'mcp-session-id': sessionId });
    assert.equal(gone.status, 404, gone.text);

    // Clients: remove the MCP client.
    await admin.getByRole('navigation').getByRole('link', { name: 'Clients' }).click();
    await admin.getByRole('row').filter({ hasText: clientId }).getByRole('button', { name: /^Remove/ }).click();
    await admin.getByRole('status').filter({ hasText: 'The client was removed.' }).waitFor(WAIT);
    assert.equal(await admin.getByRole('row').filter({ hasText: clientId }).count(), 0);
  });

  it('logout: a POST without the token is refused; then the session ends, the cookie goes, the old cookie is worthless, its grant is revoked', TIMEOUT, async () => {
    const refused = await bobContext.request.post(`${origin}/oauth/logout`, { form: { other: 'field' }, headers: { origin }, ...WAIT });
    assert.equal(refused.status(), 403);
    assert.equal((await status(bobContext, origin)).authenticated, true, 'still signed in');

    const old = (await bobContext.cookies(origin)).find((cookie) => cookie.name === 'portcullis-console')!;
    await bob.goto(`${origin}/`);
    await bob.getByRole('navigation').getByRole('button', { name: 'Log out' }).click();
    await bob.waitForURL(`${origin}/`, WAIT);
    await bob.getByRole('navigation').getByRole('link', { name: 'Log in' }).waitFor(WAIT);
    assert.equal((await bobContext.cookies(origin)).find((cookie) => cookie.name === 'portcullis-console'), undefined, 'the cookie is gone');
    assert.deepEqual(await status(bobContext, origin), { authenticated: false, user: null, scopes: [], expires_at: null });
    const replayed = await fetch(`${origin}/oauth/status`, { headers: { cookie: `portcullis-console=${old.value}` }, signal: AbortSignal.timeout(10_000) });
    assert.equal(((await replayed.json()) as Record<string, unknown>).authenticated, false, 'the old cookie opens nothing');

    // bob's console grant is gone from the administrator's list; the administrator's own is there.
    await admin.goto(`${origin}/admin/grants`);
    const consoleGrants = admin.getByRole('row').filter({ hasText: 'Portcullis web console' });
    assert.equal(await consoleGrants.count(), 1);
    assert.match(await consoleGrants.innerText(), /admin/);

    await admin.getByRole('navigation').getByRole('button', { name: 'Log out' }).click();
    await admin.getByRole('navigation').getByRole('link', { name: 'Log in' }).waitFor(WAIT);
    assert.equal((await status(adminContext, origin)).authenticated, false);
    const page = await admin.goto(`${origin}/admin/grants`);
    assert.equal(page?.status(), 401);
  });

  it('no console error (CSP included) on any page, and no token in the gateway output', TIMEOUT, async () => {
    assert.deepEqual(errors, []);
    assert.ok(!JWT.test(gateway.output()), 'no JWT in the gateway output');
  });
});

describe('the web console behind an https public URL (plain HTTP)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-console-https-'));
  let backend: BackendProcess;
  let gateway: ServeProcess;
  let local: string;

  before(async () => {
    backend = await startRecordingBackend();
    const port = await freePort();
    // TLS ends at a reverse proxy in front: the gateway listens on plain HTTP under an https public URL.
    gateway = await startServe(['--store', `sqlite:${join(dir, 'https.db')}`, '--port', String(port), '--public-url', `https://127.0.0.1:${port}`, '--backend-url', backend.url], { PORTCULLIS_ADMIN_PASSWORD: ADMIN.password }, { command: 'proxy' });
    local = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await gateway?.stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the cookies are __Host- prefixed, Secure, HttpOnly, SameSite=Lax; the session is server-side', TIMEOUT, async () => {
    const start = await fetch(`${local}/oauth/login`, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    assert.equal(start.status, 302);
    const loginCookie = setCookieLine(start, '__Host-portcullis-console-login');
    assert.ok(loginCookie, start.headers.getSetCookie().join('\n'));
    assert.match(loginCookie, /; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);

    // The AS's pages, reached over the plain-HTTP listener as the TLS proxy would.
    const authorize = new URL(start.headers.get('location')!);
    assert.equal(authorize.protocol, 'https:');
    authorize.protocol = 'http:';
    const callback = await new UserAgent(ADMIN).authorize(authorize);
    assert.equal(`${callback.origin}${callback.pathname}`, `https://${authorize.host}/oauth/callback`);
    const landed = await fetch(`${local}/oauth/callback${callback.search}`, { redirect: 'manual', headers: { cookie: loginCookie.split(';')[0]! }, signal: AbortSignal.timeout(10_000) });
    assert.equal(landed.status, 302, await landed.text());
    assert.equal(landed.headers.get('location'), '/');
    const session = setCookieLine(landed, '__Host-portcullis-console');
    assert.ok(session, landed.headers.getSetCookie().join('\n'));
    assert.match(session, /^__Host-portcullis-console=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/);
    assert.match(setCookieLine(landed, '__Host-portcullis-console-login') ?? '', /Max-Age=0/, 'the login cookie is cleared');

    const cookie = session.split(';')[0]!;
    const tools = await fetch(`${local}/tools`, { headers: { cookie }, signal: AbortSignal.timeout(20_000) });
    const page = await tools.text();
    assert.equal(tools.status, 200, page);
    assertPageHeaders(tools.headers);
    assert.match(page, /Call echo/);
    assert.ok(!JWT.test(page), 'no token in the page');
    const state = await fetch(`${local}/oauth/status`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) });
    const body = (await state.json()) as Record<string, unknown>;
    assert.equal(body.authenticated, true);
    assert.ok(!JWT.test(JSON.stringify(body)));
    // An https page's forms come from the https origin: the plain-HTTP origin is another one.
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page)![1]!;
    const crossScheme = await fetch(`${local}/oauth/logout`, { method: 'POST', headers: { cookie, origin: local, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf_token=${csrf}`, signal: AbortSignal.timeout(10_000) });
    assert.equal(crossScheme.status, 403);
    const logout = await fetch(`${local}/oauth/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: `https://${authorize.host}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf_token=${csrf}`, signal: AbortSignal.timeout(10_000) });
    assert.equal(logout.status, 303);
    assert.match(setCookieLine(logout, '__Host-portcullis-console') ?? '', /^__Host-portcullis-console=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax; Secure$/);
    assert.ok(!JWT.test(gateway.output()), 'no token in the gateway output');
  });
});

/**
 * A real browser through the real pages (issue 3, done-when): Debian's Chromium, driven by playwright-core,
 * opens the authorization URL of a loopback client, fails a login once, logs in, consents, and ends on the
 * client's loopback redirect URI with a code that the token endpoint accepts. A screenshot of each page is
 * kept under test-artifacts/browser/.
 *
 * This is also the test of the CSP decision: Chromium applies `form-action` to the redirect that answers a
 * form POST, so the consent page's 303 to the client (another origin: another port) only lands because the
 * page's CSP lists the redirect origin. Any CSP violation on any page (the hashed stylesheet included)
 * fails the test.
 *
 * Skips, saying why, when Chromium or playwright-core is not installed.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addLoginUser, authorizationRequest, PASSWORD } from '../authorization-server/authorize-helpers.js';
import { addClient, post, startServer } from '../authorization-server/helpers.js';
import { CHROMIUM, CHROMIUM_ARGS, loadPlaywright } from '../helpers/chromium.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'browser');


const { playwright, skip } = await loadPlaywright();

test('Chromium logs in and consents through the real pages and lands on the loopback redirect with a code', { skip: skip ?? false, timeout: 180_000 }, async () => {
  const as = await startServer();
  // The client's loopback listener (RFC 8252 §7.3): registered without a port, reached on whatever port it got.
  const arrivals: URL[] = [];
  const callback = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/callback') arrivals.push(url); // not /favicon.ico
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Client</title><h1>Signed in</h1><p>The application received the authorization response.</p>');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  const redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  const profile = await mkdtemp(join(tmpdir(), 'portcullis-chromium-'));
  await mkdir(ARTIFACTS, { recursive: true });

  const context = await playwright!.chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 800, height: 900 } });
  try {
    const client = await addClient(as, { redirectUris: ['http://127.0.0.1/callback', 'http://localhost/callback'] });
    const user = await addLoginUser(as, ['incidents:read', 'incidents:write'], 'browser-user');
    const request = authorizationRequest(client.clientId, { redirect_uri: redirectUri, scope: 'incidents:read incidents:write' });

    const page = context.pages()[0] ?? (await context.newPage());
    const violations: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') violations.push(message.text());
    });

    // 1. The login page.
    const first = await page.goto(`${as.origin}/oauth/authorize?${request.query}`);
    assert.equal(first?.status(), 200);
    assert.equal(first?.headers()['x-frame-options'], 'DENY');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, '01-login.png'), fullPage: true });

    // 2. A wrong password: the same page, one message for both mistakes.
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.equal((await page.getByRole('alert').textContent())?.trim(), 'Invalid username or password.');
    assert.equal(await page.getByLabel('Username').inputValue(), user.username);
    await page.screenshot({ path: join(ARTIFACTS, '02-login-failed.png'), fullPage: true });

    // 3. The right password: the consent page.
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    const consentText = await page.locator('main').innerText();
    assert.match(consentText, /Test client/);
    assert.match(consentText, new RegExp(`127\\.0\\.0\\.1:${new URL(redirectUri).port}`));
    assert.match(consentText, /incidents:read/);
    assert.match(consentText, /incidents:write/);
    const cookies = await context.cookies(as.origin);
    const session = cookies.find((cookie) => cookie.name === 'portcullis-session');
    assert.ok(session, 'the session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    await page.screenshot({ path: join(ARTIFACTS, '03-consent.png'), fullPage: true });

    // 4. Allow: a 303 from the form POST to the client's origin, which form-action must permit.
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL((url) => url.origin === new URL(redirectUri).origin, { timeout: 15_000 });
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, '04-client-callback.png'), fullPage: true });

    const landed = new URL(page.url());
    assert.equal(`${landed.origin}${landed.pathname}`, redirectUri);
    const code = landed.searchParams.get('code');
    assert.ok(code, `a code in ${page.url()}`);
    assert.equal(landed.searchParams.get('state'), request.state);
    assert.equal(landed.searchParams.get('iss'), as.issuer);
    assert.equal(arrivals.length, 1);
    assert.deepEqual(violations, [], 'no console errors: no CSP violation (stylesheet hash, form-action)');

    const token = await post(as, '/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: request.verifier, client_id: client.clientId });
    assert.equal(token.status, 200, token.text);
    assert.equal(token.body.scope, 'incidents:read incidents:write');

    // 5. The redirect went to the issuer's own host name (127.0.0.1, another port: cookies do not isolate
    //    ports, RFC 6265 §8.5), so the authorization response ended the session: the client could not use
    //    our cookie to approve its own consent. Again in the same browser: the login page, then — the
    //    consent remembered — straight back with a new code, no consent page.
    assert.equal((await context.cookies(as.origin)).find((cookie) => cookie.name === 'portcullis-session'), undefined, 'the session cookie is gone');
    const again = authorizationRequest(client.clientId, { redirect_uri: redirectUri, scope: 'incidents:read' });
    await page.goto(`${as.origin}/oauth/authorize?${again.query}`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.origin === new URL(redirectUri).origin, { timeout: 15_000 });
    const second = new URL(page.url());
    assert.ok(second.searchParams.get('code'));
    assert.equal(second.searchParams.get('state'), again.state);
    assert.equal(arrivals.length, 2);
    assert.deepEqual(violations, []);

    // 6. A redirect to another host name (localhost) keeps the session: one sign-in (the last redirect
    //    ended the session again), consent still remembered ...
    const otherHost = `http://localhost:${new URL(redirectUri).port}/callback`;
    const third = authorizationRequest(client.clientId, { redirect_uri: otherHost, scope: 'incidents:read' });
    await page.goto(`${as.origin}/oauth/authorize?${third.query}`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.origin === new URL(otherHost).origin, { timeout: 15_000 });
    assert.equal(new URL(page.url()).searchParams.get('state'), third.state);
    assert.ok((await context.cookies(as.origin)).some((cookie) => cookie.name === 'portcullis-session'), 'the session is kept');

    // 7. ... so again in the same browser: signed in and consent remembered, straight back with a new code.
    const fourth = authorizationRequest(client.clientId, { redirect_uri: otherHost, scope: 'incidents:read' });
    const pages: string[] = [];
    const onResponse = (response: import('playwright-core').Response): void => {
      if (response.status() === 200 && new URL(response.url()).origin === as.origin) pages.push(response.url());
    };
    page.on('response', onResponse);
    await page.goto(`${as.origin}/oauth/authorize?${fourth.query}`);
    await page.waitForURL((url) => url.origin === new URL(otherHost).origin, { timeout: 15_000 });
    page.off('response', onResponse);
    const last = new URL(page.url());
    assert.equal(`${last.origin}${last.pathname}`, otherHost);
    assert.ok(last.searchParams.get('code'));
    assert.equal(last.searchParams.get('state'), fourth.state);
    assert.deepEqual(pages, [], 'no login page, no consent page');
    assert.equal(arrivals.length, 4);
    assert.deepEqual(violations, []);
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
    await new Promise<void>((resolve) => callback.close(() => resolve()));
    await as.close();
  }
});

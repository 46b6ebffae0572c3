/**
 * The authorization endpoint over real HTTP (real memory store, real keys, real scrypt, the real router):
 * every refusal with its status and that nothing was issued, the login and consent steps, CSRF, the
 * remembered consent, escaping, and the headers of every answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { newSession, sessionCookie } from '../../src/authorization-server/authorize/session.js';
import { hashPassword } from '../../src/authorization-server/passwords.js';
import { hashToken } from '../../src/authorization-server/secrets.js';
import type { UserRecord } from '../../src/stores/auth-types.js';
import {
  addLoginUser,
  assertPageHeaders,
  authorizationRequest,
  Browser,
  hiddenFields,
  logIn,
  PASSWORD,
  redirectParams,
  type AuthorizationParams,
  type PageResult,
} from './authorize-helpers.js';
import { addClient, post, REDIRECT_URI, startServer, type TestClient, type TestServer } from './helpers.js';

let as: TestServer;
let client: TestClient;
let alice: UserRecord;

before(async () => {
  as = await startServer();
  client = await addClient(as);
  alice = await addLoginUser(as);
  codesIssued = countCodes();
});
after(() => as.close());

/** Codes put in the store since `before` (the store has no listing: count `put`s). */
function countCodes(): () => number {
  const codes = as.store.codes;
  let count = 0;
  const put = codes.put.bind(codes);
  codes.put = async (record) => {
    count++;
    return put(record);
  };
  return () => count;
}
let codesIssued: () => number;

function assertNoRedirect(result: PageResult, status: number): void {
  assert.equal(result.status, status, result.text.slice(0, 500));
  assert.equal(result.location, null, 'an error page, never a redirect');
  assert.match(result.headers.get('content-type') ?? '', /^text\/html; charset=utf-8$/);
  assertPageHeaders(result);
}

/** An error redirect: 302 in answer to a GET, 303 in answer to a form POST. */
function assertErrorRedirect(result: PageResult, request: AuthorizationParams, error: string, status = 302): URLSearchParams {
  assert.equal(result.status, status, result.text.slice(0, 500));
  assertPageHeaders(result);
  const params = redirectParams(result, request.redirectUri);
  assert.equal(params.get('error'), error);
  assert.ok(params.get('error_description'));
  assert.equal(params.get('state'), request.state, 'state echoed byte for byte');
  assert.equal(params.get('iss'), as.issuer, 'RFC 9207 iss');
  assert.equal(params.get('code'), null);
  return params;
}

/** Logs `user` in and approves; returns the redirect's parameters. */
async function approve(browser: Browser, request: AuthorizationParams, user: UserRecord): Promise<URLSearchParams> {
  let page = await browser.authorize(request);
  if (page.text.includes('name="password"')) page = await logIn(browser, page, user.username);
  assert.equal(page.status, 200, page.text.slice(0, 500));
  assert.match(page.text, /name="decision" value="approve"/);
  const result = await browser.post('/oauth/authorize', { ...hiddenFields(page), decision: 'approve' });
  assert.equal(result.status, 303, 'a form is answered with 303 (never 307)');
  return redirectParams(result, request.redirectUri);
}

/** A redirect URI on another host than the issuer (127.0.0.1): the browser keeps its session across authorizations. */
const REMOTE_REDIRECT = 'https://app.example/callback';

describe('requests that must not redirect: an error page', () => {
  test('unknown client', async () => {
    const before = codesIssued();
    const result = await new Browser(as).authorize(authorizationRequest('no-such-client'));
    assertNoRedirect(result, 400);
    assert.match(result.text, /Unknown application/);
    assert.doesNotMatch(result.text, /no-such-client/, 'the page does not echo the request');
    assert.match(result.headers.get('content-security-policy') ?? '', /form-action 'none'/);
    assert.equal(codesIssued(), before);
  });

  test('missing client_id, repeated client_id', async () => {
    const request = authorizationRequest(client.clientId);
    request.query.delete('client_id');
    assertNoRedirect(await new Browser(as).authorize(request), 400);
    request.query.append('client_id', client.clientId);
    request.query.append('client_id', client.clientId);
    assertNoRedirect(await new Browser(as).authorize(request), 400);
  });

  test('redirect_uri not registered: other path, other host, https for http, a query added, missing', async () => {
    for (const redirectUri of ['http://127.0.0.1:4711/other', 'http://evil.example/callback', 'https://127.0.0.1:4711/callback', `${REDIRECT_URI}?x=1`, 'http://localhost:4711/callback']) {
      const result = await new Browser(as).authorize(authorizationRequest(client.clientId, { redirect_uri: redirectUri }));
      assertNoRedirect(result, 400);
      assert.match(result.text, /Unregistered return address/, redirectUri);
    }
    assertNoRedirect(await new Browser(as).authorize(authorizationRequest(client.clientId, { redirect_uri: null })), 400);
  });

  test('a loopback redirect URI may differ only in its port (RFC 8252 §7.3)', async () => {
    const request = authorizationRequest(client.clientId, { redirect_uri: 'http://127.0.0.1:55321/callback' });
    const result = await new Browser(as).authorize(request);
    assert.equal(result.status, 200, result.text.slice(0, 300));
    assert.match(result.text, /name="username"/);
    assert.match(result.headers.get('content-security-policy') ?? '', /form-action 'self' http:\/\/127\.0\.0\.1:55321;/);
  });
});

describe('requests refused with a redirect carrying error, state and iss', () => {
  test('PKCE missing: invalid_request', async () => {
    const request = authorizationRequest(client.clientId, { code_challenge: null, code_challenge_method: null });
    assertErrorRedirect(await new Browser(as).authorize(request), request, 'invalid_request');
  });

  test('PKCE plain, or no method (defaults to plain): invalid_request', async () => {
    for (const method of ['plain', null]) {
      const request = authorizationRequest(client.clientId, { code_challenge_method: method });
      assertErrorRedirect(await new Browser(as).authorize(request), request, 'invalid_request');
    }
  });

  test('a code_challenge that is not S256-shaped: invalid_request', async () => {
    const request = authorizationRequest(client.clientId, { code_challenge: 'short' });
    assertErrorRedirect(await new Browser(as).authorize(request), request, 'invalid_request');
  });

  test('response_type other than code: unsupported_response_type; missing: invalid_request', async () => {
    const token = authorizationRequest(client.clientId, { response_type: 'token' });
    assertErrorRedirect(await new Browser(as).authorize(token), token, 'unsupported_response_type');
    const none = authorizationRequest(client.clientId, { response_type: null });
    assertErrorRedirect(await new Browser(as).authorize(none), none, 'invalid_request');
  });

  test('a resource that is not ours: invalid_target', async () => {
    for (const resource of ['https://other.example/mcp', `${as.issuer}/mcp/`, 'not a uri']) {
      const request = authorizationRequest(client.clientId, { resource });
      assertErrorRedirect(await new Browser(as).authorize(request), request, 'invalid_target');
    }
  });

  test('an unknown or malformed scope: invalid_scope', async () => {
    for (const scope of ['incidents:read openid', 'incidents:delete', 'a"b']) {
      const request = authorizationRequest(client.clientId, { scope });
      assertErrorRedirect(await new Browser(as).authorize(request), request, 'invalid_scope');
    }
  });

  test('a repeated parameter: invalid_request', async () => {
    const request = authorizationRequest(client.clientId);
    request.query.append('scope', 'incidents:read');
    request.query.append('scope', 'incidents:write');
    assertErrorRedirect(await new Browser(as).authorize(request), request, 'invalid_request');
  });

  test('state comes back byte for byte, whatever its characters; an absent state stays absent', async () => {
    const state = 'a b+c/d?e=f&g=%20&h=ü😀~\'"<>';
    const request = authorizationRequest(client.clientId, { state, response_type: 'token' });
    assertErrorRedirect(await new Browser(as).authorize(request), request, 'unsupported_response_type');
    const stateless = authorizationRequest(client.clientId, { state: null, response_type: 'token' });
    const result = await new Browser(as).authorize(stateless);
    assert.equal(redirectParams(result).has('state'), false);
  });

  test('a client without the authorization_code grant: unauthorized_client', async () => {
    const machine = await addClient(as, { grantTypes: ['refresh_token'] });
    const request = authorizationRequest(machine.clientId);
    assertErrorRedirect(await new Browser(as).authorize(request), request, 'unauthorized_client');
  });
});

describe('login', () => {
  test('the login page: fields, hidden CSRF token and sealed request, session cookie, headers', async () => {
    const browser = new Browser(as);
    const page = await browser.authorize(authorizationRequest(client.clientId));
    assert.equal(page.status, 200);
    assertPageHeaders(page);
    assert.match(page.text, /<label for="username">/);
    assert.match(page.text, /<input id="username" name="username"/);
    assert.match(page.text, /<input id="password" name="password" type="password"/);
    assert.doesNotMatch(page.text, /<script/i, 'no script at all');
    const fields = hiddenFields(page);
    assert.ok(fields.csrf_token && fields.transaction);
    assert.ok(!fields.transaction.includes(client.clientId), 'the request is sealed, not readable');
    const setCookie = page.headers.getSetCookie();
    assert.equal(setCookie.length, 1);
    assert.match(setCookie[0]!, /^portcullis-session=v1\.[A-Za-z0-9_-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self' http:\/\/127\.0\.0\.1:4711;/);
  });

  test('https: the cookie is __Host- prefixed and Secure', () => {
    const ctx = { ...as.ctx, secureCookies: true };
    const cookie = sessionCookie(ctx, newSession(ctx));
    assert.match(cookie, /^__Host-portcullis-session=v1\.[A-Za-z0-9_-]+; Path=\/; Max-Age=900; HttpOnly; SameSite=Lax; Secure$/);
    assert.doesNotMatch(cookie, /Domain/i);
  });

  test('a wrong password and an unknown user get the same answer, and no session', async () => {
    const before = codesIssued();
    const answers: string[] = [];
    for (const [username, password] of [[alice.username, 'wrong password'], ['nobody-here', PASSWORD]] as const) {
      const browser = new Browser(as);
      const page = await browser.authorize(authorizationRequest(client.clientId));
      const result = await logIn(browser, page, username, password);
      assertNoRedirect(result, 200);
      assert.match(result.text, /Invalid username or password\./);
      assert.match(result.text, /name="password"/, 'the login form again');
      // Still signed out: the next GET shows the login page again.
      const again = await browser.authorize(authorizationRequest(client.clientId));
      assert.match(again.text, /name="password"/);
      answers.push(result.text.replace(/<input type="hidden"[^>]*>/g, '').replace(/value="[^"]*"/g, ''));
    }
    assert.equal(answers[0], answers[1], 'which of the two was wrong is not told');
    assert.equal(codesIssued(), before);
  });

  test('repeated failures are slowed down: 429 with Retry-After', async () => {
    const victim = await addLoginUser(as);
    const browser = new Browser(as);
    let page = await browser.authorize(authorizationRequest(client.clientId));
    let result: PageResult | undefined;
    for (let i = 0; i < 6; i++) {
      result = await logIn(browser, page, victim.username, `wrong-${i}`);
      page = result;
      if (result.status === 429) break;
    }
    assert.equal(result!.status, 429);
    assert.ok(Number(result!.headers.get('retry-after')) > 0);
    assert.match(result!.text, /Too many sign-in attempts/);
    // Even the right password is refused now, without a code.
    const right = await browser.post('/oauth/authorize', { ...hiddenFields(result!), username: victim.username, password: PASSWORD });
    assert.equal(right.status, 429);
    assert.equal(right.location, null);
  });

  test('Cancel on the login page: access_denied', async () => {
    const browser = new Browser(as);
    const request = authorizationRequest(client.clientId);
    const page = await browser.authorize(request);
    const result = await browser.post('/oauth/authorize', { ...hiddenFields(page), username: '', password: '', decision: 'deny' });
    assert.equal(result.status, 303);
    assertErrorRedirect({ ...result, status: 302 }, request, 'access_denied');
  });
});

describe('CSRF and the sealed request', () => {
  test('login form without, or with a wrong, CSRF token: 403, nothing issued, not signed in', async () => {
    const before = codesIssued();
    for (const csrf of [undefined, 'wrong', '']) {
      const browser = new Browser(as);
      const page = await browser.authorize(authorizationRequest(client.clientId));
      const fields = hiddenFields(page);
      const form: Record<string, string> = { transaction: fields.transaction!, username: alice.username, password: PASSWORD };
      if (csrf !== undefined) form.csrf_token = csrf;
      const result = await browser.post('/oauth/authorize', form);
      assertNoRedirect(result, 403);
      assert.match(result.text, /could not be verified/);
      assert.match(result.text, /<a href="authorize\?[^"]+">Start this sign-in again<\/a>/);
      const again = await browser.authorize(authorizationRequest(client.clientId));
      assert.match(again.text, /name="password"/, 'not signed in');
    }
    assert.equal(codesIssued(), before);
  });

  test('consent form without, or with a wrong, CSRF token: 403 and no code', async () => {
    const before = codesIssued();
    const browser = new Browser(as);
    const consent = await logIn(browser, await browser.authorize(authorizationRequest(client.clientId)), alice.username);
    assert.match(consent.text, /value="approve"/);
    const fields = hiddenFields(consent);
    for (const csrf of [undefined, 'x'.repeat(43)]) {
      const form: Record<string, string> = { transaction: fields.transaction!, decision: 'approve' };
      if (csrf !== undefined) form.csrf_token = csrf;
      assertNoRedirect(await browser.post('/oauth/authorize', form), 403);
    }
    assert.equal(codesIssued(), before);
  });

  test("another browser's form (its token and its cookie do not pair): 403", async () => {
    const mallory = new Browser(as);
    const page = await mallory.authorize(authorizationRequest(client.clientId));
    const victim = new Browser(as);
    await victim.authorize(authorizationRequest(client.clientId)); // the victim has a session of their own
    const result = await victim.post('/oauth/authorize', { ...hiddenFields(page), username: alice.username, password: PASSWORD });
    assertNoRedirect(result, 403);
  });

  test('a consent form sealed for one user cannot be approved in the session of another', async () => {
    const bob = await addLoginUser(as);
    const aliceBrowser = new Browser(as);
    const aliceConsent = await logIn(aliceBrowser, await aliceBrowser.authorize(authorizationRequest(client.clientId)), alice.username);
    const bobBrowser = new Browser(as);
    const bobConsent = await logIn(bobBrowser, await bobBrowser.authorize(authorizationRequest(client.clientId)), bob.username);
    // Alice's sealed request with Bob's token and cookie.
    const result = await bobBrowser.post('/oauth/authorize', { transaction: hiddenFields(aliceConsent).transaction!, csrf_token: hiddenFields(bobConsent).csrf_token!, decision: 'approve' });
    assertNoRedirect(result, 403);
  });

  test('a tampered or missing sealed request: 400 page', async () => {
    const browser = new Browser(as);
    const page = await browser.authorize(authorizationRequest(client.clientId));
    const fields = hiddenFields(page);
    const tampered = fields.transaction!.slice(0, -4) + (fields.transaction!.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assertNoRedirect(await browser.post('/oauth/authorize', { ...fields, transaction: tampered, username: alice.username, password: PASSWORD }), 400);
    assertNoRedirect(await browser.post('/oauth/authorize', { csrf_token: fields.csrf_token!, username: alice.username, password: PASSWORD }), 400);
  });

  test('an expired form: 400 page', async () => {
    const browser = new Browser(as);
    const page = await browser.authorize(authorizationRequest(client.clientId));
    as.clock.now += 16 * 60;
    try {
      assertNoRedirect(await logIn(browser, page, alice.username), 400);
    } finally {
      as.clock.now -= 16 * 60;
    }
  });
});

describe('consent', () => {
  test('the consent page: client name, redirect host, scopes, the two buttons', async () => {
    const browser = new Browser(as);
    const consent = await logIn(browser, await browser.authorize(authorizationRequest(client.clientId)), alice.username);
    assert.equal(consent.status, 200);
    assertPageHeaders(consent);
    assert.match(consent.text, /Test client/);
    assert.match(consent.text, /<strong>127\.0\.0\.1:4711<\/strong>/);
    assert.match(consent.text, /<code>incidents:read<\/code>/);
    assert.match(consent.text, /<code>incidents:write<\/code>/);
    assert.doesNotMatch(consent.text, /mcp:admin/, 'only what the user may grant');
    assert.match(consent.text, /<button type="submit" name="decision" value="approve"/);
    assert.match(consent.text, /<button type="submit" name="decision" value="deny"/);
    assert.match(consent.headers.get('content-security-policy') ?? '', /form-action 'self' http:\/\/127\.0\.0\.1:4711;/);
    assert.match(consent.headers.getSetCookie()[0] ?? '', /^portcullis-session=/, 'login replaced the session');
  });

  test('deny: access_denied with state and iss, nothing issued or remembered', async () => {
    const carol = await addLoginUser(as);
    const before = codesIssued();
    const browser = new Browser(as);
    const request = authorizationRequest(client.clientId);
    const consent = await logIn(browser, await browser.authorize(request), carol.username);
    const result = await browser.post('/oauth/authorize', { ...hiddenFields(consent), decision: 'deny' });
    assert.equal(result.status, 303);
    assertErrorRedirect({ ...result, status: 302 }, request, 'access_denied');
    assert.equal(codesIssued(), before);
    assert.equal(await as.store.consents.get(carol.id, client.clientId), undefined);
  });

  test('approve: a code with state and iss, bound to everything, redeemable once at the token endpoint', async () => {
    const dave = await addLoginUser(as);
    const browser = new Browser(as);
    const request = authorizationRequest(client.clientId, { scope: 'incidents:read' });
    const params = await approve(browser, request, dave);
    const code = params.get('code')!;
    assert.match(code, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(params.get('state'), request.state);
    assert.equal(params.get('iss'), as.issuer);
    assert.deepEqual([...params.keys()].sort(), ['code', 'iss', 'state']);
    assert.deepEqual(await as.store.consents.get(dave.id, client.clientId), ['incidents:read']);

    const token = await post(as, '/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: request.verifier, client_id: client.clientId });
    assert.equal(token.status, 200, token.text);
    assert.equal(token.body.scope, 'incidents:read');
    assert.equal(typeof token.body.access_token, 'string');
    // The code is stored only as its hash: consuming it again is a replay.
    const replay = await as.store.codes.consume(hashToken(code), as.clock.now);
    assert.equal(replay?.firstUse, false);
  });

  test('consent is remembered per user and client: the same or fewer scopes skip the page, more show it', async () => {
    // A client on another host than the issuer, so the browser keeps its session between authorizations.
    const remote = await addClient(as, { redirectUris: [REMOTE_REDIRECT] });
    const erin = await addLoginUser(as);
    const browser = new Browser(as);
    const first = await logIn(browser, await browser.authorize(authorizationRequest(remote.clientId, { scope: 'incidents:read', redirect_uri: REMOTE_REDIRECT })), erin.username);
    redirectParams(await browser.post('/oauth/authorize', { ...hiddenFields(first), decision: 'approve' }), REMOTE_REDIRECT);

    const again = authorizationRequest(remote.clientId, { scope: 'incidents:read', redirect_uri: REMOTE_REDIRECT });
    const direct = await browser.authorize(again);
    assert.equal(direct.status, 302, 'no page: straight back with a code');
    assertPageHeaders(direct);
    const params = redirectParams(direct, REMOTE_REDIRECT);
    assert.ok(params.get('code'));
    assert.equal(params.get('state'), again.state);
    assert.equal(params.get('iss'), as.issuer);

    const wider = await browser.authorize(authorizationRequest(remote.clientId, { scope: 'incidents:read incidents:write', redirect_uri: REMOTE_REDIRECT }));
    assert.equal(wider.status, 200);
    assert.match(wider.text, /value="approve"/);
    await browser.post('/oauth/authorize', { ...hiddenFields(wider), decision: 'approve' });
    assert.deepEqual([...((await as.store.consents.get(erin.id, remote.clientId)) ?? [])].sort(), ['incidents:read', 'incidents:write']);

    // Another client is asked again.
    const other = await addClient(as);
    const otherPage = await browser.authorize(authorizationRequest(other.clientId, { scope: 'incidents:read' }));
    assert.equal(otherPage.status, 200);
    assert.match(otherPage.text, /value="approve"/);
  });

  test("the user's own scopes cap the grant; a user with none of the requested ones gets access_denied", async () => {
    const reader = await addLoginUser(as, ['incidents:read']);
    const browser = new Browser(as);
    const request = authorizationRequest(client.clientId); // default scope: every scope of the resource
    const consent = await logIn(browser, await browser.authorize(request), reader.username);
    assert.match(consent.text, /<code>incidents:read<\/code>/);
    assert.doesNotMatch(consent.text, /incidents:write/);
    const result = await browser.post('/oauth/authorize', { ...hiddenFields(consent), decision: 'approve' });
    const code = redirectParams(result).get('code')!;
    const token = await post(as, '/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: request.verifier, client_id: client.clientId });
    assert.equal(token.body.scope, 'incidents:read');

    // The redirect to the loopback client ended the session (see the test below): sign in again.
    const denied = authorizationRequest(client.clientId, { scope: 'incidents:write' });
    const refused = await logIn(browser, await browser.authorize(denied), reader.username);
    assertErrorRedirect(refused, denied, 'access_denied', 303);
  });

  test("a public client's registered scope does not cap the request (issue 3: step-up)", async () => {
    const narrow = await addClient(as, { scope: 'incidents:read' });
    const frank = await addLoginUser(as);
    const params = await approve(new Browser(as), authorizationRequest(narrow.clientId, { scope: 'incidents:read incidents:write' }), frank);
    assert.ok(params.get('code'));
    assert.deepEqual([...((await as.store.consents.get(frank.id, narrow.clientId)) ?? [])].sort(), ['incidents:read', 'incidents:write']);
  });

  test('a password change ends the session: the login page again', async () => {
    const remote = await addClient(as, { redirectUris: [REMOTE_REDIRECT] });
    const gina = await addLoginUser(as);
    const browser = new Browser(as);
    const consent = await logIn(browser, await browser.authorize(authorizationRequest(remote.clientId, { scope: 'incidents:read', redirect_uri: REMOTE_REDIRECT })), gina.username);
    redirectParams(await browser.post('/oauth/authorize', { ...hiddenFields(consent), decision: 'approve' }), REMOTE_REDIRECT);
    assert.equal((await browser.authorize(authorizationRequest(remote.clientId, { scope: 'incidents:read', redirect_uri: REMOTE_REDIRECT }))).status, 302, 'still signed in');
    await as.store.users.update(gina.username, { passwordHash: await hashPassword('another password entirely') });
    const page = await browser.authorize(authorizationRequest(remote.clientId, { scope: 'incidents:read', redirect_uri: REMOTE_REDIRECT }));
    assert.equal(page.status, 200);
    assert.match(page.text, /name="password"/);
  });

  test('a client known by its metadata document: its id is shown; a loopback-only one is warned about, every time', async () => {
    const ivan = await addLoginUser(as);
    const cases = [
      { redirect: 'http://127.0.0.1/callback', request: 'http://127.0.0.1:40123/callback', warned: true },
      { redirect: 'https://app.example/callback', request: 'https://app.example/callback', warned: false },
    ];
    for (const [i, { redirect, request: redirectUri, warned }] of cases.entries()) {
      const clientId = `https://app.example/client-${i}.json`;
      // A document already fetched and cached (the fetch itself is cimd.ts's and is tested there).
      await as.store.cimdCache.put(clientId, { client_id: clientId, client_name: 'Metadata App', redirect_uris: [redirect], token_endpoint_auth_method: 'none' }, as.clock.now + 3600);
      const browser = new Browser(as);
      const consent = await logIn(browser, await browser.authorize(authorizationRequest(clientId, { redirect_uri: redirectUri })), ivan.username);
      assert.equal(consent.status, 200, consent.text.slice(0, 300));
      assert.match(consent.text, /Metadata App/);
      assert.ok(consent.text.includes(`Client ID: ${clientId}`));
      assert.equal(/class="notice"/.test(consent.text), warned, redirect);
      assert.ok(consent.text.includes(`<strong>${new URL(redirectUri).host}</strong>`));
      // Approved once; asked again only when nothing proves the caller is that client (loopback: RFC 8252 §8.6).
      const approved = await browser.post('/oauth/authorize', { ...hiddenFields(consent), decision: 'approve' });
      assert.ok(new URL(approved.location!).searchParams.get('code'));
      let again = await browser.authorize(authorizationRequest(clientId, { redirect_uri: redirectUri }));
      // The loopback redirect (same host as the issuer) ended the session: sign in, then consent again.
      if (warned) again = await logIn(browser, again, ivan.username);
      assert.equal(again.status, warned ? 200 : 302, redirect);
      if (warned) assert.match(again.text, /class="notice"/);
    }
  });

  test('a redirect to a client on the issuer host ends the session, so the client never receives it (RFC 6265 §8.5)', async () => {
    const kim = await addLoginUser(as);
    const browser = new Browser(as);
    const request = authorizationRequest(client.clientId, { scope: 'incidents:read' });
    const consent = await logIn(browser, await browser.authorize(request), kim.username);
    assert.ok(browser.cookies.get('portcullis-session'), 'signed in');
    const result = await browser.post('/oauth/authorize', { ...hiddenFields(consent), decision: 'approve' });
    assert.ok(redirectParams(result).get('code'));
    assert.equal(browser.cookies.get('portcullis-session'), '', 'the session cookie is expired with the redirect');
    const next = await browser.authorize(authorizationRequest(client.clientId, { scope: 'incidents:read incidents:write' }));
    assert.match(next.text, /name="password"/, 'whoever holds the old cookie must sign in again');
  });

  test('the 2025-03-26 alias /authorize serves the same flow', async () => {
    const page = await new Browser(as).authorize(authorizationRequest(client.clientId), '/authorize');
    assert.equal(page.status, 200);
    assert.match(page.text, /<form method="post" action="authorize">/);
  });
});

describe('pages', () => {
  test('a hostile client name is escaped everywhere it is shown', async () => {
    const name = '<script>alert(1)</script>"\'&';
    const hostile = await addClient(as);
    await as.store.clients.remove(hostile.clientId);
    await as.store.clients.create({ ...hostile.record, name });
    const henry = await addLoginUser(as);
    const browser = new Browser(as);
    const login = await browser.authorize(authorizationRequest(hostile.clientId));
    const consent = await logIn(browser, login, henry.username);
    for (const page of [login, consent]) {
      assert.doesNotMatch(page.text, /<script>/);
      assert.match(page.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&#39;&amp;/);
    }
  });

  test('other methods: 405', async () => {
    const response = await fetch(`${as.origin}/oauth/authorize`, { method: 'PUT' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, POST');
  });

  test('a form that is not form-encoded: 415', async () => {
    const response = await fetch(`${as.origin}/oauth/authorize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 415);
  });
});

/**
 * Federated login end to end: `portcullis serve --upstream-issuer … --upstream-client-id …` (embedded AS,
 * SQLite store) in front of a real OpenID Provider nobody here wrote (`oidc-provider` v9 in this process on
 * loopback: dynamic registration off, one pre-registered confidential client, PKCE required, 2-second
 * access tokens, refresh tokens rotated on every use), with the official MCP client on the other side:
 * 401 → discovery → dynamic registration with US → authorize → upstream login and consent → our consent
 * page → token → initialize → tools/call as the local user derived from the upstream `sub`. Then: refreshes
 * reach the upstream once its access token has expired (one upstream refresh for concurrent ones), a grant
 * revoked upstream ends ours (`invalid_grant`), `access_denied` at the upstream reaches the client, a
 * tampered or replayed callback is an error page that consumes the pending authorization, an upstream that
 * is down is a 502 page (and a 503 refresh), and no upstream token is in the store or the logs in clear.
 * Every wait is bounded; the only sleeps let the upstream's 2-second access tokens expire.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { upstreamUsername } from '../../src/authorization-server/upstream/identity.js';
import { assertSequence, assertTokenRefusal, authorizationRequest, eventually, freePort, postForm, recordingFetch, redeemCode, refresh, registerPublicClient, runCli, startEmbedded } from '../helpers/embedded-as.js';
import { FederatedUserAgent } from '../helpers/federated-user-agent.js';
import { UserOAuthProvider } from '../helpers/oauth-user-provider.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { startUpstreamIdp, type UpstreamIdp } from '../helpers/upstream-idp.js';
import { visibleText } from '../helpers/user-agent.js';

const TIMEOUT = { timeout: 60_000 };
const SECRET = 'federated-login e2e server secret 0123456789';
const ALICE = 'alice.upstream';
const BOB = 'bob.upstream';
const CAROL = 'carol@upstream';
/** Past the upstream's 2-second access-token lifetime, counted in whole seconds on both sides. */
const UPSTREAM_EXPIRY_MS = 3200;
const REDIRECT_URI = 'http://127.0.0.1:33418/callback';

function connect(serve: ServeProcess, provider: UserOAuthProvider, recorded: typeof fetch): { client: Client; transport: StreamableHTTPClientTransport } {
  const transport = new StreamableHTTPClientTransport(new URL(serve.url), { authProvider: provider, fetch: recorded });
  return { client: new Client({ name: 'portcullis-federated-e2e', version: '1.0.0' }), transport };
}

/** A raw authorization request of a registered public client (PKCE S256, `state`), for the agent to open. */
function authorizationUrl(serve: ServeProcess, clientId: string): { url: URL; state: string; verifier: string } {
  return authorizationRequest(serve, clientId, REDIRECT_URI, 'incidents:read');
}

/** Code → tokens for a raw authorization: asserts the code came back, redeems it. */
async function tokensFor(serve: ServeProcess, agent: FederatedUserAgent, clientId: string): Promise<{ access: string; refresh: string }> {
  const { url, state, verifier } = authorizationUrl(serve, clientId);
  const back = await agent.authorize(url);
  assert.equal(back.searchParams.get('state'), state);
  const code = back.searchParams.get('code');
  assert.ok(code, `no code in ${back.href}`);
  const result = await redeemCode(serve, clientId, REDIRECT_URI, { code, verifier, response: back.searchParams });
  assert.equal(result.status, 200, result.text);
  return { access: String(result.body.access_token), refresh: String(result.body.refresh_token) };
}

/** Every text value stored in the SQLite file (read-only, beside the running server). */
function storedTexts(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const texts: string[] = [];
    for (const { name } of db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) for (const value of Object.values(row)) if (typeof value === 'string') texts.push(value);
    }
    return texts;
  } finally {
    db.close();
  }
}

describe('federated login: the official MCP client through portcullis to an upstream OpenID Provider', () => {
  let dir: string;
  let file: string;
  let idp: UpstreamIdp;
  let serve: ServeProcess;
  let issuer: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'portcullis-federated-'));
    file = join(dir, 'portcullis.db');
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    idp = await startUpstreamIdp({ redirectUri: `${issuer}/oauth/upstream/callback`, accounts: [ALICE, BOB, CAROL] });
    serve = await startEmbedded(['--port', String(port), '--store', `sqlite:${file}`, '--upstream-issuer', idp.issuer, '--upstream-client-id', idp.clientId], {
      PORTCULLIS_UPSTREAM_CLIENT_SECRET: idp.clientSecret,
      PORTCULLIS_SECRET: SECRET,
    });
  });

  after(async () => {
    await serve?.stop();
    await idp?.stop().catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('401 → discovery → registration here → upstream login + consent → our consent → token → tools/call as the local user of the upstream sub; refresh reaches the upstream; an upstream revocation ends our grant', TIMEOUT, async () => {
    const log = await serve.waitForLog((line) => line.msg === 'federated login: people sign in at the upstream');
    assert.equal(log.redirectUri, `${issuer}/oauth/upstream/callback`);
    assert.equal(log.clientAuth, 'client_secret_basic');

    const agent = new FederatedUserAgent({ account: ALICE, upstream: idp.issuer });
    const provider = new UserOAuthProvider(agent, { redirectUrl: REDIRECT_URI });
    const { fetch: recorded, exchanges, sent } = recordingFetch();
    let { client, transport } = connect(serve, provider, recorded);
    await assert.rejects(client.connect(transport), UnauthorizedError);
    assertSequence(exchanges, ['POST /mcp -> 401', 'GET /.well-known/oauth-protected-resource/mcp -> 200', 'GET /.well-known/oauth-authorization-server -> 200', 'POST /oauth/register -> 201']);
    const ours = provider.authorizationUrls[0]!;
    assert.equal(`${ours.origin}${ours.pathname}`, `${issuer}/oauth/authorize`);

    // The path the person took: our endpoint → the upstream (its login, its consent) → our callback → our consent.
    const steps = agent.visits.map((v) => `${v.method} ${new URL(v.url).origin === idp.issuer ? 'upstream' : 'ours'} ${v.kind}`);
    assert.deepEqual(steps.filter((s) => !s.endsWith('redirect')), ['GET upstream login', 'GET upstream consent', 'GET ours consent']);
    assert.equal(steps[0], 'GET ours redirect');
    // Our request to the upstream: our own client, our callback, PKCE S256, state and nonce of our own.
    const upstreamRequest = new URL(agent.visits[1]!.url);
    assert.equal(`${upstreamRequest.origin}${upstreamRequest.pathname}`, `${idp.issuer}/auth`);
    const asked = upstreamRequest.searchParams;
    assert.equal(asked.get('client_id'), idp.clientId);
    assert.equal(asked.get('redirect_uri'), `${issuer}/oauth/upstream/callback`);
    assert.equal(asked.get('response_type'), 'code');
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.deepEqual(asked.get('scope')?.split(' '), ['openid', 'profile', 'email']);
    assert.ok(asked.get('state') && asked.get('nonce') && asked.get('code_challenge'));
    assert.notEqual(asked.get('state'), ours.searchParams.get('state'), "the MCP client's state stays with us");
    assert.notEqual(asked.get('code_challenge'), ours.searchParams.get('code_challenge'));
    assert.equal(provider.callback?.get('iss'), issuer);

    await transport.finishAuth(provider.callback!);
    assert.equal(exchanges.at(-1)?.url.pathname, '/oauth/token');
    assert.equal(exchanges.at(-1)?.status, 200);
    const first = provider.tokens()!;
    assert.equal(first.scope, 'incidents:read', '--upstream-user-scopes defaults to the basic scope');
    assert.ok(first.refresh_token);

    ({ client, transport } = connect(serve, provider, recorded));
    await client.connect(transport);
    const me = (await client.callTool({ name: 'get_user_info', arguments: {} })).structuredContent as { subject: string; clientId: string; scopes: string[] };
    assert.match(me.subject, /^[0-9a-f-]{36}$/, 'our sub is the local user id, not the upstream sub');
    assert.equal(me.clientId, provider.clientInformation()?.client_id);
    const userinfo = (await (await fetch(`${issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${first.access_token}` } })).json()) as Record<string, unknown>;
    assert.deepEqual(userinfo, { sub: me.subject, preferred_username: upstreamUsername(idp.issuer, ALICE) });
    assert.ok(String(userinfo.preferred_username).startsWith(`${ALICE}.`));

    // The upstream access token expires (2 s): our next refresh refreshes it upstream first.
    await sleep(UPSTREAM_EXPIRY_MS);
    const upstreamBefore = idp.refreshes();
    provider.spoilAccessToken();
    assert.notEqual((await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })).isError, true);
    assert.equal(exchanges.filter((e) => e.url.pathname === '/oauth/token').at(-1)?.status, 200);
    assert.equal(idp.refreshes(), upstreamBefore + 1, 'the upstream grant was refreshed');

    // Again after expiry, with refreshes at once: one upstream refresh (with the rotated upstream token), all succeed.
    await sleep(UPSTREAM_EXPIRY_MS);
    const CALLS = 3;
    provider.spoilAccessToken();
    const sentBefore = sent.length;
    const refreshesSent = () => sent.slice(sentBefore).filter((r) => r.url.pathname === '/oauth/token').length;
    provider.gate = eventually(() => (refreshesSent() >= CALLS ? true : undefined), 10_000, `${CALLS} concurrent refreshes`);
    const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => client.callTool({ name: 'add', arguments: { a: i, b: 1 } })));
    provider.gate = undefined;
    results.forEach((result, i) => assert.deepEqual(result.content, [{ type: 'text', text: String(i + 1) }]));
    assert.equal(idp.refreshes(), upstreamBefore + 2, 'one upstream refresh for the concurrent ones; the rotated upstream token worked');
    await client.close();

    // Revoked upstream (the user's grants ended there): once the upstream access token expires, our refresh fails and ends the family.
    assert.ok(idp.revokeGrantsOf(ALICE) >= 1);
    await sleep(UPSTREAM_EXPIRY_MS);
    const clientId = provider.clientInformation()!.client_id;
    const current = provider.tokens()!.refresh_token!;
    assertTokenRefusal(await refresh(serve, clientId, current), 400, 'invalid_grant');
    assertTokenRefusal(await refresh(serve, clientId, current), 400, 'invalid_grant');
    await serve.waitForLog((line) => line.msg === 'upstream sign-in ended: grants revoked' && line.client === clientId);
  });

  it('consent is asked per MCP client: an upstream login never authorizes a client the user did not approve here', TIMEOUT, async () => {
    const agent = new FederatedUserAgent({ account: BOB, upstream: idp.issuer });
    const first = await registerPublicClient(serve, REDIRECT_URI);
    const second = await registerPublicClient(serve, REDIRECT_URI);
    const ourConsents = () => agent.visits.filter((v) => v.kind === 'consent' && new URL(v.url).origin === issuer).length;

    await tokensFor(serve, agent, first);
    assert.equal(ourConsents(), 1);
    await tokensFor(serve, agent, first);
    assert.equal(ourConsents(), 1, 'remembered for this user and client');
    await tokensFor(serve, agent, second);
    assert.equal(ourConsents(), 2, 'another client: asked again, although the upstream session is the same');
    const upstreamLogins = agent.visits.filter((v) => v.kind === 'login').length;
    assert.equal(upstreamLogins, 1, "the upstream's own session spared the second and third logins");

    // Denying our consent: access_denied to the client, no code.
    agent.decision = 'deny';
    const third = await registerPublicClient(serve, REDIRECT_URI);
    const { url, state } = authorizationUrl(serve, third);
    const back = await agent.authorize(url);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), state);
    assert.equal(back.searchParams.get('code'), null);
  });

  it('error=access_denied at the upstream reaches our client as access_denied, with its state and our iss', TIMEOUT, async () => {
    const agent = new FederatedUserAgent({ account: CAROL, upstream: idp.issuer });
    agent.upstreamDecision = 'abort';
    const clientId = await registerPublicClient(serve, REDIRECT_URI);
    const { url, state } = authorizationUrl(serve, clientId);
    const back = await agent.authorize(url);
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('state'), state);
    assert.equal(back.searchParams.get('iss'), issuer);
    assert.equal(back.searchParams.get('code'), null);
  });

  it('a tampered (iss, state) or replayed callback is an error page, never a redirect, and consumes the pending authorization', TIMEOUT, async () => {
    const agent = new FederatedUserAgent({ account: BOB, upstream: idp.issuer });
    agent.stopAtCallback = true;
    const clientId = await registerPublicClient(serve, REDIRECT_URI);
    const assertPage = (page: { status: number; headers: Headers; text: string }, status: number, words: RegExp) => {
      assert.equal(page.status, status, visibleText(page.text));
      assert.equal(page.headers.get('location'), null, 'no redirect');
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(page.headers.get('cache-control'), 'no-store');
      assert.match(visibleText(page.text), words);
    };

    // iss of another server (RFC 9207): refused before the code is redeemed; the pending authorization is gone.
    const callback = await agent.authorize(authorizationUrl(serve, clientId).url);
    assert.equal(callback.pathname, '/oauth/upstream/callback');
    assert.ok(callback.searchParams.get('code') && callback.searchParams.get('iss') === idp.issuer);
    const forgedIss = new URL(callback);
    forgedIss.searchParams.set('iss', 'https://evil.example');
    assertPage(await agent.open(forgedIss), 400, /could not be verified/);
    assertPage(await agent.open(callback), 400, /expired/);

    // A state this browser did not start: refused, and every pending authorization of the browser is dropped.
    const second = await agent.authorize(authorizationUrl(serve, clientId).url);
    const forgedState = new URL(second);
    forgedState.searchParams.set('state', randomBytes(16).toString('base64url'));
    assert.ok(agent.cookieNames(issuer).some((name) => name.startsWith('portcullis-upstream-')));
    assertPage(await agent.open(forgedState), 400, /expired/);
    assert.ok(!agent.cookieNames(issuer).some((name) => name.startsWith('portcullis-upstream-')));
    assertPage(await agent.open(second), 400, /expired/);

    // The legitimate callback completes once; a replay of it is refused.
    const third = await agent.authorize(authorizationUrl(serve, clientId).url);
    const consent = await agent.open(third);
    assert.equal(consent.status, 200);
    assert.match(visibleText(consent.text), /Allow/);
    assertPage(await agent.open(third), 400, /expired/);

    // And a request without any state at all.
    assertPage(await agent.open(`${issuer}/oauth/upstream/callback?code=x`), 400, /expired/);
  });

  it('no upstream token, code or secret is in the store or the server output in clear', TIMEOUT, async () => {
    assert.ok(idp.issued.size >= 5, 'the flows above made upstream tokens and codes');
    const texts = storedTexts(file);
    for (const secret of [...idp.issued, idp.clientSecret]) {
      assert.ok(!texts.some((text) => text.includes(secret)), 'an upstream secret is stored in clear');
      assert.ok(!serve.output().includes(secret), 'an upstream secret was logged');
    }
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT sealed_tokens, issuer, subject FROM upstream_grants').all() as { sealed_tokens: string; issuer: string; subject: string }[];
      assert.ok(rows.length >= 2);
      for (const row of rows) {
        assert.match(row.sealed_tokens, /^aes256gcm:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        assert.equal(row.issuer, idp.issuer);
      }
      const users = db.prepare("SELECT username, password_hash FROM users WHERE password_hash LIKE 'upstream$%'").all() as { username: string; password_hash: string }[];
      // Carol cancelled at the upstream: no local user for her.
      assert.deepEqual(users.map((u) => u.username).sort(), [upstreamUsername(idp.issuer, ALICE), upstreamUsername(idp.issuer, BOB)].sort());
    } finally {
      db.close();
    }
    // A federated user cannot use the password login (there is none), nor the token endpoint's password grant (there is none either).
    const password = await postForm(serve, '/oauth/token', { grant_type: 'password', username: upstreamUsername(idp.issuer, ALICE), password: '' });
    assert.equal(password.body.error, 'unsupported_grant_type');
  });

  it('the upstream down: the callback is a 502 page (no code), a refresh needing the upstream is a 503 that revokes nothing', TIMEOUT, async () => {
    const agent = new FederatedUserAgent({ account: BOB, upstream: idp.issuer });
    const clientId = await registerPublicClient(serve, REDIRECT_URI);
    const tokens = await tokensFor(serve, agent, clientId);
    agent.stopAtCallback = true;
    const callback = await agent.authorize(authorizationUrl(serve, clientId).url);
    await idp.stop();

    const page = await agent.open(callback);
    assert.equal(page.status, 502, visibleText(page.text));
    assert.equal(page.headers.get('location'), null);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(visibleText(page.text), /could not be reached/);
    assert.match(page.text, /href="\.\.\/authorize\?/, 'a link to start again');

    await sleep(UPSTREAM_EXPIRY_MS);
    const refused = await refresh(serve, clientId, tokens.refresh);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body.error, 'temporarily_unavailable');
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    assert.equal(refused.body.access_token, undefined);
    // Nothing was rotated or revoked: the same token is refused the same way (a revoked family would be invalid_grant).
    const again = await refresh(serve, clientId, tokens.refresh);
    assert.equal(again.status, 503, again.text);
    await serve.waitForLog((line) => line.msg === 'upstream refresh failed' && line.kind === 'unavailable');
  });
});

describe('federated login: configuration', () => {
  it('upstream options without a client id, or beside --issuer, are one line and exit 2; an unreachable upstream one line and exit 1', TIMEOUT, async () => {
    const port = await freePort(); // nothing listens there
    const cases: Array<[string[], Record<string, string>, number, RegExp]> = [
      [['--upstream-issuer', 'https://idp.example.com'], {}, 2, /needs --upstream-client-id/],
      [['--upstream-client-id', 'abc'], {}, 2, /needs --upstream-issuer/],
      [[], { PORTCULLIS_UPSTREAM_CLIENT_SECRET: 'shh' }, 2, /PORTCULLIS_UPSTREAM_CLIENT_SECRET.*needs --upstream-issuer/],
      [['--issuer', 'https://idp.example.com', '--upstream-issuer', 'https://idp.example.com', '--upstream-client-id', 'abc'], {}, 2, /resource-server mode/],
      [['--upstream-issuer', 'https://idp.example.com', '--upstream-client-id', 'abc', '--upstream-scopes', 'profile email'], {}, 2, /must include openid/],
      [['--upstream-issuer', `http://127.0.0.1:${port}`, '--upstream-client-id', 'abc'], {}, 1, /federated login: Cannot discover/],
    ];
    for (const [args, env, code, message] of cases) {
      const result = await runCli(['serve', '--port', '0', '--store', 'memory:', ...args], { LOG_LEVEL: 'silent', ...env });
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, message);
      assert.ok(!result.stderr.includes('shh'));
    }
  });
});

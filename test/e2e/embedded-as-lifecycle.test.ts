/**
 * The embedded authorization server across the life of a deployment, with real processes on SQLite:
 *
 * - a restart keeps users, clients, signing keys, consents, grants and refresh tokens (same file, same
 *   port and `--public-url`, so the same issuer), and does not print the admin password again;
 * - `portcullis token` beside a running serve (same store, same `--public-url`, same PORTCULLIS_SECRET)
 *   mints tokens serve accepts, with exactly the scopes asked;
 * - the start-up banner of a bare `npm start`-like start: the MCP URL, the metadata URLs, the first
 *   login (whose password really logs in) and a client configuration; a second start prints no password.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import {
  ADMIN,
  authorizeCode,
  callTool,
  eventually,
  freePort,
  issuerOf,
  redeemCode,
  refresh,
  registerPublicClient,
  runCli,
  startEmbedded,
} from '../helpers/embedded-as.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';
import { UserAgent } from '../helpers/user-agent.js';

const TIMEOUT = { timeout: 90_000 };
const REDIRECT_URI = 'http://127.0.0.1:40124/cb';
/**
 * A loopback redirect on another host name than the issuer (http://127.0.0.1:PORT): a redirect to the
 * issuer's host name ends the browser session (cookies do not isolate ports), this one keeps it, so the
 * restart test can check that the session survives.
 */
const OTHER_HOST_REDIRECT_URI = 'http://localhost:40124/cb';
const INCIDENT = { title: 'Cert expiry', description: 'api cert expires in 2 days', severity: 'medium', service: 'api' };

/** The banner is written to stderr once serve returns, just after the `listening` log line: wait for its last line. */
function waitForBanner(serve: ServeProcess): Promise<string> {
  return eventually(() => (/Client configuration[\s\S]*\n {4}\}\n/.test(serve.output()) ? serve.output() : undefined), 5000, 'the banner');
}

async function kidsOf(serve: ServeProcess): Promise<string[]> {
  const jwks = (await (await fetch(`${issuerOf(serve)}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
  return jwks.keys.map((k) => k.kid).sort();
}

describe('restart on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-restart-'));
  const servers: ServeProcess[] = [];
  after(async () => {
    for (const serve of servers) await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps users, clients, keys, consents, grants and refresh tokens; the old access token still verifies', TIMEOUT, async () => {
    const port = await freePort();
    const args = ['--store', `sqlite:${join(dir, 'portcullis.db')}`, '--port', String(port), '--public-url', `http://127.0.0.1:${port}`];
    const first = await startEmbedded(args);
    servers.push(first);
    const firstBanner = await waitForBanner(first);
    assert.match(firstBanner, /First login: admin \(password from PORTCULLIS_ADMIN_PASSWORD\)/);
    assert.ok(!first.output().includes(ADMIN.password), 'a password the operator chose is never echoed');

    const clientId = await registerPublicClient(first, OTHER_HOST_REDIRECT_URI);
    const agent = new UserAgent(ADMIN);
    const issued = await redeemCode(first, clientId, OTHER_HOST_REDIRECT_URI, await authorizeCode(first, agent, clientId, OTHER_HOST_REDIRECT_URI));
    assert.equal(issued.status, 200, issued.text);
    assert.deepEqual(agent.visits.map((v) => v.kind), ['login', 'consent', 'redirect']);
    const accessToken = String(issued.body.access_token);
    const refreshToken = String(issued.body.refresh_token);
    const kids = await kidsOf(first);
    const total = ((await callTool(first, accessToken, 'list_incidents', { limit: 1 })).result.structuredContent as { total: number }).total;
    assert.equal((await callTool(first, accessToken, 'create_incident', INCIDENT)).status, 200);
    assert.equal(await first.stop(), 0, 'a clean shutdown');

    const second = await startEmbedded(args);
    servers.push(second);
    assert.equal(second.url, first.url, 'the same issuer and resource');
    const banner = await waitForBanner(second);
    assert.doesNotMatch(banner, /First login/);
    assert.ok(!second.output().includes(ADMIN.password), 'the admin password is not printed again');

    // Keys: the same signing key, so the access token issued before the restart still verifies.
    assert.deepEqual(await kidsOf(second), kids);
    const me = await callTool(second, accessToken, 'get_user_info');
    assert.equal(me.status, 200, JSON.stringify(me.result));
    assert.equal(((await callTool(second, accessToken, 'list_incidents', { limit: 1 })).result.structuredContent as { total: number }).total, total + 1);

    // Client, grant and refresh token: the refresh token of the first run rotates.
    const refreshed = await refresh(second, clientId, refreshToken);
    assert.equal(refreshed.status, 200, refreshed.text);
    assert.notEqual(refreshed.body.refresh_token, refreshToken);
    assert.equal((await callTool(second, String(refreshed.body.access_token), 'get_user_info')).status, 200);

    // User and consent: a new browser logs in as admin and is not asked again for the scopes it granted.
    const fresh = new UserAgent(ADMIN);
    const again = await redeemCode(second, clientId, OTHER_HOST_REDIRECT_URI, await authorizeCode(second, fresh, clientId, OTHER_HOST_REDIRECT_URI));
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(fresh.visits.map((v) => v.kind), ['login', 'redirect'], 'the consent was remembered');
    assert.equal(decodeJwt(String(again.body.access_token)).sub, (me.result.structuredContent as { subject: string }).subject, 'the same user');

    // The browser of the first run is still signed in (its session cookie is sealed with the stored server secret).
    agent.visits.length = 0;
    const signedIn = await redeemCode(second, clientId, OTHER_HOST_REDIRECT_URI, await authorizeCode(second, agent, clientId, OTHER_HOST_REDIRECT_URI));
    assert.equal(signedIn.status, 200, signedIn.text);
    assert.deepEqual(agent.visits.map((v) => v.kind), ['redirect'], 'no login page, no consent page');
  });
});

describe('portcullis token beside a running serve', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-token-'));
  const secret = { PORTCULLIS_SECRET: 'e2e-server-secret-0123456789abcdef-xyz' };
  let serve: ServeProcess | undefined;
  after(async () => {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mints tokens serve accepts, with the scopes asked and no more', TIMEOUT, async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const store = `sqlite:${join(dir, 'portcullis.db')}`;
    serve = await startEmbedded(['--store', store, '--port', String(port), '--public-url', publicUrl], secret);
    assert.doesNotMatch(serve.output(), /UNENCRYPTED/, 'with PORTCULLIS_SECRET the keys are encrypted at rest');
    const common = ['--store', store, '--public-url', publicUrl];

    // A read-only token for the CLI's own client: reads, and a 403 step-up challenge on create_incident.
    const read = await runCli(['token', ...common, '--scope', 'incidents:read'], secret);
    assert.equal(read.code, 0, read.stderr);
    const readToken = read.stdout.trim();
    assert.equal(readToken.split('.').length, 3, 'one JWT on stdout');
    const listed = await callTool(serve, readToken, 'list_incidents', { limit: 1 });
    assert.equal(listed.status, 200, JSON.stringify(listed.result));
    const total = (listed.result.structuredContent as { total: number }).total;
    const refused = await callTool(serve, readToken, 'create_incident', INCIDENT);
    assert.equal(refused.status, 403);
    assert.match(refused.challenge ?? '', /error="insufficient_scope"/);
    assert.equal(((await callTool(serve, readToken, 'list_incidents', { limit: 1 })).result.structuredContent as { total: number }).total, total, 'nothing created');

    // A token for the admin user with write: creates, reported by the admin's subject.
    const write = await runCli(['token', ...common, '--sub', ADMIN.username, '--scope', 'incidents:read incidents:write', '--json'], secret);
    assert.equal(write.code, 0, write.stderr);
    const response = JSON.parse(write.stdout) as { access_token: string; token_type: string; expires_in: number; scope: string };
    assert.equal(response.token_type, 'Bearer');
    assert.equal(response.scope, 'incidents:read incidents:write');
    const created = await callTool(serve, response.access_token, 'create_incident', INCIDENT);
    assert.equal(created.status, 200, JSON.stringify(created.result));
    const userinfo = (await (await fetch(`${publicUrl}/oauth/userinfo`, { headers: { authorization: `Bearer ${response.access_token}` } })).json()) as { sub: string; preferred_username: string };
    assert.equal(userinfo.preferred_username, ADMIN.username);
    assert.equal((created.result.structuredContent as { incident: { reportedBy: string } }).incident.reportedBy, userinfo.sub);

    // A token for another public URL is not this serve's.
    const elsewhere = await runCli(['token', '--store', store, '--public-url', 'http://127.0.0.1:1', '--scope', 'incidents:read'], secret);
    assert.equal(elsewhere.code, 0, elsewhere.stderr);
    const foreign = await callTool(serve, elsewhere.stdout.trim(), 'list_incidents');
    assert.equal(foreign.status, 401);
    assert.match(foreign.challenge ?? '', /error="invalid_token"/);
  });
});

describe('the start-up banner of a bare start (npm start)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-banner-'));
  const servers: ServeProcess[] = [];
  after(async () => {
    for (const serve of servers) await serve.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the MCP URL, the metadata URLs, the first login once, and a client configuration', TIMEOUT, async () => {
    // As `npm start` runs it: `portcullis serve` with no flag (the default SQLite store under ./data), only the port set.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = await startServe([], { PORT: String(port) }, { cwd: dir });
    servers.push(first);
    const banner = await waitForBanner(first);
    assert.ok(existsSync(join(dir, 'data', 'portcullis.db')), 'the default store');

    assert.ok(banner.includes(`Portcullis is serving the incident tracker at ${base}/mcp`), banner);
    const metadataUrls = [`${base}/.well-known/oauth-protected-resource/mcp`, `${base}/.well-known/oauth-authorization-server`];
    for (const url of metadataUrls) {
      assert.ok(banner.includes(url), `${url} in:\n${banner}`);
      const response = await fetch(url);
      assert.equal(response.status, 200, url);
      assert.equal(response.headers.get('content-type')?.split(';')[0], 'application/json');
    }
    const login = /First login: (\S+) \/ (\S+)/.exec(banner);
    assert.ok(login, banner);
    const [, username, password] = login;
    assert.equal(username, 'admin');
    assert.match(banner, /shown once/);
    assert.ok(!JSON.stringify(first.logs).includes(password!), 'the password is in the banner, not in the JSON logs');

    const config = /Client configuration[^\n]*\n([\s\S]*?\n {4}\})\n/.exec(banner);
    assert.ok(config, banner);
    assert.deepEqual(JSON.parse(config[1]!), { mcpServers: { incidents: { type: 'http', url: `${base}/mcp` } } });

    // The printed login works on the real pages.
    const clientId = await registerPublicClient(first, REDIRECT_URI);
    const issued = await redeemCode(first, clientId, REDIRECT_URI, await authorizeCode(first, new UserAgent({ username: username!, password: password! }), clientId, REDIRECT_URI));
    assert.equal(issued.status, 200, issued.text);
    assert.equal(await first.stop(), 0);

    // Second start on the same store: the banner again, without a password.
    const second = await startServe([], { PORT: String(port) }, { cwd: dir });
    servers.push(second);
    const again = await waitForBanner(second);
    assert.ok(again.includes(`${base}/mcp`));
    assert.doesNotMatch(again, /First login/);
    assert.ok(!second.output().includes(password!), 'the password is not printed again');
  });
});

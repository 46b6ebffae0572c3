/**
 * The official MCP client (`@modelcontextprotocol/client`, its OAuth client provider interface) against
 * `portcullis serve` with its embedded authorization server, nothing else running: 401 → protected
 * resource metadata → authorization server metadata → dynamic registration (or a client ID metadata
 * document served by the test over https) → the user logs in and consents on the real pages over HTTP →
 * token → initialize → tools/call → refresh → tools/call; and a 403 step-up from `incidents:read` to
 * `incidents:write`.
 *
 * The refresh is the SDK's own: the provider spoils its stored access token (as expiry would), the
 * server answers 401, and the SDK redeems the refresh token and retries — the test only checks that it did.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { ADMIN, assertSequence, callTool, eventually, incidentTotal, issuerOf, recordingFetch, startEmbedded, type Exchange } from '../helpers/embedded-as.js';
import { UserOAuthProvider } from '../helpers/oauth-user-provider.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { selfSignedCertificate } from '../helpers/tls.js';
import { UserAgent } from '../helpers/user-agent.js';

const TIMEOUT = { timeout: 60_000 };
const INCIDENT = { title: 'Disk full', description: 'db-1 at 100%', severity: 'high', service: 'db' };

function connect(serve: ServeProcess, provider: UserOAuthProvider, recorded: typeof fetch): { client: Client; transport: StreamableHTTPClientTransport } {
  const transport = new StreamableHTTPClientTransport(new URL(serve.url), { authProvider: provider, fetch: recorded });
  return { client: new Client({ name: 'portcullis-e2e', version: '1.0.0' }), transport };
}

/** A client through its first authorization (the user logs in and consents) and connected. */
async function authorizedClient(serve: ServeProcess, provider: UserOAuthProvider, recorded: typeof fetch): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const first = connect(serve, provider, recorded);
  await assert.rejects(first.client.connect(first.transport), UnauthorizedError);
  await first.transport.finishAuth(provider.callback!);
  const connected = connect(serve, provider, recorded);
  await connected.client.connect(connected.transport);
  return connected;
}

/** The token requests among `exchanges`, as forms. */
function tokenRequests(exchanges: readonly Exchange[]): URLSearchParams[] {
  return exchanges.filter((e) => e.url.pathname === '/oauth/token').map((e) => new URLSearchParams(e.body ?? ''));
}

/**
 * The whole flow through the official client; returns what the test may check further.
 * `expectedClientId` is what the authorization request must name (undefined: whatever registration returned).
 */
async function fullFlow(serve: ServeProcess, provider: UserOAuthProvider, expectedClientId?: string): Promise<{ exchanges: Exchange[]; clientId: string }> {
  const issuer = issuerOf(serve);
  const { fetch: recorded, exchanges } = recordingFetch();

  // 1. First contact: 401, discovery, client identification, and the user at the authorization endpoint.
  let { client, transport } = connect(serve, provider, recorded);
  await assert.rejects(client.connect(transport), UnauthorizedError);
  assert.equal(provider.authorizationUrls.length, 1);
  const authorization = provider.authorizationUrls[0]!;
  assert.equal(`${authorization.origin}${authorization.pathname}`, `${issuer}/oauth/authorize`);
  const clientId = authorization.searchParams.get('client_id')!;
  if (expectedClientId !== undefined) assert.equal(clientId, expectedClientId);
  assert.equal(authorization.searchParams.get('resource'), serve.url, 'RFC 8707: the resource is the MCP URL');
  assert.equal(authorization.searchParams.get('scope'), 'incidents:read', 'the scope of the 401 challenge');
  assert.equal(authorization.searchParams.get('code_challenge_method'), 'S256');
  assert.deepEqual(provider.agent.visits.map((v) => `${v.method} ${v.kind} ${v.status}`), ['GET login 200', 'POST consent 200', 'POST redirect 303']);
  assert.equal(provider.callback?.get('iss'), issuer, 'RFC 9207: iss in the authorization response');

  // 2. The code for tokens (the SDK checks iss against the metadata).
  await transport.finishAuth(provider.callback!);
  const steps = [
    'POST /mcp -> 401',
    'GET /.well-known/oauth-protected-resource/mcp -> 200',
    'GET /.well-known/oauth-authorization-server -> 200',
    ...(expectedClientId === undefined ? ['POST /oauth/register -> 201'] : []),
    'POST /oauth/token -> 200',
  ];
  assertSequence(exchanges, steps);
  const [codeRequest] = tokenRequests(exchanges);
  assert.equal(codeRequest?.get('grant_type'), 'authorization_code');
  assert.equal(codeRequest?.get('client_id'), clientId);
  assert.equal(codeRequest?.get('resource'), serve.url);
  assert.ok(codeRequest?.get('code_verifier'));
  const first = provider.tokens()!;
  assert.equal(first.token_type.toLowerCase(), 'bearer');
  assert.equal(first.scope, 'incidents:read');
  assert.ok(first.refresh_token, 'a refresh token for a client registered with refresh_token');

  // 3. initialize and tools/call with the token.
  ({ client, transport } = connect(serve, provider, recorded));
  await client.connect(transport);
  assert.ok(transport.sessionId, 'the server issued a session');
  const me = await client.callTool({ name: 'get_user_info', arguments: {} });
  const info = me.structuredContent as { subject: string; clientId: string; scopes: string[] };
  assert.equal(info.clientId, clientId);
  assert.deepEqual(info.scopes, ['incidents:read']);
  const userinfo = (await (await fetch(`${issuer}/oauth/userinfo`, { headers: { authorization: `Bearer ${first.access_token}` } })).json()) as Record<string, unknown>;
  assert.deepEqual(userinfo, { sub: info.subject, preferred_username: ADMIN.username });
  const listed = await client.callTool({ name: 'list_incidents', arguments: { limit: 5 } });
  assert.notEqual(listed.isError, true);

  // 4. The access token stops working (as at expiry): the SDK refreshes on the 401 and retries, with no user.
  const before = exchanges.length;
  const spoiled = provider.spoilAccessToken();
  const again = await client.callTool({ name: 'list_incidents', arguments: { limit: 5 } });
  assert.notEqual(again.isError, true);
  assertSequence(exchanges.slice(before), ['POST /mcp -> 401', 'POST /oauth/token -> 200', 'POST /mcp -> 200']);
  const refreshRequest = tokenRequests(exchanges.slice(before)).at(-1)!;
  assert.equal(refreshRequest.get('grant_type'), 'refresh_token');
  assert.equal(refreshRequest.get('refresh_token'), first.refresh_token);
  assert.equal(refreshRequest.get('client_id'), clientId);
  assert.equal(provider.authorizationUrls.length, 1, 'no new authorization: the refresh did it');
  const second = provider.tokens()!;
  assert.notEqual(second.access_token, first.access_token);
  assert.notEqual(second.access_token, spoiled);
  assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token, 'the refresh token rotated');
  assert.equal(second.scope, 'incidents:read');

  // 5. tools/call goes on with the new token, with no further refresh.
  const tokenCalls = tokenRequests(exchanges).length;
  const after = await client.callTool({ name: 'get_user_info', arguments: {} });
  assert.equal((after.structuredContent as { subject: string }).subject, info.subject);
  assert.equal(tokenRequests(exchanges).length, tokenCalls);
  assert.equal((await callTool(serve, second.access_token, 'get_user_info')).status, 200);
  await client.close();

  for (const secret of [first.access_token, first.refresh_token!, second.access_token, second.refresh_token]) {
    assert.ok(!serve.output().includes(secret), 'no token in the server output');
  }
  return { exchanges, clientId };
}

describe('official MCP client, embedded authorization server', () => {
  let serve: ServeProcess;
  before(async () => {
    serve = await startEmbedded(['--store', 'memory:']);
  });
  after(async () => {
    await serve?.stop();
  });

  it('with dynamic registration: 401 → metadata → register → login + consent → token → tools → refresh → tools', TIMEOUT, async () => {
    const provider = new UserOAuthProvider(new UserAgent(ADMIN));
    const { exchanges, clientId } = await fullFlow(serve, provider);
    const registration = exchanges.find((e) => e.url.pathname === '/oauth/register');
    assert.ok(registration, 'the client registered');
    assert.equal(provider.clientInformation()?.client_id, clientId);
  });

  it('concurrent calls after the access token stops working: the SDK refreshes in parallel, all succeed, one family goes on', TIMEOUT, async () => {
    const provider = new UserOAuthProvider(new UserAgent(ADMIN));
    const { fetch: recorded, exchanges, sent } = recordingFetch();
    const { client } = await authorizedClient(serve, provider, recorded);
    const original = provider.tokens()!.refresh_token!;

    // The SDK does not serialise refreshes: each call that gets a 401 refreshes on its own. The provider
    // holds the new tokens back until all four refreshes are on the wire, so they all present the same
    // refresh token, as they do when the server is slower than this test's loopback.
    const CALLS = 4;
    provider.spoilAccessToken();
    const before = exchanges.length;
    const sentBefore = sent.length;
    const refreshesSent = () => sent.slice(sentBefore).filter((r) => r.url.pathname === '/oauth/token').length;
    provider.gate = eventually(() => (refreshesSent() >= CALLS ? true : undefined), 10_000, `${CALLS} concurrent refreshes`);
    const results = await Promise.all(Array.from({ length: CALLS }, (_, i) => client.callTool({ name: 'add', arguments: { a: i, b: 1 } })));
    provider.gate = undefined;
    results.forEach((result, i) => assert.deepEqual(result.content, [{ type: 'text', text: String(i + 1) }]));

    const refreshes = exchanges.slice(before).filter((e) => e.url.pathname === '/oauth/token');
    assert.equal(refreshes.length, CALLS);
    for (const exchange of refreshes) {
      const form = new URLSearchParams(exchange.body);
      assert.equal(form.get('grant_type'), 'refresh_token');
      assert.equal(form.get('refresh_token'), original);
      assert.equal(exchange.status, 200, 'within the grace period: not taken for reuse');
    }
    const successors = new Set(refreshes.map((e) => e.json?.refresh_token));
    assert.equal(successors.size, 1, 'one successor for all of them');
    const successor = String([...successors][0]);
    assert.notEqual(successor, original);
    assert.equal(provider.tokens()!.refresh_token, successor);

    // The one family goes on from that successor.
    provider.spoilAccessToken();
    const next = await client.callTool({ name: 'get_user_info', arguments: {} });
    assert.notEqual(next.isError, true);
    const last = exchanges.filter((e) => e.url.pathname === '/oauth/token').at(-1)!;
    assert.equal(last.status, 200);
    assert.equal(new URLSearchParams(last.body).get('refresh_token'), successor);
    assert.notEqual(provider.tokens()!.refresh_token, successor);
    await client.close();
  });

  it('403 step-up from incidents:read to incidents:write: re-consent, and the incident is created only after it', TIMEOUT, async () => {
    const agent = new UserAgent(ADMIN);
    // A redirect URI on another host name than the issuer (127.0.0.1): a redirect to the issuer's own host
    // name would end the session (cookies do not isolate ports), and this test is about the signed-in user.
    const provider = new UserOAuthProvider(agent, { redirectUrl: 'http://localhost:33418/callback' });
    const { fetch: recorded, exchanges } = recordingFetch();
    const { client, transport } = await authorizedClient(serve, provider, recorded);
    const readToken = provider.tokens()!.access_token;
    assert.equal(provider.tokens()!.scope, 'incidents:read');
    const total = await incidentTotal(serve, readToken);

    // create_incident needs incidents:write: 403, and the SDK goes back to the authorization endpoint
    // with the union of scopes. The user is still signed in: only the consent page, for the new scope.
    agent.visits.length = 0;
    const before = exchanges.length;
    await assert.rejects(client.callTool({ name: 'create_incident', arguments: INCIDENT }), UnauthorizedError);
    assertSequence(exchanges.slice(before), ['POST /mcp -> 403']);
    const stepUp = provider.authorizationUrls.at(-1)!;
    assert.equal(provider.authorizationUrls.length, 2);
    assert.deepEqual(stepUp.searchParams.get('scope')!.split(' ').sort(), ['incidents:read', 'incidents:write']);
    assert.deepEqual(agent.visits.map((v) => `${v.method} ${v.kind}`), ['GET consent', 'POST redirect']);
    assert.match(agent.visits[0]!.text ?? '', /incidents:write/);
    assert.equal(await incidentTotal(serve, readToken), total, 'create_incident did not run on the 403');

    await transport.finishAuth(provider.callback!);
    assert.deepEqual(provider.tokens()!.scope!.split(' ').sort(), ['incidents:read', 'incidents:write']);
    const created = await client.callTool({ name: 'create_incident', arguments: INCIDENT });
    assert.notEqual(created.isError, true, JSON.stringify(created.content));
    const incident = (created.structuredContent as { incident: { title: string; reportedBy: string } }).incident;
    assert.equal(incident.title, INCIDENT.title);
    const me = (await client.callTool({ name: 'get_user_info', arguments: {} })).structuredContent as { subject: string };
    assert.equal(incident.reportedBy, me.subject);
    assert.equal(await incidentTotal(serve, provider.tokens()!.access_token), total + 1, 'exactly one incident created');
    await client.close();
  });
});

describe('official MCP client with a client ID metadata document served over https', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cimd-'));
  const redirectUrl = 'http://127.0.0.1:33419/callback';
  let documentServer: https.Server;
  let documentUrl: string;
  let documentFetches = 0;
  let serve: ServeProcess;

  before(async () => {
    const { key, cert } = selfSignedCertificate(['127.0.0.1']);
    writeFileSync(join(dir, 'ca.pem'), cert);
    documentServer = https.createServer({ key, cert }, (req, res) => {
      if (req.url !== '/oauth/client.json') return void res.writeHead(404).end();
      documentFetches++;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(JSON.stringify({ client_id: documentUrl, client_name: 'E2E metadata client', redirect_uris: [redirectUrl], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }));
    });
    await new Promise<void>((resolve) => documentServer.listen(0, '127.0.0.1', resolve));
    const { port } = documentServer.address() as AddressInfo;
    documentUrl = `https://127.0.0.1:${port}/oauth/client.json`;
    serve = await startEmbedded(['--store', 'memory:', '--cimd-allowed-hosts', `127.0.0.1:${port}`], { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') });
  });
  after(async () => {
    await serve?.stop();
    documentServer?.closeAllConnections();
    await new Promise<void>((resolve) => (documentServer ? documentServer.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('no registration: client_id is the document URL, the server fetches it, the flow and the refresh complete', TIMEOUT, async () => {
    const agent = new UserAgent(ADMIN);
    const provider = new UserOAuthProvider(agent, { redirectUrl, clientMetadataUrl: documentUrl });
    const { exchanges } = await fullFlow(serve, provider, documentUrl);
    assert.equal(exchanges.filter((e) => e.url.pathname === '/oauth/register').length, 0, 'no dynamic registration');
    assert.equal(documentFetches, 1, 'serve fetched the metadata document once, then used its cache (max-age=300)');
    const consent = agent.visits.find((v) => v.kind === 'consent')!;
    assert.match(consent.text ?? '', /E2E metadata client/);
    assert.ok(consent.text?.includes(`Client ID: ${documentUrl}`), consent.text);
    assert.match(consent.text ?? '', /only receive the answer on this computer/, 'the loopback warning of a metadata-document client');
    assert.equal(provider.clientInformation()?.client_id, documentUrl);
  });
});

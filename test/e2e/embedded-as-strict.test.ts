/**
 * `portcullis serve`'s embedded authorization server seen by a strict client, and refusing what it must,
 * all over real HTTP against the real process:
 *
 * - `oauth4webapi` completes the code flow and validates every response on the way: discovery (both
 *   documents), registration, the authorization response's `iss` (RFC 9207) and `state`, the token
 *   response, the access token as a resource server would (`validateJwtAccessToken`, RFC 9068, against
 *   the JWKS), introspection, userinfo, refresh and revocation.
 * - A replayed code revokes what its first use issued; a refresh token reused after the grace period
 *   revokes its family; concurrent refreshes of one token within the grace period get one successor in
 *   one family. Each refusal is checked for its status, its error code, `no-store`, and that it issued nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import {
  ADMIN,
  assertTokenRefusal,
  authorizeCode,
  callTool,
  issuerOf,
  redeemCode,
  refresh,
  registerPublicClient,
  runCli,
  startEmbedded,
} from '../helpers/embedded-as.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { UserAgent } from '../helpers/user-agent.js';

const TIMEOUT = { timeout: 60_000 };
const REDIRECT_URI = 'http://127.0.0.1:40123/cb';
/** oauth4webapi refuses http URLs unless told: serve listens on loopback http here. */
const INSECURE = { [oauth.allowInsecureRequests]: true } as const;

describe('oauth4webapi as a strict client of serve', () => {
  // SQLite, so that `portcullis clients add` (another process) creates the admin-made resource server in
  // the store serve uses: only such clients may introspect access tokens.
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-strict-'));
  const store = `sqlite:${join(dir, 'portcullis.db')}`;
  let serve: ServeProcess;
  before(async () => {
    serve = await startEmbedded(['--store', store]);
  });
  after(async () => {
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('discovery, registration, PKCE, iss, token response, JWT access token, introspection, userinfo, refresh, revocation', TIMEOUT, async () => {
    const issuer = new URL(issuerOf(serve));
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...INSECURE, algorithm: 'oauth2' }));
    const oidc = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...INSECURE, algorithm: 'oidc' }));
    assert.equal(oidc.issuer, as.issuer);
    assert.equal(oidc.token_endpoint, as.token_endpoint);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);

    // A confidential client, registered over RFC 7591 (client_secret_basic: introspection needs one).
    const registered = await oauth.processDynamicClientRegistrationResponse(
      await oauth.dynamicClientRegistrationRequest(as, { client_name: 'oauth4webapi', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }, INSECURE),
    );
    assert.equal(typeof registered.client_secret, 'string');
    const client: oauth.Client = { client_id: registered.client_id };
    const clientAuth = oauth.ClientSecretBasic(registered.client_secret as string);

    // The authorization request, and the user at the pages.
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      scope: 'incidents:read incidents:write',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource: serve.url,
    }).toString();
    const back = await new UserAgent(ADMIN).authorize(url);
    // RFC 9207: a response with another iss is refused by the client; ours passes.
    const forged = new URL(back);
    forged.searchParams.set('iss', 'https://attacker.example');
    assert.throws(() => oauth.validateAuthResponse(as, client, forged, state), (err: unknown) => err instanceof oauth.OperationProcessingError);
    const params = oauth.validateAuthResponse(as, client, back, state);

    // The token response, validated (token_type, expires_in, scope, no id_token expected).
    const codeResponse = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, REDIRECT_URI, verifier, { ...INSECURE, additionalParameters: { resource: serve.url } });
    assert.equal(codeResponse.headers.get('cache-control'), 'no-store');
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.equal(tokens.scope, 'incidents:read incidents:write');
    assert.ok(tokens.refresh_token);

    // The access token, as a resource server checks it: RFC 9068 against the JWKS, audience = the MCP URL.
    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'at+jwt');
    const jwks = (await (await fetch(as.jwks_uri!)).json()) as { keys: Array<Record<string, unknown>> };
    assert.ok(jwks.keys.some((k) => k.kid === header.kid), 'the signing key is published');
    assert.ok(jwks.keys.every((k) => k.d === undefined), 'no private key material in the JWKS');
    const claims = await oauth.validateJwtAccessToken(as, new Request(serve.url, { headers: { authorization: `Bearer ${tokens.access_token}` } }), serve.url, { ...INSECURE, signingAlgorithms: ['ES256'] });
    assert.equal(claims.iss, as.issuer);
    assert.equal(claims.aud, serve.url);
    assert.equal(claims.client_id, client.client_id);
    assert.equal(claims.scope, 'incidents:read incidents:write');
    assert.ok(claims.jti);

    // Introspection by a resource server an admin created (`portcullis clients add`), and userinfo, agree
    // with the token.
    const added = await runCli(['clients', 'add', '--name', 'e2e resource server', '--grant-types', 'client_credentials', '--scope', 'incidents:read', '--json', '--store', store]);
    assert.equal(added.code, 0, added.stderr);
    const resourceServer = JSON.parse(added.stdout) as { client_id: string; client_secret: string };
    const rsClient: oauth.Client = { client_id: resourceServer.client_id };
    const rsAuth = oauth.ClientSecretBasic(resourceServer.client_secret);
    const introspection = await oauth.processIntrospectionResponse(as, rsClient, await oauth.introspectionRequest(as, rsClient, rsAuth, tokens.access_token, INSECURE));
    assert.equal(introspection.active, true);
    assert.equal(introspection.sub, claims.sub);
    assert.equal(introspection.client_id, client.client_id);
    assert.equal(introspection.scope, 'incidents:read incidents:write');
    // The dynamically registered client (anyone can register one) learns nothing about the same access
    // token, though it may still introspect its own refresh token.
    const byRegistered = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, tokens.access_token, INSECURE));
    assert.deepEqual(byRegistered, { active: false });
    const ownRefresh = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, tokens.refresh_token, { ...INSECURE, additionalParameters: { token_type_hint: 'refresh_token' } }));
    assert.equal(ownRefresh.active, true);
    assert.equal(ownRefresh.client_id, client.client_id);
    const userinfo = await oauth.processUserInfoResponse(as, client, claims.sub, await oauth.userInfoRequest(as, client, tokens.access_token, INSECURE));
    assert.equal(userinfo.preferred_username, ADMIN.username);

    // The resource accepts it.
    assert.equal((await callTool(serve, tokens.access_token, 'get_user_info')).status, 200);

    // Refresh (rotated), then revocation of the family: the refresh token is refused afterwards.
    const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token, INSECURE));
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
    await oauth.validateJwtAccessToken(as, new Request(serve.url, { headers: { authorization: `Bearer ${refreshed.access_token}` } }), serve.url, INSECURE);
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token, INSECURE));
    await assert.rejects(
      oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token, INSECURE)),
      (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant' && err.status === 400,
    );
  });
});

describe('refusals of the token endpoint over HTTP (default grace period)', () => {
  let serve: ServeProcess;
  let clientId: string;
  const agent = new UserAgent(ADMIN);
  before(async () => {
    serve = await startEmbedded(['--store', 'memory:']);
    clientId = await registerPublicClient(serve, REDIRECT_URI);
  });
  after(async () => {
    await serve?.stop();
  });

  it('a replayed code is refused, issues nothing, and revokes the refresh token its first use issued', TIMEOUT, async () => {
    const code = await authorizeCode(serve, agent, clientId, REDIRECT_URI);
    const first = await redeemCode(serve, clientId, REDIRECT_URI, code);
    assert.equal(first.status, 200, first.text);
    const refreshToken = String(first.body.refresh_token);

    const replay = await redeemCode(serve, clientId, REDIRECT_URI, code);
    assertTokenRefusal(replay, 400, 'invalid_grant');
    await serve.waitForLog((line) => line.msg === 'authorization code replayed: its grant is revoked');

    assertTokenRefusal(await refresh(serve, clientId, refreshToken), 400, 'invalid_grant');
  });

  it('concurrent refreshes of one token within the grace period: the same successor, one family', TIMEOUT, async () => {
    const issued = await redeemCode(serve, clientId, REDIRECT_URI, await authorizeCode(serve, agent, clientId, REDIRECT_URI));
    assert.equal(issued.status, 200, issued.text);
    const original = String(issued.body.refresh_token);

    const results = await Promise.all(Array.from({ length: 6 }, () => refresh(serve, clientId, original)));
    for (const result of results) {
      assert.equal(result.status, 200, result.text);
      assert.equal(result.headers.get('cache-control'), 'no-store');
      assert.equal((await callTool(serve, String(result.body.access_token), 'get_user_info')).status, 200, 'each access token works');
    }
    const successors = new Set(results.map((r) => r.body.refresh_token));
    assert.equal(successors.size, 1, 'one successor for all');
    const successor = String([...successors][0]);
    assert.notEqual(successor, original);

    // Another client presenting the token gets nothing (and ends nothing).
    const other = await registerPublicClient(serve, REDIRECT_URI);
    assertTokenRefusal(await refresh(serve, other, original), 400, 'invalid_grant');

    // The successor rotates on; the original, now two rotations old, is reuse: the one family is revoked,
    // the newest token with it (there was no second family to survive).
    const next = await refresh(serve, clientId, successor);
    assert.equal(next.status, 200, next.text);
    assertTokenRefusal(await refresh(serve, clientId, original), 400, 'invalid_grant');
    assertTokenRefusal(await refresh(serve, clientId, String(next.body.refresh_token)), 400, 'invalid_grant');
  });
});

describe('refusals of the token endpoint over HTTP (--refresh-grace-seconds 0)', () => {
  let serve: ServeProcess;
  let clientId: string;
  before(async () => {
    serve = await startEmbedded(['--store', 'memory:', '--refresh-grace-seconds', '0']);
    clientId = await registerPublicClient(serve, REDIRECT_URI);
  });
  after(async () => {
    await serve?.stop();
  });

  it('reuse of a rotated refresh token after the grace period is refused, issues nothing, and revokes the family', TIMEOUT, async () => {
    const issued = await redeemCode(serve, clientId, REDIRECT_URI, await authorizeCode(serve, new UserAgent(ADMIN), clientId, REDIRECT_URI));
    assert.equal(issued.status, 200, issued.text);
    const original = String(issued.body.refresh_token);
    const rotated = await refresh(serve, clientId, original);
    assert.equal(rotated.status, 200, rotated.text);
    const successor = String(rotated.body.refresh_token);

    assertTokenRefusal(await refresh(serve, clientId, original), 400, 'invalid_grant');
    await serve.waitForLog((line) => line.msg === 'refresh token reused after rotation: the family is revoked');
    assertTokenRefusal(await refresh(serve, clientId, successor), 400, 'invalid_grant');
  });
});

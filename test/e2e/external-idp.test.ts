/**
 * The whole MCP discovery against `portcullis serve` in resource-server mode, with an authorization
 * server nobody here wrote (oauth2-mock-server) issuing Okta-shaped and Auth0-shaped tokens, and the
 * official MCP client on the other side: 401 → metadata → token → initialize → tools/call → 403 step-up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { OAuth2Server } from 'oauth2-mock-server';
import { TestOAuthProvider } from '../helpers/oauth-client.js';
import { startServe, type ServeProcess } from '../helpers/serve-process.js';

type Shape = 'okta' | 'auth0';

/** Claims as each IdP shapes them, for the scopes the user approved. */
function claimsFor(shape: Shape, scopes: string[], clientId: string): Record<string, unknown> {
  if (shape === 'okta') return { sub: 'alice@example.com', uid: '00u1abcd', cid: clientId, scp: scopes };
  return { sub: 'auth0|alice', azp: clientId, scope: scopes.join(' '), permissions: [] };
}

for (const shape of ['okta', 'auth0'] as const) {
  describe(`official MCP client against serve with ${shape}-shaped tokens`, () => {
    let idp: OAuth2Server;
    let serve: ServeProcess;
    const scopeByCode = new Map<string, string>();

    before(async () => {
      idp = new OAuth2Server();
      await idp.issuer.keys.generate('RS256');
      await idp.start(0, '127.0.0.1');
      // The mock IdP approves whatever was asked at /authorize; remember it per code, and shape the token.
      idp.service.on('beforeAuthorizeRedirect', (redirect: { url: URL }, req: { query: Record<string, string> }) => {
        scopeByCode.set(redirect.url.searchParams.get('code')!, req.query.scope ?? '');
      });
      idp.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }, req: { body: Record<string, string> }) => {
        const scopes = (scopeByCode.get(req.body.code ?? '') ?? '').split(' ').filter(Boolean);
        delete token.payload.scope;
        Object.assign(token.payload, claimsFor(shape, scopes, req.body.client_id ?? 'unknown'), { aud: req.body.resource });
      });
      // …and the token response reports the granted scope (the mock says "dummy" otherwise).
      idp.service.on('beforeResponse', (response: { body: Record<string, unknown> }, req: { body: Record<string, string> }) => {
        if (req.body.code) response.body.scope = scopeByCode.get(req.body.code) ?? '';
      });
      serve = await startServe(['--issuer', idp.issuer.url!, '--provider', shape, '--store', 'memory:']);
    });

    after(async () => {
      await serve?.stop();
      await idp?.stop();
    });

    it('challenges, discovers, authorizes, calls tools, and steps up for create_incident', async () => {
      // 1. No token: 401 with a challenge naming the metadata and the basic scope.
      const bare = await fetch(serve.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
      assert.equal(bare.status, 401);
      const metadataUrl = new URL('/.well-known/oauth-protected-resource/mcp', serve.url).href;
      assert.equal(bare.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl}", scope="incidents:read"`);

      // 2. The metadata names the IdP; its resource is exactly the URL the client connects to.
      const metadata = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
      assert.equal(metadata.resource, serve.url);
      assert.deepEqual(metadata.authorization_servers, [idp.issuer.url]);

      // 3. The official client runs discovery and the code flow (pre-registered public client: the mock IdP has no DCR).
      const provider = new TestOAuthProvider({ client_id: 'mcp-inspector' });
      let transport = new StreamableHTTPClientTransport(new URL(serve.url), { authProvider: provider });
      let client = new Client({ name: 'e2e', version: '1.0.0' });
      await assert.rejects(client.connect(transport), UnauthorizedError);
      const first = provider.authorizationUrls.at(-1)!;
      assert.equal(first.origin, idp.issuer.url);
      assert.equal(first.searchParams.get('resource'), serve.url);
      assert.equal(first.searchParams.get('scope'), 'incidents:read');
      assert.equal(first.searchParams.get('code_challenge_method'), 'S256');
      await transport.finishAuth(provider.lastCode!);

      transport = new StreamableHTTPClientTransport(new URL(serve.url), { authProvider: provider });
      client = new Client({ name: 'e2e', version: '1.0.0' });
      await client.connect(transport);
      assert.ok(transport.sessionId, 'the server issued a session');

      // 4. Tools: read works, and the caller is who the IdP said.
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'create_incident'));
      const me = await client.callTool({ name: 'get_user_info', arguments: {} });
      assert.match(JSON.stringify(me.structuredContent), shape === 'okta' ? /alice@example\.com/ : /auth0\|alice/);
      const listed = await client.callTool({ name: 'list_incidents', arguments: {} });
      const before = (listed.structuredContent as { incidents: unknown[] }).incidents.length;
      assert.ok(before > 0, 'sample incidents are there');

      // 5. create_incident needs incidents:write: 403 step-up; the client re-authorizes with the union of scopes.
      const readToken = provider.tokens()!.access_token;
      await assert.rejects(
        client.callTool({ name: 'create_incident', arguments: { title: 'Disk full', description: 'db-1 at 100%', severity: 'high', service: 'db' } }),
        UnauthorizedError,
      );
      const stepUp = provider.authorizationUrls.at(-1)!;
      assert.notEqual(stepUp, first);
      assert.deepEqual(stepUp.searchParams.get('scope')!.split(' ').sort(), ['incidents:read', 'incidents:write']);
      const raw = await fetch(serve.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${readToken}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-11-25' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'create_incident', arguments: { title: 'x', description: 'y', severity: 'low', service: 'z' } } }),
      });
      assert.equal(raw.status, 403);
      assert.equal(raw.headers.get('www-authenticate'), `Bearer resource_metadata="${metadataUrl}", error="insufficient_scope", error_description="The access token lacks a required scope", scope="incidents:write incidents:read"`);
      const still = await fetch(new URL('/mcp/tools/call/list_incidents?limit=100', serve.url), { headers: { authorization: `Bearer ${readToken}` } });
      assert.equal(((await still.json()) as { structuredContent: { incidents: unknown[] } }).structuredContent.incidents.length, before, 'the tool did not run');

      await transport.finishAuth(provider.lastCode!);
      const created = await client.callTool({ name: 'create_incident', arguments: { title: 'Disk full', description: 'db-1 at 100%', severity: 'high', service: 'db' } });
      assert.notEqual(created.isError, true);
      assert.match(JSON.stringify(created.structuredContent), shape === 'okta' ? /alice@example\.com/ : /auth0\|alice/);
      await client.close();

      // Never a token in the logs.
      assert.ok(!serve.output().includes(readToken), 'the access token appears in the output');
      assert.ok(!serve.output().includes(provider.tokens()!.access_token));
    });
  });
}

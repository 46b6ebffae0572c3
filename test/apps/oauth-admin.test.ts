/**
 * The OAuth management tools against real objects: a real embedded authorization server (memory store,
 * real keys, real HTTP, the test's clock), the embedded verifier, a real external test issuer for
 * discovery. The compliance checks have their own file (oauth-admin-compliance.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import { registerOAuthAdminTools, type OAuthAdminDeps } from '../../src/apps/oauth-admin/index.js';
import { authorizationServerMetadata } from '../../src/authorization-server/metadata.js';
import { verifyClientSecret } from '../../src/authorization-server/secrets.js';
import { createEmbeddedVerifier, issueAccessToken } from '../../src/authorization-server/tokens.js';
import type { TokenVerifier } from '../../src/core/auth.js';
import { unavailable } from '../../src/core/errors.js';
import { Registry } from '../../src/mcp/registry.js';
import type { CallToolResult } from '../../src/mcp/types.js';
import { protectedResourceMetadataDocument } from '../../src/resource-server/metadata.js';
import { createJwtVerifier } from '../../src/verifiers/jwt.js';
import { basic, post, startServer, type TestServer } from '../authorization-server/helpers.js';
import { startIssuer, type TestIssuer } from '../helpers/issuer.js';
import { authInfo, callContext, callTool, textOf } from './fixtures/context.js';

const ADMIN_AUTH = authInfo({ subject: 'usr_admin', clientId: 'portcullis-cli', scopes: ['mcp:admin'] });
const TOOLS = [
  'mcp_oauth_protected_resource_metadata',
  'mcp_oauth_authorization_server_metadata',
  'mcp_oauth_validate_token',
  'mcp_oauth_get_configuration',
  'mcp_oauth_register_client',
  'mcp_oauth_check_compliance',
];

function embeddedDeps(as: TestServer, overrides: Partial<OAuthAdminDeps> = {}): OAuthAdminDeps {
  return {
    resource: as.ctx.resource,
    issuer: as.issuer,
    protectedResourceMetadata: protectedResourceMetadataDocument({ resource: as.ctx.resource, authorizationServers: [as.issuer], scopes: as.ctx.scopes }),
    verifier: createEmbeddedVerifier(as.ctx),
    authorizationServer: { context: as.ctx },
    configuration: { tokenValidation: 'embedded', audience: as.ctx.resource, requiredScopes: [], challengeScopes: ['incidents:read'], store: 'memory', keysEncrypted: true },
    now: () => new Date(as.clock.now * 1000),
    ...overrides,
  };
}

function externalDeps(issuer: TestIssuer, resource: string, verifier: TokenVerifier): OAuthAdminDeps {
  return {
    resource,
    issuer: issuer.issuer,
    protectedResourceMetadata: protectedResourceMetadataDocument({ resource, authorizationServers: [issuer.issuer], scopes: ['incidents:read', 'incidents:write', 'mcp:admin'] }),
    verifier,
    configuration: { tokenValidation: 'jwt', provider: 'okta', audience: resource, requiredScopes: [], challengeScopes: ['incidents:read'], store: 'sqlite', keysEncrypted: false },
    timeoutMs: 2000,
  };
}

function tools(deps: OAuthAdminDeps): Registry {
  const registry = new Registry();
  registerOAuthAdminTools(registry, deps);
  return registry;
}

function call(registry: Registry, name: string, args: unknown = {}): Promise<CallToolResult> {
  return callTool(registry, name, args, callContext(ADMIN_AUTH));
}

/** The structured content, checked against the tool's own output schema as a client would. */
function structured<T = Record<string, unknown>>(registry: Registry, name: string, result: CallToolResult): T {
  assert.notEqual(result.isError, true, textOf(result));
  const output = registry.tools.get(name)!.output as z.ZodObject;
  return output.parse(result.structuredContent) as T;
}

let as: TestServer;
let issuer: TestIssuer;
before(async () => {
  as = await startServer();
  issuer = await startIssuer();
});
after(async () => {
  await as?.close();
  await issuer?.close();
});

describe('registration', () => {
  it('registers six tools, each needing mcp:admin, with honest annotations', () => {
    const registry = tools(embeddedDeps(as));
    assert.deepEqual([...registry.tools.keys()], TOOLS);
    for (const tool of registry.tools.values()) {
      assert.deepEqual(tool.scopes, ['mcp:admin'], tool.name);
      assert.ok(tool.output, `${tool.name} has an output schema`);
      assert.equal(tool.annotations?.readOnlyHint, tool.name !== 'mcp_oauth_register_client', tool.name);
      assert.equal(tool.annotations?.openWorldHint, false, `${tool.name}: embedded, nothing outside this server`);
    }
    assert.equal(registry.tools.get('mcp_oauth_register_client')!.annotations?.destructiveHint, false);
    assert.deepEqual(registry.scopes(), ['mcp:admin']);
    const external = tools(externalDeps(issuer, 'http://127.0.0.1:9/mcp', createEmbeddedVerifier(as.ctx)));
    assert.equal(external.tools.get('mcp_oauth_authorization_server_metadata')!.annotations?.openWorldHint, true, 'discovery reaches the IdP');
  });

  it('refuses dependencies that do not fit together, at start-up', () => {
    assert.throws(() => tools(embeddedDeps(as, { resource: 'http://127.0.0.1:1/mcp' })), /names another resource/);
    assert.throws(() => tools(embeddedDeps(as, { issuer: 'http://127.0.0.1:1' })), /does not name the issuer/);
    assert.throws(() => tools(embeddedDeps(as, { timeoutMs: 0 })), /timeoutMs/);
  });
});

describe('metadata and configuration', () => {
  it('mcp_oauth_protected_resource_metadata returns the published document', async () => {
    const deps = embeddedDeps(as);
    const registry = tools(deps);
    const result = await call(registry, 'mcp_oauth_protected_resource_metadata');
    assert.deepEqual(structured(registry, 'mcp_oauth_protected_resource_metadata', result), deps.protectedResourceMetadata);
    assert.match(textOf(result), /"authorization_servers"/);
  });

  it('mcp_oauth_authorization_server_metadata: the embedded RFC 8414 document, or the external one by discovery', async () => {
    const registry = tools(embeddedDeps(as));
    const embedded = await call(registry, 'mcp_oauth_authorization_server_metadata');
    assert.deepEqual(structured(registry, 'mcp_oauth_authorization_server_metadata', embedded), authorizationServerMetadata(as.ctx));

    const external = tools(externalDeps(issuer, 'http://127.0.0.1:9/mcp', createEmbeddedVerifier(as.ctx)));
    const discovered = structured(external, 'mcp_oauth_authorization_server_metadata', await call(external, 'mcp_oauth_authorization_server_metadata'));
    assert.equal(discovered.issuer, issuer.issuer);
    assert.equal(discovered.jwks_uri, issuer.jwksUri);

    issuer.up = false;
    try {
      const down = await call(external, 'mcp_oauth_authorization_server_metadata');
      assert.equal(down.isError, true);
      assert.match(textOf(down), /Cannot discover the authorization server .*HTTP 503/);
    } finally {
      issuer.up = true;
    }
  });

  it('mcp_oauth_get_configuration: facts for embedded and external mode, nothing secret', async () => {
    const registry = tools(embeddedDeps(as));
    const embedded = structured(registry, 'mcp_oauth_get_configuration', await call(registry, 'mcp_oauth_get_configuration'));
    assert.deepEqual(embedded, {
      issuer: as.issuer, resource: as.ctx.resource, mode: 'embedded', provider: null, token_validation: 'embedded', audience: as.ctx.resource,
      scopes_supported: ['incidents:read', 'incidents:write', 'mcp:admin'], required_scopes: [], challenge_scopes: ['incidents:read'],
      access_token_ttl_seconds: 3600, refresh_grace_seconds: 30, store: 'memory', private_keys_encrypted: true,
    });

    const external = tools(externalDeps(issuer, 'http://127.0.0.1:9/mcp', createEmbeddedVerifier(as.ctx)));
    const result = await call(external, 'mcp_oauth_get_configuration');
    const facts = structured(external, 'mcp_oauth_get_configuration', result);
    assert.equal(facts.mode, 'external');
    assert.equal(facts.provider, 'okta');
    assert.equal(facts.token_validation, 'jwt');
    assert.equal(facts.access_token_ttl_seconds, null);
    assert.equal(facts.private_keys_encrypted, null);
    assert.match(textOf(result), /external authorization server, okta claims/);
  });
});

describe('mcp_oauth_validate_token', () => {
  it('active: what the guard would see; the token itself is never in the result', async () => {
    const registry = tools(embeddedDeps(as));
    const { token } = await issueAccessToken(as.ctx, { subject: 'usr_1', clientId: 'client-1', scopes: ['incidents:read', 'mcp:admin'] });
    for (const presented of [token, `Bearer ${token}`, ` ${token}\n`]) {
      const result = await call(registry, 'mcp_oauth_validate_token', { token: presented });
      assert.deepEqual(structured(registry, 'mcp_oauth_validate_token', result), {
        active: true, subject: 'usr_1', client_id: 'client-1', scopes: ['incidents:read', 'mcp:admin'], audience: [as.ctx.resource], issuer: as.issuer,
        expires_at: new Date((as.clock.now + 3600) * 1000).toISOString(), expires_in: 3600,
      });
      assert.ok(!JSON.stringify(result).includes(token), 'the token is not echoed');
    }
  });

  it('inactive with the reason: expired, garbage, another audience; a verifier outage is a tool error', async () => {
    const registry = tools(embeddedDeps(as));
    const { token } = await issueAccessToken(as.ctx, { subject: 'usr_1', clientId: 'client-1', scopes: [] });
    const saved = as.clock.now;
    as.clock.now += 3600 + 31;
    try {
      const expired = await call(registry, 'mcp_oauth_validate_token', { token });
      assert.deepEqual(structured(registry, 'mcp_oauth_validate_token', expired), { active: false, reason: 'The access token expired' });
      assert.ok(!JSON.stringify(expired).includes(token));
    } finally {
      as.clock.now = saved;
    }
    const garbage = await call(registry, 'mcp_oauth_validate_token', { token: 'not-a-token<script>' });
    assert.equal(structured(registry, 'mcp_oauth_validate_token', garbage).active, false);
    assert.ok(!textOf(garbage).includes('<script>'), 'the input is not echoed');
    const foreign = await issueAccessToken(as.ctx, { subject: 'usr_1', clientId: 'client-1', scopes: [], resource: 'https://elsewhere.example/mcp' });
    assert.deepEqual(structured(registry, 'mcp_oauth_validate_token', await call(registry, 'mcp_oauth_validate_token', { token: foreign.token })), { active: false, reason: 'The access token is not meant for this resource' });
    await assert.rejects(call(registry, 'mcp_oauth_validate_token', { token: '' }), /too_small|>=1/i, 'the input schema refuses an empty token');

    const down = tools(embeddedDeps(as, { verifier: { verify: async () => { throw unavailable('JWKS unreachable'); } } }));
    const outage = await call(down, 'mcp_oauth_validate_token', { token });
    assert.equal(outage.isError, true);
    assert.match(textOf(outage), /cannot be checked right now/);
  });

  it('an external issuer: the JWT verifier the guard would use', async () => {
    const resource = 'http://127.0.0.1:9/mcp';
    const verifier = createJwtVerifier({ issuer: issuer.issuer, audience: resource, jwksUri: issuer.jwksUri });
    const registry = tools(externalDeps(issuer, resource, verifier));
    const valid = await issuer.sign({ sub: 'bob', client_id: 'cli', scope: 'incidents:read', aud: resource });
    const seen = structured(registry, 'mcp_oauth_validate_token', await call(registry, 'mcp_oauth_validate_token', { token: valid }));
    assert.equal(seen.active, true);
    assert.equal(seen.subject, 'bob');
    const expired = await issuer.sign({ sub: 'bob', aud: resource }, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    assert.deepEqual(structured(registry, 'mcp_oauth_validate_token', await call(registry, 'mcp_oauth_validate_token', { token: expired })), { active: false, reason: 'The access token expired' });
  });
});

describe('mcp_oauth_register_client', () => {
  it('creates a client_credentials client whose secret, returned once and stored hashed, works at the token endpoint', async () => {
    const registry = tools(embeddedDeps(as));
    const result = await call(registry, 'mcp_oauth_register_client', { client_name: 'reporting', scope: 'incidents:read' });
    const client = structured<{ client_id: string; client_secret: string; grant_types: string[]; token_endpoint: string; scope: string }>(registry, 'mcp_oauth_register_client', result);
    assert.deepEqual(client.grant_types, ['client_credentials']);
    assert.equal(client.scope, 'incidents:read');
    assert.equal(client.token_endpoint, `${as.issuer}/oauth/token`);
    assert.match(textOf(result), /shown only now/);

    const stored = (await as.store.clients.get(client.client_id))!;
    assert.equal(stored.origin, 'admin');
    assert.equal(stored.tokenEndpointAuthMethod, 'client_secret_basic');
    assert.deepEqual(stored.redirectUris, []);
    assert.ok(stored.secretHash && !stored.secretHash.includes(client.client_secret), 'stored as a hash');
    assert.equal(verifyClientSecret(client.client_secret, stored.secretHash), true);

    const issued = await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic(client.client_id, client.client_secret));
    assert.equal(issued.status, 200, issued.text);
    assert.equal(issued.body.scope, 'incidents:read');
    const wrong = await post(as, '/oauth/token', { grant_type: 'client_credentials' }, basic(client.client_id, 'not-the-secret'));
    assert.equal(wrong.status, 401);
  });

  it('defaults to the resource scopes without mcp:admin; with redirect URIs, a confidential code client', async () => {
    const registry = tools(embeddedDeps(as));
    const service = structured(registry, 'mcp_oauth_register_client', await call(registry, 'mcp_oauth_register_client', { client_name: 'svc' }));
    assert.equal(service.scope, 'incidents:read incidents:write');
    const web = structured(registry, 'mcp_oauth_register_client', await call(registry, 'mcp_oauth_register_client', { client_name: 'web app', redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'client_secret_post' }));
    assert.deepEqual(web.grant_types, ['authorization_code', 'refresh_token']);
    assert.deepEqual(web.response_types, ['code']);
    assert.equal(web.token_endpoint_auth_method, 'client_secret_post');
    assert.equal(typeof web.client_secret, 'string');
    const pub = structured(registry, 'mcp_oauth_register_client', await call(registry, 'mcp_oauth_register_client', { client_name: 'cli', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }));
    assert.equal(pub.client_secret, undefined, 'a public client has no secret');
  });

  it('refuses what the registration rules refuse, and creates nothing', async () => {
    const registry = tools(embeddedDeps(as));
    const before = (await as.store.clients.list()).length;
    const refusals: [Record<string, unknown>, RegExp][] = [
      [{ client_name: 'x', token_endpoint_auth_method: 'none' }, /must authenticate/],
      [{ client_name: 'x', grant_types: ['client_credentials'], redirect_uris: ['https://app.example/cb'] }, /has no redirect URI/],
      [{ client_name: 'x', grant_types: ['authorization_code'] }, /At least one redirect URI/],
      [{ client_name: 'x', redirect_uris: ['javascript:alert(1)'] }, /never allowed/],
      [{ client_name: 'x', redirect_uris: ['http://evil.example/cb'] }, /loopback/],
      [{ client_name: 'x', grant_types: ['client_credentials', 'refresh_token'] }, /refresh_token comes with authorization_code/],
      [{ client_name: 'x', scope: 'incidents:read incidents:delete' }, /does not define "incidents:delete"/],
      [{ client_name: 'x', scope: '  ' }, /names no scope/],
      [{ client_name: 'x', scope: 'bad"scope' }, /malformed/],
    ];
    for (const [args, message] of refusals) {
      const result = await call(registry, 'mcp_oauth_register_client', args);
      assert.equal(result.isError, true, JSON.stringify(args));
      assert.match(textOf(result), message, JSON.stringify(args));
    }
    assert.equal((await as.store.clients.list()).length, before);
  });

  it('with an external issuer: a tool error saying where to register', async () => {
    const registry = tools(externalDeps(issuer, 'http://127.0.0.1:9/mcp', createEmbeddedVerifier(as.ctx)));
    const result = await call(registry, 'mcp_oauth_register_client', { client_name: 'x' });
    assert.equal(result.isError, true);
    assert.match(textOf(result), new RegExp(`external authorization server ${issuer.issuer}: register clients there`));
  });
});

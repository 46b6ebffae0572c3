/**
 * Federated login's parts that need no upstream: the vault that encrypts upstream tokens at rest, and the
 * mapping of an upstream identity (issuer, sub) onto a local user. The flows themselves run end to end
 * against a real OpenID Provider in test/e2e/federated-login.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isUpstreamUser, upstreamMarker, upstreamUser, upstreamUsername } from '../../src/authorization-server/upstream/identity.js';
import { createUpstreamIdp, UpstreamSetupError } from '../../src/authorization-server/upstream/idp.js';
import { createVault, vaultFor } from '../../src/authorization-server/upstream/vault.js';
import { hashPassword, verifyPassword } from '../../src/authorization-server/passwords.js';
import { SEALED_TOKENS } from '../../src/stores/lib/upstream-records.js';
import { createMemoryStore } from '../../src/stores/memory.js';

describe('upstream vault', () => {
  const owner = { userId: 'user-1', clientId: 'client-1' };

  it('seals into the envelope the store accepts, never containing the token, and opens it back', () => {
    const vault = createVault(randomBytes(32));
    const refreshToken = randomBytes(32).toString('base64url');
    const sealed = vault.seal(owner, { refreshToken });
    assert.match(sealed, SEALED_TOKENS);
    assert.ok(!sealed.includes(refreshToken));
    assert.notEqual(vault.seal(owner, { refreshToken }), sealed, 'a fresh IV each time');
    assert.deepEqual(vault.open(owner, sealed), { refreshToken });
    assert.deepEqual(vault.open(owner, vault.seal(owner, {})), {});
  });

  it('does not open under another key, for another owner, or altered', () => {
    const vault = createVault(randomBytes(32));
    const sealed = vault.seal(owner, { refreshToken: 'rt' });
    assert.equal(createVault(randomBytes(32)).open(owner, sealed), undefined);
    assert.equal(vault.open({ ...owner, clientId: 'client-2' }, sealed), undefined, 'moved onto another record');
    assert.equal(vault.open({ ...owner, userId: 'user-2' }, sealed), undefined);
    const [iv, ciphertext, tag] = sealed.slice('aes256gcm:'.length).split('.') as [string, string, string];
    const flipped = Buffer.from(ciphertext, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    assert.equal(vault.open(owner, `aes256gcm:${iv}.${flipped.toString('base64url')}.${tag}`), undefined);
    for (const bad of ['', 'plain:{"refreshToken":"rt"}', 'aes256gcm:a.b', `aes256gcm:${iv}.${ciphertext}`]) assert.equal(vault.open(owner, bad), undefined);
  });

  it('derives its key from the server key: instances sharing the secret agree, another secret does not open', () => {
    const successorOf = (secret: string) => (label: string) => `${secret}:${label}`;
    const sealed = vaultFor(successorOf('a')).seal(owner, { refreshToken: 'rt' });
    assert.deepEqual(vaultFor(successorOf('a')).open(owner, sealed), { refreshToken: 'rt' });
    assert.equal(vaultFor(successorOf('b')).open(owner, sealed), undefined);
  });
});

describe('upstream identity', () => {
  const issuer = 'https://idp.example.com';

  it('a username of at most 64 safe characters, deterministic from (issuer, sub), distinct across issuers', () => {
    for (const sub of ['00u1ab2cd3', 'alice@example.com', 'auth0|5f7c8ec7c33c6c004bbafe82', 'ü'.repeat(100), ' ', 'x'.repeat(255)]) {
      const name = upstreamUsername(issuer, sub);
      assert.match(name, /^[A-Za-z0-9._-]{1,64}$/, sub);
      assert.equal(upstreamUsername(issuer, sub), name);
      assert.notEqual(upstreamUsername('https://other.example.com', sub), name);
    }
    assert.ok(upstreamUsername(issuer, '00u1ab2cd3').startsWith('00u1ab2cd3.'));
    assert.notEqual(upstreamUsername(issuer, 'a/b'), upstreamUsername(issuer, 'a_b'), 'the readable part may collide, the digest does not');
  });

  it('the marker makes password login impossible', async () => {
    const marker = upstreamMarker(issuer, 'alice');
    assert.equal(await verifyPassword('', marker), false);
    assert.equal(await verifyPassword(marker, marker), false);
    assert.ok(isUpstreamUser({ passwordHash: marker }));
    assert.ok(!isUpstreamUser({ passwordHash: await hashPassword('a local password') }));
  });

  it('creates the user once with the configured scopes, finds it again, and never takes over a local user', async () => {
    const store = createMemoryStore();
    const results = await Promise.all(Array.from({ length: 5 }, () => upstreamUser(store, { issuer, subject: 'alice', scopes: ['incidents:read'] })));
    const ids = new Set(results.map((r) => (r.ok ? r.user.id : 'refused')));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((r) => r.ok && r.created).length, 1);
    const again = await upstreamUser(store, { issuer, subject: 'alice', scopes: ['incidents:write'] });
    assert.ok(again.ok && !again.created);
    assert.deepEqual(again.ok && again.user.scopes, ['incidents:read'], 'later logins keep the scopes the user has');

    await store.users.create({ username: upstreamUsername(issuer, 'bob'), passwordHash: await hashPassword('a local password'), scopes: ['mcp:admin'] });
    const squatted = await upstreamUser(store, { issuer, subject: 'bob', scopes: ['incidents:read'] });
    assert.deepEqual(squatted, { ok: false, username: upstreamUsername(issuer, 'bob') });
  });
});

describe('upstream identity provider: what start-up accepts', () => {
  const issuer = 'https://idp.example.com';
  /** Discovery answered from memory: `metadata` is served for every well-known URL. */
  const idpWith = (metadata: Record<string, unknown>, clientSecret: string | undefined, scopes = ['openid']) =>
    createUpstreamIdp({
      issuer,
      clientId: 'portcullis',
      clientSecret,
      scopes,
      redirectUri: 'https://mcp.example.com/oauth/upstream/callback',
      fetch: async () => Response.json({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, response_types_supported: ['code'], ...metadata }),
    });
  const refused = (kind: 'unreachable' | 'unsuitable', words: RegExp) => (error: unknown) => error instanceof UpstreamSetupError && error.kind === kind && words.test(error.message);

  it('chooses client_secret_basic, else client_secret_post, as the metadata allows; none without a secret', async () => {
    assert.equal((await idpWith({}, 'secret')).authMethod, 'client_secret_basic', 'RFC 8414 §2: absent means client_secret_basic');
    assert.equal((await idpWith({ token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'] }, 'secret')).authMethod, 'client_secret_basic');
    assert.equal((await idpWith({ token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_post'] }, 'secret')).authMethod, 'client_secret_post');
    assert.equal((await idpWith({}, undefined)).authMethod, 'none');
    assert.equal((await idpWith({ token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'] }, undefined)).authMethod, 'none');
  });

  it('refuses an upstream it cannot use, naming why', async () => {
    await assert.rejects(idpWith({ token_endpoint_auth_methods_supported: ['private_key_jwt'] }, 'secret'), refused('unsuitable', /neither client_secret_basic nor client_secret_post/));
    await assert.rejects(idpWith({ token_endpoint_auth_methods_supported: ['client_secret_basic'] }, undefined), refused('unsuitable', /PORTCULLIS_UPSTREAM_CLIENT_SECRET/));
    await assert.rejects(idpWith({ code_challenge_methods_supported: ['plain'] }, 'secret'), refused('unsuitable', /PKCE S256/));
    await assert.rejects(idpWith({ token_endpoint: 'http://idp.example.com/token' }, 'secret'), refused('unsuitable', /token_endpoint.*https/));
    await assert.rejects(idpWith({}, 'secret', ['profile']), refused('unsuitable', /openid/));
    await assert.rejects(idpWith({ issuer: `${issuer}/` }, 'secret'), refused('unreachable', /configure exactly that/));
  });

  it('sends the browser with code, PKCE S256, state and nonce of its own', async () => {
    const idp = await idpWith({}, 'secret', ['openid', 'email']);
    const { url, pending } = await idp.begin();
    assert.equal(`${url.origin}${url.pathname}`, `${issuer}/authorize`);
    const q = url.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), 'portcullis');
    assert.equal(q.get('scope'), 'openid email');
    assert.equal(q.get('state'), pending.state);
    assert.equal(q.get('nonce'), pending.nonce);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.notEqual(q.get('code_challenge'), pending.verifier);
    const again = await idp.begin();
    assert.notEqual(again.pending.state, pending.state);
  });
});

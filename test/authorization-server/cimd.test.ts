import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CimdError, cimdOptions, metadataDocumentClient, resolveClient } from '../../src/authorization-server/cimd.js';
import type { AuthorizationServerContext } from '../../src/authorization-server/context.js';
import { createPinnedFetch, PinnedFetchError } from '../../src/authorization-server/lib/pinned-fetch.js';
import { selfSignedCertificate } from '../helpers/tls.js';
import { addUser, assertRefusal, exchange, issueCode, liveGrants, REDIRECT_URI, refresh, startServer, type TestServer } from './helpers.js';

const { key, cert } = selfSignedCertificate(['localhost', 'cimd.test', '127.0.0.1']);
/** Generous for the fetches that must succeed (a busy machine makes TLS handshakes slow); the timeout test uses its own. */
const TIMEOUT_MS = 5000;
const SHORT_TIMEOUT_MS = 300;
const MAX_BYTES = 2048;

describe('client ID metadata documents', () => {
  let docs: https.Server;
  let port = 0;
  const hits = new Map<string, number>();
  let as: TestServer;
  const url = (path: string, host = 'localhost') => `https://${host}:${port}${path}`;
  const hitsOf = (path: string) => hits.get(path) ?? 0;

  function document(req: { headers: { host?: string } }, path: string, extra: Record<string, unknown> = {}) {
    return JSON.stringify({ client_id: `https://${req.headers.host}${path}`, client_name: 'CIMD app', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'none', ...extra });
  }

  before(async () => {
    docs = https.createServer({ key, cert }, (req, res) => {
      const path = req.url ?? '/';
      hits.set(path, hitsOf(path) + 1);
      const json = (body: string, headers: Record<string, string> = {}) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600', ...headers });
        res.end(body);
      };
      switch (path) {
        case '/client.json': case '/pinned.json': case '/token-flow.json': case '/token-refused.json':
          return path === '/token-refused.json' ? json(document(req, '/elsewhere.json')) : json(document(req, path));
        case '/nostore.json': return json(document(req, path), { 'cache-control': 'no-store' });
        case '/short.json': return json(document(req, path), { 'cache-control': 'public, max-age=5' });
        case '/typed.json': return json(document(req, path), { 'content-type': 'application/client-metadata+json; charset=utf-8' });
        case '/redirect.json': res.writeHead(302, { location: '/redirect-target.json' }); return res.end();
        case '/redirect-target.json': return json(document(req, '/redirect.json'));
        case '/big.json': return json(document(req, path, { padding: 'x'.repeat(4096) }));
        case '/big-chunked.json':
          res.writeHead(200, { 'content-type': 'application/json' });
          for (let i = 0; i < 8; i++) res.write(' '.repeat(512));
          return res.end(document(req, path));
        case '/wrong-id.json': return json(document(req, '/other.json'));
        case '/slow.json': return; // never answers
        case '/slow-body.json':
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.write('{"client_id":'); // never finishes
        case '/html.json': return json(document(req, path), { 'content-type': 'text/html' });
        case '/missing.json': res.writeHead(404, { 'content-type': 'application/json' }); return res.end('{}');
        case '/secret.json': return json(document(req, path, { client_secret: 'shh' }));
        case '/confidential.json': return json(document(req, path, { token_endpoint_auth_method: 'client_secret_basic' }));
        case '/js-redirect.json': return json(document(req, path, { redirect_uris: ['javascript:alert(1)'] }));
        case '/credentials-grant.json': return json(document(req, path, { grant_types: ['client_credentials'] }));
        case '/not-json.json': return json('{"client_id":');
        case '/array.json': return json('[]');
        default: res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => docs.listen(0, '127.0.0.1', resolve));
    port = (docs.address() as AddressInfo).port;
    as = await startServer({ cimd: () => cimdOptions({ allowedHosts: [`localhost:${port}`], ca: cert, timeoutMs: TIMEOUT_MS, maxBytes: MAX_BYTES }) });
  });
  after(async () => {
    await as.close();
    docs.closeAllConnections();
    await new Promise<void>((resolve) => docs.close(() => resolve()));
  });

  /** A context like the server's, with other CIMD options. */
  function withCimd(options: Parameters<typeof cimdOptions>[0]): AuthorizationServerContext {
    return { ...as.ctx, cimd: cimdOptions({ ca: cert, timeoutMs: TIMEOUT_MS, maxBytes: MAX_BYTES, ...options }) };
  }

  async function refused(ctx: AuthorizationServerContext, clientId: string, reason: string): Promise<void> {
    await assert.rejects(metadataDocumentClient(ctx, clientId), (err: unknown) => {
      assert.ok(err instanceof CimdError, String(err));
      assert.equal(err.reason, reason, `${clientId}: ${err.message}`);
      return true;
    });
    assert.equal(await ctx.stores.cimdCache.get(clientId, ctx.now()), undefined, 'a refused document is never cached');
    assert.equal(await resolveClient(ctx, clientId), undefined);
  }

  it('resolves a client from its document, and caches it as Cache-Control allows', async () => {
    const clientId = url('/client.json');
    const client = await resolveClient(as.ctx, clientId);
    assert.ok(client);
    assert.equal(client.clientId, clientId);
    assert.equal(client.origin, 'metadata_document');
    assert.equal(client.name, 'CIMD app');
    assert.equal(client.tokenEndpointAuthMethod, 'none');
    assert.deepEqual(client.redirectUris, [REDIRECT_URI]);
    assert.deepEqual(client.grantTypes, ['authorization_code', 'refresh_token']);
    await resolveClient(as.ctx, clientId);
    assert.equal(hitsOf('/client.json'), 1, 'served from the cache the second time');
  });

  it('accepts application/<type>+json', async () => {
    assert.ok(await resolveClient(as.ctx, url('/typed.json')));
  });

  it('bounds the cache lifetime: no-store is not cached, max-age=5 is kept 30 s', async () => {
    await resolveClient(as.ctx, url('/nostore.json'));
    await resolveClient(as.ctx, url('/nostore.json'));
    assert.equal(hitsOf('/nostore.json'), 2);
    await resolveClient(as.ctx, url('/short.json'));
    as.clock.now += 29;
    await resolveClient(as.ctx, url('/short.json'));
    assert.equal(hitsOf('/short.json'), 1);
    as.clock.now += 2;
    await resolveClient(as.ctx, url('/short.json'));
    assert.equal(hitsOf('/short.json'), 2);
  });

  it('a metadata-document client completes the code exchange and refreshes over HTTP', async () => {
    const clientId = url('/token-flow.json');
    const user = await addUser(as);
    const result = await exchange(as, clientId, await issueCode(as, clientId, user.id));
    assert.equal(result.status, 200, result.text);
    assert.equal((await refresh(as, clientId, result.body.refresh_token as string)).status, 200);
  });

  it('refuses a client whose document cannot be used with invalid_client at the token endpoint', async () => {
    const clientId = url('/token-refused.json');
    const user = await addUser(as);
    assertRefusal(await exchange(as, clientId, await issueCode(as, clientId, user.id)), 401, 'invalid_client');
    assert.equal((await liveGrants(as, clientId)).length, 0);
  });

  it('refuses documents that break the rules, and caches none of them', async () => {
    const cases: Array<[string, string]> = [
      ['/big.json', 'too_large'],
      ['/big-chunked.json', 'too_large'],
      ['/wrong-id.json', 'client_id_mismatch'],
      ['/html.json', 'content_type'],
      ['/missing.json', 'http_status'],
      ['/secret.json', 'invalid_metadata'],
      ['/confidential.json', 'invalid_metadata'],
      ['/js-redirect.json', 'invalid_metadata'],
      ['/credentials-grant.json', 'invalid_metadata'],
      ['/not-json.json', 'invalid_json'],
      ['/array.json', 'invalid_json'],
    ];
    for (const [path, reason] of cases) await refused(as.ctx, url(path), reason);
  });

  it('does not follow redirects', async () => {
    await refused(as.ctx, url('/redirect.json'), 'redirect');
    assert.equal(hitsOf('/redirect-target.json'), 0);
  });

  it('gives up after the timeout, before the headers or during the body', async () => {
    const impatient = withCimd({ allowedHosts: [`localhost:${port}`], timeoutMs: SHORT_TIMEOUT_MS });
    for (const path of ['/slow.json', '/slow-body.json']) {
      const started = Date.now();
      await assert.rejects(metadataDocumentClient(impatient, url(path)), (err: unknown) => err instanceof CimdError && err.reason === 'timeout');
      assert.ok(Date.now() - started < SHORT_TIMEOUT_MS + 2000, path);
    }
  });

  it('refuses client_id URLs that are not canonical https URLs with a path', async () => {
    for (const clientId of [
      `https://localhost:${port}`,
      url('/'),
      `https://LOCALHOST:${port}/client.json`,
      url('/a/../client.json'),
      url('/%2e%2e/client.json'),
      `${url('/client.json')}#x`,
      `https://user:pw@localhost:${port}/client.json`,
    ]) {
      await refused(as.ctx, clientId, 'invalid_client_id');
    }
    assert.equal(await resolveClient(as.ctx, `http://localhost:${port}/client.json`), undefined);
  });

  it('refuses loopback, private, link-local, CGNAT, unspecified and IPv4-mapped/6to4 addresses unless the host is allowed', async () => {
    // (A document that is not cached, so that every attempt would have to fetch it.)
    const before = hitsOf('/nostore.json');
    const strict = withCimd({ allowedHosts: [] });
    await refused(strict, url('/nostore.json'), 'forbidden_address');
    // The allowance names a host, not an address: the same server by IP is refused.
    await refused(as.ctx, url('/nostore.json', '127.0.0.1'), 'forbidden_address');
    for (const host of ['10.0.0.1', '192.168.1.1', '172.16.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '[::1]', '[::ffff:7f00:1]', '[::ffff:a00:1]', '[64:ff9b::a9fe:a9fe]', '[2002:7f00:1::]', '[fe80::1]', '[fc00::1]']) {
      await refused(strict, url('/nostore.json', host), 'forbidden_address');
    }
    // The fetch itself refuses them too, in any spelling (the client_id check wants canonical URLs first).
    const safeFetch = createPinnedFetch({ ca: cert });
    for (const host of ['[::ffff:127.0.0.1]', '127.1', '0x7f.0.0.1', '2130706433', 'localhost']) {
      await assert.rejects(safeFetch(url('/nostore.json', host)), (err: unknown) => err instanceof PinnedFetchError && err.reason === 'forbidden_address', host);
    }
    assert.equal(hitsOf('/nostore.json'), before, 'nothing was fetched');
  });

  it('refuses a name whose answers include a private address (DNS rebinding), whatever else it resolves to', async () => {
    const mixed = withCimd({ resolve: async () => [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.5', family: 4 }] });
    await refused(mixed, 'https://mixed.example/client.json', 'forbidden_address');
    const mapped = withCimd({ resolve: async () => [{ address: '::ffff:169.254.169.254', family: 6 }] });
    await refused(mapped, 'https://mapped.example/client.json', 'forbidden_address');
    const nat64 = withCimd({ resolve: async () => [{ address: '64:ff9b::7f00:1', family: 6 }] });
    await refused(nat64, 'https://nat64.example/client.json', 'forbidden_address');
  });

  it('connects to the address it vetted (pinned), verifying TLS against the host name', async () => {
    // "cimd.test" exists in no DNS: the fetch can only reach the server through the pinned address.
    const pinned = withCimd({ allowedHosts: [`cimd.test:${port}`], resolve: async (host) => (host === 'cimd.test' ? [{ address: '127.0.0.1', family: 4 }] : []) });
    const client = await metadataDocumentClient(pinned, `https://cimd.test:${port}/pinned.json`);
    assert.equal(client.clientId, `https://cimd.test:${port}/pinned.json`);
    // A name the certificate does not cover fails TLS even though the address is the same.
    const otherName = withCimd({ allowedHosts: [`other.test:${port}`], resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    await refused(otherName, `https://other.test:${port}/pinned.json`, 'fetch_failed');
  });

  it('fails closed when ctx.cimd.fetch is not the SSRF-safe fetch', async () => {
    const unsafe = { ...as.ctx, cimd: { ...as.ctx.cimd, fetch: globalThis.fetch } };
    await refused(unsafe, url('/unsafe.json'), 'unsafe_fetch');
    assert.equal(hitsOf('/unsafe.json'), 0);
  });
});

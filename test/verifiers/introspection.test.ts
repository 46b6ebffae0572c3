import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { cachedVerifier } from '../../src/verifiers/cache.js';
import { createIntrospectionVerifier, type IntrospectionVerifierOptions } from '../../src/verifiers/introspection.js';
import { assertRefused, sendJson, TestClock, TestServer } from './helpers.js';

const ISSUER = 'https://as.example.com';
const AUDIENCE = 'https://mcp.example.com/mcp';
const CLIENT_ID = 'portcullis rs';
const CLIENT_SECRET = 's3cr:t+/%'; // characters RFC 6749 §2.3.1 makes the client form-encode

/** An opaque token value that appears nowhere in any error text. */
const tok = (name: string): string => `opaque.${name}.7Qz9`;

/** RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64. */
function basicCredentials(header: string | undefined): [string, string] | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const [id, secret] = Buffer.from(match[1]!, 'base64').toString('utf8').split(':');
  const decode = (value = '') => decodeURIComponent(value.replace(/\+/g, ' '));
  return [decode(id), decode(secret)];
}

describe('introspection verifier (RFC 7662)', () => {
  const clock = new TestClock();
  /** What the endpoint answers per token; anything else is inactive. */
  let answers: Record<string, Record<string, unknown>>;
  let mode: 'up' | 'error' | 'garbage' = 'up';
  let lastForm: URLSearchParams | undefined;
  const endpoint = new TestServer((req, res, body) => {
    const form = new URLSearchParams(body);
    lastForm = form;
    if (mode === 'error') return sendJson(res, 502, { error: 'bad gateway' });
    if (mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<h1>maintenance</h1>');
    }
    const basic = basicCredentials(req.headers.authorization);
    const [id, secret] = basic ?? [form.get('client_id'), form.get('client_secret')];
    if (req.method !== 'POST' || id !== CLIENT_ID || secret !== CLIENT_SECRET) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="introspection"' });
      return res.end(JSON.stringify({ error: 'invalid_client' }));
    }
    sendJson(res, 200, answers[form.get('token') ?? ''] ?? { active: false });
  });

  before(() => endpoint.start());
  after(() => endpoint.stop());
  beforeEach(() => {
    mode = 'up';
    endpoint.hits = 0;
    const active = { active: true, iss: ISSUER, aud: AUDIENCE, exp: clock.seconds + 600, iat: clock.seconds, sub: 'ada', client_id: 'app-1', scope: 'incidents:read', token_type: 'Bearer' };
    answers = {
      [tok('good')]: active,
      [tok('inactive')]: { active: false },
      [tok('otherAudience')]: { ...active, aud: ['https://other.example.com'] },
      [tok('audArray')]: { ...active, aud: ['https://other.example.com', AUDIENCE] },
      [tok('noAud')]: { ...active, aud: undefined },
      [tok('expired')]: { ...active, exp: clock.seconds - 31 },
      [tok('noExp')]: { ...active, exp: undefined },
      [tok('notYet')]: { ...active, nbf: clock.seconds + 120 },
      [tok('refresh')]: { ...active, token_type: 'refresh_token' },
      [tok('otherIssuer')]: { ...active, iss: 'https://evil.example.com' },
      [tok('noIssuer')]: { ...active, iss: undefined },
      [tok('bound')]: { ...active, cnf: { jkt: 'thumbprint' } },
    };
  });

  const verifier = (options: Partial<IntrospectionVerifierOptions> = {}) =>
    createIntrospectionVerifier({
      introspectionUrl: `${endpoint.url}/introspect`, issuer: ISSUER, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, audience: AUDIENCE, now: clock.now, ...options,
    });

  it('accepts an active token, authenticating with client_secret_basic', async () => {
    const auth = await verifier().verify(tok('good'));
    assert.deepEqual([auth.subject, auth.clientId, auth.scopes, auth.issuer, auth.expiresAt], ['ada', 'app-1', ['incidents:read'], ISSUER, clock.seconds + 600]);
    assert.equal(lastForm?.get('token_type_hint'), 'access_token');
    assert.equal(lastForm?.get('client_secret'), null, 'the secret travels in the Authorization header only');
    assert.equal(endpoint.hits, 1);
  });

  it('authenticates with client_secret_post when configured', async () => {
    assert.equal((await verifier({ clientAuthentication: 'client_secret_post' }).verify(tok('good'))).subject, 'ada');
    assert.equal(lastForm?.get('client_secret'), CLIENT_SECRET);
  });

  it('refuses an inactive or unknown token with 401', async () => {
    await assertRefused(verifier().verify(tok('inactive')), 'invalid_token', 401, tok('inactive'), /not active/);
    await assertRefused(verifier().verify(tok('never-issued')), 'invalid_token', 401, tok('never-issued'), /not active/);
  });

  it('checks aud', async () => {
    await assertRefused(verifier().verify(tok('otherAudience')), 'invalid_token', 401, tok('otherAudience'), /not meant for this resource/);
    await assertRefused(verifier().verify(tok('noAud')), 'invalid_token', 401, tok('noAud'), /not meant for this resource/);
    assert.deepEqual((await verifier().verify(tok('audArray'))).audience, ['https://other.example.com', AUDIENCE]);
  });

  it('checks exp and nbf with the clock tolerance, and requires exp', async () => {
    await assertRefused(verifier().verify(tok('expired')), 'invalid_token', 401, tok('expired'), /expired/);
    await assertRefused(verifier().verify(tok('noExp')), 'invalid_token', 401, tok('noExp'), /no expiry/);
    await assertRefused(verifier().verify(tok('notYet')), 'invalid_token', 401, tok('notYet'), /not valid yet/);
    assert.equal((await verifier({ now: () => clock.ms + 100_000 }).verify(tok('notYet'))).subject, 'ada');
  });

  it('refuses refresh tokens, other issuers and sender-constrained tokens', async () => {
    await assertRefused(verifier().verify(tok('refresh')), 'invalid_token', 401, tok('refresh'), /not a bearer access token/);
    await assertRefused(verifier().verify(tok('otherIssuer')), 'invalid_token', 401, tok('otherIssuer'), /authorization server/);
    await assertRefused(verifier().verify(tok('bound')), 'invalid_token', 401, tok('bound'), /sender-constrained/);
    assert.equal((await verifier().verify(tok('noIssuer'))).issuer, ISSUER, 'an answer without iss takes the configured issuer');
  });

  it('answers 503 when the endpoint is down, failing, garbled, or refuses our credentials', async () => {
    mode = 'error';
    const failing = await assertRefused(verifier().verify(tok('good')), 'temporarily_unavailable', 503, tok('good'));
    assert.match(failing.detail ?? '', /introspect/);
    mode = 'garbage';
    await assertRefused(verifier().verify(tok('good')), 'temporarily_unavailable', 503, tok('good'));
    mode = 'up';
    const refused = await assertRefused(verifier({ clientSecret: 'wrong' }).verify(tok('good')), 'temporarily_unavailable', 503, tok('good'));
    assert.ok(!(refused.detail ?? '').includes('wrong'), 'never logs the client secret');
    const closed = await new TestServer(() => undefined).start();
    await closed.stop();
    await assertRefused(verifier({ introspectionUrl: `${closed.url}/introspect` }).verify(tok('good')), 'temporarily_unavailable', 503, tok('good'));
  });

  it('is cached no longer than its cacheSeconds, and never past exp', async () => {
    const v = cachedVerifier(verifier({ cacheSeconds: 30 }), { now: clock.now });
    await v.verify(tok('good'));
    await v.verify(tok('good'));
    assert.equal(endpoint.hits, 1, 'the second verify makes no introspection call');
    clock.advance(29);
    await v.verify(tok('good'));
    assert.equal(endpoint.hits, 1);
    clock.advance(2);
    await v.verify(tok('good'));
    assert.equal(endpoint.hits, 2, 'past cacheSeconds the token is introspected again (revocation shows)');
    answers[tok('good')] = { ...answers[tok('good')], active: false }; // revoked at the AS
    clock.advance(31);
    await assertRefused(v.verify(tok('good')), 'invalid_token', 401, tok('good'));
  });

  it('validates options when built', () => {
    const base = { introspectionUrl: 'https://as.example.com/introspect', clientId: 'c', clientSecret: 's', audience: AUDIENCE };
    assert.throws(() => createIntrospectionVerifier({ ...base, introspectionUrl: 'http://as.example.com/introspect' }), /introspectionUrl must use https/);
    assert.throws(() => createIntrospectionVerifier({ ...base, clientSecret: '' }), /clientSecret must be a non-empty string/);
    assert.throws(() => createIntrospectionVerifier({ ...base, clientAuthentication: 'private_key_jwt' as never }), /clientAuthentication/);
    assert.throws(() => createIntrospectionVerifier({ ...base, cacheSeconds: -1 }), /cacheSeconds/);
    assert.throws(() => createIntrospectionVerifier({ ...base, provider: 'ping' as never }), /provider must be one of/);
    assert.equal(createIntrospectionVerifier(base).maxCacheSeconds, 60);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/core/config.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const result = loadConfig({}, {});
    assert.ok(result.ok);
    assert.equal(result.config.port, 9001);
    assert.equal(result.config.host, '127.0.0.1');
    assert.equal(result.config.store, 'sqlite:./data/portcullis.db');
    assert.equal(result.config.provider, 'generic');
    assert.deepEqual(result.config.algorithms, ['RS256', 'ES256']);
    assert.equal(result.config.issuer, undefined);
  });

  it('lets flags win over env, and env over the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-config-'));
    const file = join(dir, 'portcullis.json');
    writeFileSync(file, JSON.stringify({ port: 7000, host: '::1', logLevel: 'debug', requiredScopes: ['a', 'b'] }));
    const result = loadConfig({ port: '7002' }, { PORT: '7001', HOST: '127.0.0.2' }, file);
    assert.ok(result.ok);
    assert.equal(result.config.port, 7002);
    assert.equal(result.config.host, '127.0.0.2');
    assert.equal(result.config.logLevel, 'debug');
    assert.deepEqual(result.config.requiredScopes, ['a', 'b']);
  });

  it('builds the Okta issuer from the shorthands and picks the okta preset', () => {
    const result = loadConfig({}, { OKTA_DOMAIN: 'dev-123.okta.com', OKTA_AUTH_SERVER_ID: 'aus1', OKTA_AUDIENCE: 'api://mcp' });
    assert.ok(result.ok);
    assert.equal(result.config.issuer, 'https://dev-123.okta.com/oauth2/aus1');
    assert.equal(result.config.provider, 'okta');
    assert.equal(result.config.audience, 'api://mcp');
  });

  it('reports every problem on its own line, naming flag and variable', () => {
    const result = loadConfig({ port: 'abc', provider: 'google' }, { OAUTH_ISSUER: 'ftp://x', LOG_LEVEL: 'loud', OAUTH_ALGORITHMS: 'HS256' });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.problems.length, 5, result.problems.join('\n'));
    assert.match(result.problems.find((p) => p.startsWith('--port'))!, /^--port \/ PORT: must be a number/);
    assert.ok(result.problems.some((p) => p.startsWith('--provider / OAUTH_PROVIDER: must be one of okta')));
    assert.ok(result.problems.some((p) => p.startsWith('--issuer / OAUTH_ISSUER: must be an http(s) URL')));
    assert.ok(result.problems.some((p) => p.startsWith('--log-level / LOG_LEVEL:')));
    assert.ok(result.problems.some((p) => p.startsWith('--algorithms / OAUTH_ALGORITHMS:')));
  });

  it('needs client credentials and an issuer for introspection', () => {
    const result = loadConfig({ introspectionUrl: 'http://127.0.0.1:1/introspect' }, {});
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.problems.length, 2);
  });

  it('refuses unknown keys in the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portcullis-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    const result = loadConfig({}, {}, file);
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.problems[0]!, /unknown key "prot"/);
  });
});

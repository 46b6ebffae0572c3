/**
 * `portcullis serve` as a process: refusing bad configuration, keeping incidents across restarts in
 * SQLite, taking 100 concurrent creates over HTTP, and failing closed when the JWKS cannot be had.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startIssuer, type TestIssuer } from '../helpers/issuer.js';
import { startServe } from '../helpers/serve-process.js';

const BIN = new URL('../../bin/portcullis.js', import.meta.url).pathname;

function run(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OAUTH_|OKTA_|PORTCULLIS_|MCP_)/.test(k)));
  const result = spawnSync(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 15_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('configuration refusals', () => {
  it('a PORTCULLIS_SECRET too short to protect anything stops start-up with one line', () => {
    const { status, stderr } = run(['serve', '--port', '0', '--store', 'memory:'], { PORTCULLIS_SECRET: 'short' });
    assert.equal(status, 2);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0]!, /^portcullis: PORTCULLIS_SECRET: must be at least 32 characters/);
  });

  it('bad values: one line per problem naming flag and variable, exit 2', () => {
    const { status, stderr } = run(['serve', '--port', 'x', '--provider', 'google'], { OAUTH_ISSUER: 'not a url' });
    assert.equal(status, 2);
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 3, stderr);
    assert.ok(lines.some((l) => l.startsWith('portcullis: --port / PORT:')));
    assert.ok(lines.some((l) => l.startsWith('portcullis: --provider / OAUTH_PROVIDER:')));
    assert.ok(lines.some((l) => l.startsWith('portcullis: --issuer / OAUTH_ISSUER:')));
  });

  it('an issuer whose discovery fails stops start-up with a clear line, exit 1', () => {
    const { status, stderr } = run(['serve', '--port', '0', '--store', 'memory:', '--issuer', 'http://127.0.0.1:9/nothing']);
    assert.equal(status, 1);
    assert.match(stderr, /^portcullis: cannot start: /);
  });
});

describe('with a JWKS issuer', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await startIssuer();
  });
  after(() => issuer.close());

  it('keeps incidents in SQLite across restarts, and 100 concurrent creates over HTTP all land', async () => {
    const store = `sqlite:${join(mkdtempSync(join(tmpdir(), 'portcullis-serve-')), 'db', 'portcullis.db')}`;
    let serve = await startServe(['--issuer', issuer.issuer, '--store', store]);
    const token = await issuer.sign({ sub: 'dana', client_id: 'cli', scope: 'incidents:read incidents:write', aud: serve.url });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const count = async (url: string): Promise<number> => {
      const res = await fetch(`${url}/tools/call/list_incidents?limit=1`, { headers });
      return ((await res.json()) as { structuredContent: { total: number } }).structuredContent.total;
    };
    const seeded = await count(serve.url);
    assert.ok(seeded > 0, 'sample incidents on first start');

    const statuses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${serve.url}/tools/call/create_incident`, { method: 'POST', headers, body: JSON.stringify({ title: `Load ${i}`, description: 'concurrent', severity: 'low', service: 'bench' }) }).then((r) => r.status),
      ),
    );
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(await count(serve.url), seeded + 100);

    assert.equal(await serve.stop(), 0, 'a clean shutdown on SIGTERM');
    serve = await startServe(['--issuer', issuer.issuer, '--store', store]);
    try {
      // Same port is not guaranteed: sign for the new resource URL.
      const again = await issuer.sign({ sub: 'dana', client_id: 'cli', scope: 'incidents:read', aud: serve.url });
      const res = await fetch(`${serve.url}/tools/call/list_incidents?limit=1`, { headers: { authorization: `Bearer ${again}` } });
      assert.equal(((await res.json()) as { structuredContent: { total: number } }).structuredContent.total, seeded + 100, 'nothing lost, nothing seeded twice');
    } finally {
      await serve.stop();
    }
  });

  it('fails closed with 503 when no signing key can be had, and the tool does not run', async () => {
    const serve = await startServe(['--issuer', issuer.issuer, '--jwks-uri', 'http://127.0.0.1:9/jwks', '--store', 'memory:']);
    try {
      const token = await issuer.sign({ sub: 'dana', client_id: 'cli', scope: 'incidents:read incidents:write', aud: serve.url });
      const res = await fetch(`${serve.url}/tools/call/create_incident`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'x', description: 'y', severity: 'low', service: 'z' }) });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal(((await res.json()) as { error: string }).error, 'temporarily_unavailable');
      assert.equal((await fetch(new URL('/ready', serve.url))).status, 503, 'not ready without a key');
      const created = await serve.waitForLog((l) => l.request === 'POST /mcp/tools/call/create_incident');
      assert.equal(created.decision, 'temporarily_unavailable');
    } finally {
      await serve.stop();
    }
  });
});

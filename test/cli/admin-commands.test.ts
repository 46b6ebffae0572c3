import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import pino from 'pino';
import { createKeyRing, KEY_PROPAGATION_SECONDS } from '../../src/authorization-server/keys.js';

import { serverSecrets, verifyClientSecret } from '../../src/authorization-server/secrets.js';
import { createEmbeddedVerifier } from '../../src/authorization-server/tokens.js';
import { authenticateUser } from '../../src/authorization-server/users.js';
import { openStore } from '../../src/stores/open.js';
import type { Store } from '../../src/stores/types.js';

// Spawns the built CLI (`npm run build` first), as an operator would, against a temporary SQLite file
// that this test process keeps open at the same time (the CLI works beside a running server).
const BIN = new URL('../../bin/portcullis.js', import.meta.url).pathname;
const SECRET = 'cli-test-server-secret-0123456789abcdef';
const silent = pino({ level: 'silent' });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without any Portcullis configuration of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(PORTCULLIS_|OAUTH_|OKTA_|MCP_)|^(PORT|HOST|PUBLIC_URL|LOG_LEVEL)$/.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: cleanEnv(env), timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * Every byte SQLite holds for a database: the file and its WAL and shared-memory files. Read by a child
 * process: opening and closing the database file in this process would drop the POSIX locks of this
 * process's open connection (fcntl locks are per process), and a CLI exiting next would then think it was
 * the last connection and delete the WAL under it (sqlite.org/howtocorrupt.html §2.2).
 */
function databaseBytes(file: string): Buffer {
  const script = `const fs = require('node:fs'), path = require('node:path'); const [file] = process.argv.slice(1);
    const dir = path.dirname(file), base = path.basename(file);
    process.stdout.write(Buffer.concat(fs.readdirSync(dir).filter((n) => n.startsWith(base)).map((n) => fs.readFileSync(path.join(dir, n)))).toString('base64'));`;
  return Buffer.from(execFileSync(process.execPath, ['-e', script, file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }), 'base64');
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('admin commands (built CLI, SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cli-'));
  const file = join(dir, 'portcullis.db');
  const storeUrl = `sqlite:${file}`;
  let store: Store;

  before(async () => {
    store = await openStore(storeUrl, { logger: silent });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('users add, list, passwd, remove', async () => {
    let run = await cli(['users', 'add', 'alice', '--password', 'first-password', '--scope', 'incidents:read', '--store', storeUrl]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /added user alice \(scopes: incidents:read\)/);
    assert.doesNotMatch(run.stdout, /first-password/);
    const login = (name: string, password: string) => authenticateUser(store, name, password, { address: '127.0.0.1', now: nowSeconds() });
    assert.ok((await login('alice', 'first-password')).ok);

    run = await cli(['users', 'add', 'bob', '--store', storeUrl]);
    assert.equal(run.code, 0, run.stderr);
    const generated = /^password: (\S+)$/m.exec(run.stdout)?.[1];
    assert.ok(generated && generated.length >= 20, run.stdout);
    assert.ok((await login('bob', generated)).ok, 'the printed password logs in');
    assert.deepEqual([...(await store.users.getByUsername('bob'))!.scopes], ['incidents:read', 'incidents:write'], "default: the resource's scopes, not mcp:admin");

    run = await cli(['users', 'list', '--store', storeUrl]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^alice\tincidents:read\t/m);
    assert.match(run.stdout, /^bob\tincidents:read incidents:write\t/m);
    assert.doesNotMatch(run.stdout, /scrypt/);

    run = await cli(['users', 'passwd', 'alice', '--store', storeUrl], { PORTCULLIS_PASSWORD: 'second-password' });
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await login('alice', 'first-password')).ok, false);
    assert.ok((await login('alice', 'second-password')).ok);

    run = await cli(['users', 'remove', 'alice', '--store', storeUrl]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await store.users.getByUsername('alice'), undefined);
    run = await cli(['users', 'remove', 'alice', '--store', storeUrl]);
    assert.deepEqual([run.code, run.stderr], [1, 'portcullis: no user named alice\n']);
    run = await cli(['users', 'passwd', 'nobody', '--password', 'whatever-123', '--store', storeUrl]);
    assert.equal(run.code, 1);
  });

  it('users: one clear line and exit 2 for bad usage, 1 for a taken name', async () => {
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [['users', 'add', 'carol', '--password', 'short'], {}, 2, /^portcullis: --password: a password needs at least 8 characters\n$/],
      [['users', 'add', 'carol'], { PORTCULLIS_PASSWORD: 'short' }, 2, /^portcullis: PORTCULLIS_PASSWORD: /],
      [['users', 'add', 'bad name'], {}, 2, /^portcullis: a username is 1 to 64 characters/],
      [['users', 'add', 'carol', '--scope', 'incidents:delete'], {}, 2, /^portcullis: unknown scope "incidents:delete"/],
      [['users', 'add', 'bob', '--password', 'long-enough-1'], {}, 1, /^portcullis: a user named bob exists already/],
      [['users', 'list', '--store', 'mysql://x'], {}, 2, /^portcullis: --store \/ PORTCULLIS_STORE: must be memory:, sqlite:PATH/],
    ];
    for (const [args, env, code, stderr] of cases) {
      const run = await cli([...args, ...(args.includes('--store') ? [] : ['--store', storeUrl])], env);
      assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    }
  });

  it('clients add --json shows the secret once and stores only its hash', async () => {
    const run = await cli(['clients', 'add', '--name', 'reporting', '--grant-types', 'client_credentials', '--scope', 'incidents:read', '--json', '--store', storeUrl]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(typeof out.client_id, 'string');
    assert.match(String(out.client_secret), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(out.client_name, 'reporting');
    assert.deepEqual(out.grant_types, ['client_credentials']);
    assert.equal(out.scope, 'incidents:read');
    assert.equal(out.token_endpoint_auth_method, 'client_secret_basic');

    const record = await store.clients.get(String(out.client_id));
    assert.equal(record?.origin, 'admin');
    assert.ok(verifyClientSecret(String(out.client_secret), record!.secretHash!), 'stored as a hash of the secret');
    assert.equal(databaseBytes(file).includes(String(out.client_secret)), false, 'the secret is nowhere in the database files');

    const list = await cli(['clients', 'list', '--json', '--store', storeUrl]);
    assert.equal(list.code, 0);
    assert.ok(list.stdout.includes(String(out.client_id)));
    assert.ok(!list.stdout.includes(String(out.client_secret)));
    assert.ok(!list.stdout.includes('scrypt$'));

    const removed = await cli(['clients', 'remove', String(out.client_id), '--store', storeUrl]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(await store.clients.get(String(out.client_id)), undefined);
    assert.equal((await cli(['clients', 'remove', String(out.client_id), '--store', storeUrl])).code, 1);
  });

  it('clients add refuses combinations that cannot work (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [['--name', 'x', '--grant-types', 'password'], /--grant-types: each must be one of/],
      [['--name', 'x', '--auth-method', 'none'], /client_credentials client must authenticate/],
      [['--name', 'x', '--grant-types', 'authorization_code'], /authorization_code needs at least one/],
      [['--name', 'x', '--grant-types', 'authorization_code', '--redirect-uri', 'javascript:alert(1)'], /javascript: scheme is refused/],
      [['--name', 'x', '--grant-types', 'authorization_code', '--redirect-uri', 'http://evil.example/cb'], /loopback only/],
      [['--name', 'x', '--grant-types', 'authorization_code', '--redirect-uri', 'https://app.example/cb#frag'], /no fragment/],
      [['--grant-types', 'client_credentials'], /required option '--name <name>'/],
    ];
    for (const [args, stderr] of cases) {
      const run = await cli(['clients', 'add', ...args, '--store', storeUrl]);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, stderr);
    }
    const ok = await cli(['clients', 'add', '--name', 'web', '--grant-types', 'authorization_code,refresh_token', '--auth-method', 'none', '--redirect-uri', 'http://127.0.0.1:8765/cb', '--json', '--store', storeUrl]);
    assert.equal(ok.code, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as Record<string, unknown>;
    assert.equal('client_secret' in out, false, 'a public client has no secret');
    assert.deepEqual(out.redirect_uris, ['http://127.0.0.1:8765/cb']);
  });

  it('token prints an at+jwt that the embedded verifier over the same store accepts', async () => {
    const created = await cli(['users', 'add', 'dana', '--password', 'dana-password', '--scope', 'incidents:read mcp:admin', '--store', storeUrl]);
    assert.equal(created.code, 0, created.stderr);
    const run = await cli(['token', '--sub', 'dana', '--scope', 'incidents:read', '--ttl', '600', '--port', '9100', '--store', storeUrl]);
    assert.equal(run.code, 0, run.stderr);
    const token = run.stdout.trim();
    assert.equal(decodeProtectedHeader(token).typ, 'at+jwt');

    const keys = await createKeyRing({ store, encryptionKey: (await serverSecrets({ store, logger: silent })).encryptionKey, logger: silent, accessTokenTtl: 3600 });
    const verifier = createEmbeddedVerifier({ issuer: 'http://127.0.0.1:9100', resource: 'http://127.0.0.1:9100/mcp', keys, now: nowSeconds });
    const auth = await verifier.verify(token);
    const dana = await store.users.getByUsername('dana');
    assert.equal(auth.subject, dana!.id);
    assert.equal(auth.clientId, 'portcullis-cli');
    assert.deepEqual(auth.scopes, ['incidents:read']);
    assert.ok(auth.expiresAt - nowSeconds() <= 600);

    const other = createEmbeddedVerifier({ issuer: 'http://127.0.0.1:9200', resource: 'http://127.0.0.1:9200/mcp', keys, now: nowSeconds });
    await assert.rejects(other.verify(token), { code: 'invalid_token' }, 'iss and aud follow --port');

    const json = await cli(['token', '--json', '--public-url', 'https://mcp.example.com', '--store', storeUrl]);
    assert.equal(json.code, 0, json.stderr);
    const response = JSON.parse(json.stdout) as { access_token: string; token_type: string; expires_in: number; scope: string };
    assert.deepEqual([response.token_type, response.expires_in, response.scope], ['Bearer', 3600, 'incidents:read incidents:write']);
    const claims = decodeJwt(response.access_token);
    assert.deepEqual([claims.iss, claims.aud, claims.sub, claims.client_id], ['https://mcp.example.com', 'https://mcp.example.com/mcp', 'portcullis-cli', 'portcullis-cli']);

    const refusals: [string[], number, RegExp][] = [
      [['--sub', 'dana', '--scope', 'incidents:write'], 2, /user dana does not hold incidents:write/],
      [['--sub', 'nobody'], 1, /no user named nobody/],
      [['--client', 'no-such-client'], 1, /no client no-such-client/],
      [['--ttl', '3601'], 2, /--ttl must be a whole number of seconds from 1 to 3600/],
      [['--port', '0'], 2, /pass the --public-url/],
    ];
    for (const [args, code, stderr] of refusals) {
      const refused = await cli(['token', ...args, '--store', storeUrl]);
      assert.deepEqual([refused.code, refused.stdout], [code, ''], `${args.join(' ')}: ${refused.stderr}`);
      assert.match(refused.stderr, stderr);
    }
    const external = await cli(['token', '--store', storeUrl], { OAUTH_ISSUER: 'https://idp.example.com' });
    assert.equal(external.code, 2);
    assert.match(external.stderr, /--issuer \/ OAUTH_ISSUER is set/);
  });

  it('keys rotate publishes a second key at once; the signing key changes only at activation', async () => {
    const before = await cli(['token', '--store', storeUrl]);
    const oldKid = decodeProtectedHeader(before.stdout.trim()).kid!;
    const run = await cli(['keys', 'rotate', '--store', storeUrl]);
    assert.equal(run.code, 0, run.stderr);
    const newKid = /^added key (\S+): published now, signs from /m.exec(run.stdout)?.[1];
    assert.ok(newKid && newKid !== oldKid, run.stdout);
    assert.match(run.stdout, new RegExp(`key ${oldKid} retires at `));

    const list = await cli(['keys', 'list', '--json', '--store', storeUrl]);
    const rows = JSON.parse(list.stdout) as { kid: string; status: string }[];
    assert.deepEqual(rows.map((r) => [r.kid, r.status]), [[oldKid, 'signing'], [newKid, 'pending']]);

    const now = nowSeconds();
    const ring = (at: number) => createKeyRing({ store, encryptionKey: undefined, logger: silent, accessTokenTtl: 3600, now: () => at });
    const current = await ring(now);
    assert.deepEqual((await current.jwks()).keys.map((k) => k.kid).sort(), [oldKid, newKid].sort(), JSON.stringify({ oldKid, newKid, now, rows: await store.keys.list(now) }));
    const after = await cli(['token', '--store', storeUrl]);
    assert.equal(decodeProtectedHeader(after.stdout.trim()).kid, oldKid, 'unchanged until activation');
    const later = await ring(now + KEY_PROPAGATION_SECONDS + 5);
    const signed = await later.sign({ sub: 'x' }, { typ: 'at+jwt' });
    assert.equal(decodeProtectedHeader(signed).kid, newKid, 'the new key signs once active');
  });

  it('with PORTCULLIS_SECRET the private key is encrypted at rest; a wrong secret stops the command clearly', async () => {
    const encrypted = join(dir, 'encrypted.db');
    const plain = join(dir, 'plain.db');
    let run = await cli(['token', '--store', `sqlite:${encrypted}`], { PORTCULLIS_SECRET: SECRET });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '', 'no warning when the secret is set');
    run = await cli(['token', '--store', `sqlite:${plain}`]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /PORTCULLIS_SECRET is not set: private signing keys are stored UNENCRYPTED/);

    const privateMember = /"d":"[A-Za-z0-9_-]{43}"/;
    assert.match(databaseBytes(plain).toString('latin1'), privateMember, 'control: without a secret the private key is readable');
    assert.doesNotMatch(databaseBytes(encrypted).toString('latin1'), privateMember);
    const check = await openStore(`sqlite:${encrypted}`, { logger: silent });
    try {
      const [record] = await check.keys.list(nowSeconds());
      assert.match(record!.privateJwk, /^aes256gcm:/);
    } finally {
      await check.close();
    }

    run = await cli(['token', '--store', `sqlite:${encrypted}`], { PORTCULLIS_SECRET: `${SECRET}-wrong` });
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^portcullis: cannot decrypt signing key \S+: PORTCULLIS_SECRET is not the secret it was encrypted with/);
    run = await cli(['keys', 'rotate', '--store', `sqlite:${encrypted}`]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /encrypted at rest but PORTCULLIS_SECRET is not set/);
    run = await cli(['token', '--store', `sqlite:${encrypted}`], { PORTCULLIS_SECRET: 'too-short' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /PORTCULLIS_SECRET: must be at least 32 characters/);
  });
});

import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuthInfo, TokenVerifier } from '../../src/core/auth.js';
import { OAuthError } from '../../src/core/errors.js';
import { RequestLog } from '../../src/core/log.js';
import { Guard } from '../../src/resource-server/guard.js';
import { ConnectionMemo } from '../../src/resource-server/lib/connection-memo.js';
import { cachedVerifier, type CachedVerifier } from '../../src/verifiers/cache.js';
import { TestClock } from '../verifiers/helpers.js';

// The guard remembers the last verified Authorization header of each connection. These tests keep one
// TCP connection open across requests (keep-alive) and count what reaches the verifier.

const TTL = 300;
const clock = new TestClock();
let innerCalls = 0;
let cacheCalls = 0;
let cache: CachedVerifier;

/** Accepts `tok-<subject>[-scope…]`; the token's scopes follow its subject. */
const inner: TokenVerifier = {
  async verify(token) {
    innerCalls++;
    const [, subject, ...scopes] = token.split('-');
    return { subject: subject!, clientId: 'c', scopes, audience: ['https://mcp.example.com/mcp'], issuer: 'https://idp.example.com', expiresAt: clock.seconds + TTL, claims: {} } satisfies AuthInfo;
  },
};

function guardServer(requiredScopes: string[] = []): http.Server {
  const counted = { verify: (token: string) => (cacheCalls++, cache.verify(token)), isCurrent: (auth: AuthInfo) => cache.isCurrent(auth) };
  const guard = new Guard({ verifier: counted, resourceMetadataUrl: 'https://mcp.example.com/.well-known/oauth-protected-resource/mcp', requiredScopes });
  return http.createServer((req, res) => {
    const log = new RequestLog();
    guard.authenticate(req, log).then(
      (auth) => {
        const body = JSON.stringify({ subject: auth.subject });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      },
      (error: unknown) => guard.refuse(res, error as OAuthError, log),
    );
  });
}

/** One kept-alive connection; `send` writes a request and resolves with the next response's status and body. */
class Connection {
  readonly socket: net.Socket;
  #buffer = '';
  #waiting: ((response: { status: number; body: string }) => void) | undefined;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/content-length: (\d+)/i.exec(this.#buffer.slice(0, end))?.[1] ?? 0);
      if (this.#buffer.length < end + 4 + length) return;
      const response = { status: Number(this.#buffer.slice(9, 12)), body: this.#buffer.slice(end + 4, end + 4 + length) };
      this.#buffer = this.#buffer.slice(end + 4 + length);
      this.#waiting?.(response);
    });
  }

  send(...headers: string[]): Promise<{ status: number; body: string }> {
    return this.sendTo('/mcp', ...headers);
  }

  sendTo(path: string, ...headers: string[]): Promise<{ status: number; body: string }> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.socket.write([`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headers, '', ''].join('\r\n'));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('per-connection memo of the verified Authorization header', () => {
  let server: http.Server;
  let port: number;
  const open: Connection[] = [];
  const connect = (): Connection => {
    const connection = new Connection(port);
    open.push(connection);
    return connection;
  };

  before(async () => {
    server = guardServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    for (const connection of open) connection.close();
    server.close();
  });
  beforeEach(() => {
    cache = cachedVerifier(inner, { now: clock.now });
    innerCalls = cacheCalls = 0;
  });

  it('answers the same header on the same connection without verifying again, until the verdict expires', async () => {
    const a = connect();
    assert.equal((await a.send('Authorization: Bearer tok-alice')).status, 200);
    assert.equal((await a.send('Authorization: Bearer tok-alice')).body, '{"subject":"alice"}');
    assert.equal(cacheCalls, 1, 'the second request never reached the cache');
    clock.advance(TTL - 1);
    await a.send('Authorization: Bearer tok-alice');
    assert.equal(cacheCalls, 1);
    clock.advance(1); // the token's exp: the memo ends with the cache entry
    await a.send('Authorization: Bearer tok-alice');
    assert.deepEqual([cacheCalls, innerCalls], [2, 2]);
  });

  it('ends with the cache: clear() makes the next request verify again', async () => {
    const a = connect();
    await a.send('Authorization: Bearer tok-alice');
    cache.clear();
    await a.send('Authorization: Bearer tok-alice');
    assert.deepEqual([cacheCalls, innerCalls], [2, 2]);
  });

  it('does not carry over to another connection or another header', async () => {
    const a = connect();
    const b = connect();
    await a.send('Authorization: Bearer tok-alice');
    assert.equal((await b.send('Authorization: Bearer tok-alice')).status, 200);
    assert.equal(cacheCalls, 2, 'another connection goes through the cache');
    assert.equal((await a.send('Authorization: Bearer tok-bob')).body, '{"subject":"bob"}');
    assert.equal((await a.send('Authorization: bearer tok-bob')).body, '{"subject":"bob"}');
    assert.equal(cacheCalls, 4, 'a different header value is parsed and looked up again');
    assert.equal(innerCalls, 2);
  });

  it('still refuses two Authorization headers, a token in the query string, or no token on a remembered connection', async () => {
    const a = connect();
    await a.send('Authorization: Bearer tok-alice');
    const twice = await a.send('Authorization: Bearer tok-alice', 'Authorization: Bearer tok-alice');
    assert.equal(twice.status, 400);
    assert.match(twice.body, /invalid_request/);
    const query = await a.sendTo('/mcp?access_token=tok-alice', 'Authorization: Bearer tok-alice');
    assert.equal(query.status, 400);
    assert.equal((await a.send()).status, 401);
    assert.equal((await a.send('Authorization: Bearer tok-alice junk')).status, 400);
    assert.equal(cacheCalls, 1);
  });
});

describe('per-connection memo and the scopes every request needs', () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = guardServer(['use']);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    cache = cachedVerifier(inner, { now: clock.now });
  });
  after(() => server.close());

  it('checks the required scopes on every request, remembered or not', async () => {
    const a = new Connection(port);
    try {
      assert.equal((await a.send('Authorization: Bearer tok-carol')).status, 403);
      assert.equal((await a.send('Authorization: Bearer tok-carol')).status, 403);
      assert.equal((await a.send('Authorization: Bearer tok-carol-use')).status, 200);
      assert.equal((await a.send('Authorization: Bearer tok-carol-use')).status, 200);
    } finally {
      a.close();
    }
  });
});

describe('ConnectionMemo', () => {
  const auth: AuthInfo = { subject: 's', clientId: 'c', scopes: [], audience: [], issuer: 'i', expiresAt: 0, claims: {} };

  it('matches only the exact header string, even where latin1 bytes would agree', () => {
    const memo = new ConnectionMemo(() => true);
    const connection = {};
    memo.remember(connection, 'Bearer aa', auth);
    assert.equal(memo.recall(connection, 'Bearer aa'), auth);
    assert.equal(memo.recall(connection, 'Bearer a\u0161'), undefined, 'U+0161 is 0x61 in latin1');
    assert.equal(memo.recall(connection, 'Bearer ab'), undefined);
    assert.equal(memo.recall(connection, 'Bearer aaa'), undefined);
    assert.equal(memo.recall({}, 'Bearer aa'), undefined, 'another connection');
  });

  it('compares headers longer than its scratch space', () => {
    const memo = new ConnectionMemo(() => true);
    const connection = {};
    const long = `Bearer ${'x'.repeat(10_000)}`;
    memo.remember(connection, long, auth);
    assert.equal(memo.recall(connection, `Bearer ${'x'.repeat(10_000)}`), auth);
    assert.equal(memo.recall(connection, `Bearer ${'x'.repeat(9_999)}y`), undefined);
  });

  it('answers nothing once the verdict is no longer current', () => {
    let current = true;
    const memo = new ConnectionMemo(() => current);
    const connection = {};
    memo.remember(connection, 'Bearer aa', auth);
    current = false;
    assert.equal(memo.recall(connection, 'Bearer aa'), undefined);
  });
});

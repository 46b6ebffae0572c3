import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { OAuthError } from '../../src/core/errors.js';
import { bearerToken } from '../../src/resource-server/bearer.js';
import { rawRequest } from '../helpers/raw-http.js';

// A real HTTP server that reports what bearerToken() made of each request.
let server: http.Server;
let port: number;

before(async () => {
  server = http.createServer((req, res) => {
    let body: unknown;
    try {
      body = { token: bearerToken(req) ?? null };
    } catch (error) {
      assert.ok(error instanceof OAuthError);
      body = { error: error.code, status: error.status };
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

async function parsed(...headers: string[]): Promise<unknown> {
  const res = await rawRequest(port, ['GET /mcp HTTP/1.1', 'Host: 127.0.0.1', ...headers]);
  return JSON.parse(res.body);
}

describe('bearerToken (RFC 6750 §2.1)', () => {
  it('reads a bearer token, scheme case-insensitive', async () => {
    assert.deepEqual(await parsed('Authorization: Bearer abc.DEF-123_~+/='), { token: 'abc.DEF-123_~+/=' });
    assert.deepEqual(await parsed('Authorization: bearer abc'), { token: 'abc' });
    assert.deepEqual(await parsed('Authorization: BEARER abc'), { token: 'abc' });
  });

  it('treats a missing header or another scheme as no credentials', async () => {
    assert.deepEqual(await parsed(), { token: null });
    assert.deepEqual(await parsed('Authorization: Basic dXNlcjpwYXNz'), { token: null });
  });

  it('refuses trailing junk, characters outside b64token, and an empty token as invalid_request', async () => {
    assert.deepEqual(await parsed('Authorization: Bearer x junk'), { error: 'invalid_request', status: 400 });
    assert.deepEqual(await parsed('Authorization: Bearer a"b'), { error: 'invalid_request', status: 400 });
    assert.deepEqual(await parsed('Authorization: Bearer'), { error: 'invalid_request', status: 400 });
    assert.deepEqual(await parsed('Authorization: Bearer  '), { error: 'invalid_request', status: 400 });
  });

  it('refuses two Authorization headers, which Node would otherwise silently reduce to the first', async () => {
    assert.deepEqual(await parsed('Authorization: Bearer one', 'Authorization: Bearer two'), { error: 'invalid_request', status: 400 });
  });

  it('refuses a token in the query string even beside a valid header', async () => {
    const res = await rawRequest(port, ['GET /mcp?access_token=abc HTTP/1.1', 'Host: 127.0.0.1', 'Authorization: Bearer abc']);
    assert.deepEqual(JSON.parse(res.body), { error: 'invalid_request', status: 400 });
  });
});

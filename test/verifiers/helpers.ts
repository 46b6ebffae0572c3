/**
 * Test fixtures for the verifiers: a JWKS endpoint whose behaviour the test controls, signing keys, a
 * clock the test moves, and a helper asserting a refusal's code, status and that it never echoes the token.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { OAuthError } from '../../src/core/errors.js';

export const ISSUER = 'https://idp.example.com/oauth2/default';
export const AUDIENCE = 'https://mcp.example.com/mcp';

/** A clock in milliseconds that only moves when the test says so. */
export class TestClock {
  constructor(public ms = Date.UTC(2030, 0, 1)) {}
  readonly now = (): number => this.ms;
  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export interface SigningKey {
  readonly kid: string | undefined;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

export async function makeKey(alg = 'RS256', kid: string | undefined = `key-${alg}-${Math.random().toString(36).slice(2, 8)}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), alg, use: 'sig' };
  if (kid !== undefined) jwk.kid = kid;
  return { kid, alg, privateKey, publicKey, jwk };
}

/** Signs `claims` with `key`; the header gets the key's `alg` and `kid` unless `header` overrides them. */
export function sign(key: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const protectedHeader = { alg: key.alg, ...(key.kid === undefined ? {} : { kid: key.kid }), ...header };
  return new SignJWT(claims).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
}

/** Claims of a good token at `clock`'s time, which a test then bends. */
export function baseClaims(clock: TestClock, extra: JWTPayload = {}): JWTPayload {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'ada', client_id: 'client-1', scope: 'incidents:read', iat: clock.seconds, exp: clock.seconds + 300, ...extra };
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A node:http server on 127.0.0.1 that counts requests and serves what `handler` says. */
export class TestServer {
  hits = 0;
  #server: Server | undefined;
  url = '';

  constructor(public handler: Handler) {}

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      this.hits++;
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => this.handler(req, res, body));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Stops listening: later requests get ECONNREFUSED. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A JWKS endpoint: `mode` 'up' serves `keys`, 'error' answers 500, 'garbage' answers 200 with non-JSON. */
export class JwksServer extends TestServer {
  mode: 'up' | 'error' | 'garbage' = 'up';
  keys: JWK[] = [];

  constructor() {
    super((_req, res) => {
      if (this.mode === 'error') return sendJson(res, 500, { error: 'boom' });
      if (this.mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('<html>');
      }
      sendJson(res, 200, { keys: this.keys });
    });
  }

  get jwksUri(): string {
    return `${this.url}/jwks`;
  }
}

/** Asserts that `promise` rejects with an OAuthError of this code and status, which never echoes `token`. */
export async function assertRefused(promise: Promise<unknown>, code: string, status: number, token?: string, description?: RegExp): Promise<OAuthError> {
  let error: unknown;
  await promise.then(
    () => assert.fail(`expected ${code} (${status}), but the token was accepted`),
    (err: unknown) => (error = err),
  );
  assert.ok(error instanceof OAuthError, `expected an OAuthError, got ${String(error)}`);
  assert.equal(error.code, code, `code (detail: ${error.detail})`);
  assert.equal(error.status, status);
  if (description) assert.match(error.description, description);
  if (token !== undefined) {
    assert.ok(!error.description.includes(token) && !(error.detail ?? '').includes(token), 'the error must not echo the token');
    const signature = token.split('.')[2];
    if (signature) assert.ok(!(error.detail ?? '').includes(signature));
  }
  return error;
}

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { cimdOptions } from '../../src/authorization-server/cimd.js';
import { s256 } from '../../src/authorization-server/checks/pkce.js';
import type { AuthorizationServerContext } from '../../src/authorization-server/context.js';
import { createKeyRing } from '../../src/authorization-server/keys.js';
import { routeAuthorizationServer } from '../../src/authorization-server/router.js';
import { hashClientSecret, hashToken, randomToken, serverSecrets } from '../../src/authorization-server/secrets.js';
import type { Logger } from '../../src/core/log.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import { openStore } from '../../src/stores/open.js';
import type { ClientRecord, TokenEndpointAuthMethod, UserRecord } from '../../src/stores/auth-types.js';
import type { Store } from '../../src/stores/types.js';
import { readResult as read, type HttpResult } from '../helpers/http-result.js';

export const SCOPES = ['incidents:read', 'incidents:write', 'mcp:admin'] as const;
export const REDIRECT_URI = 'http://127.0.0.1:4711/callback';

/** A real embedded authorization server on 127.0.0.1: real store, real keys, real HTTP; only the clock is the test's. */
export interface TestServer {
  ctx: AuthorizationServerContext;
  store: Store;
  /** `http://127.0.0.1:PORT` (+ issuer path). */
  issuer: string;
  origin: string;
  /** The test's clock (epoch seconds): move it to expire codes, grace periods and families. */
  clock: { now: number };
  close(): Promise<void>;
}

export interface TestServerOptions {
  refreshGraceSeconds?: number;
  registrationPerMinute?: number;
  issuerPath?: string;
  /** Builds `ctx.cimd` (default: no allowed hosts). */
  cimd?: (origin: string) => AuthorizationServerContext['cimd'];
}

export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const logger = pino({ level: 'silent' });
  const store = await openStore('memory:', { logger });
  const clock = { now: Math.floor(Date.now() / 1000) };
  const secrets = await serverSecrets({ configured: 'test-secret-'.padEnd(40, 'x'), store, logger });
  const keys = await createKeyRing({ store, encryptionKey: secrets.encryptionKey, logger, accessTokenTtl: 3600, now: () => clock.now });
  let ctx: AuthorizationServerContext | undefined;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    routeAuthorizationServer(ctx!, path, req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404, { 'x-unrouted': '1' }).end();
      },
      () => res.writeHead(599).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}${options.issuerPath ?? ''}`;
  ctx = {
    issuer,
    resource: `${issuer}/mcp`,
    scopes: SCOPES,
    stores: store,
    keys,
    accessTokenTtl: 3600,
    refreshTokenTtl: 30 * 86400,
    refreshGraceSeconds: options.refreshGraceSeconds ?? 30,
    codeTtl: 60,
    successorOf: secrets.successorOf,
    secureCookies: false,
    registrationPerMinute: options.registrationPerMinute ?? 30,
    cimd: options.cimd ? options.cimd(origin) : cimdOptions(),
    now: () => clock.now,
    logger,
  };
  return {
    ctx,
    store,
    issuer,
    origin,
    clock,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function addUser(as: TestServer, username = `user${randomToken(4)}`, scopes: readonly string[] = SCOPES): Promise<UserRecord> {
  return as.store.users.create({ username, passwordHash: 'scrypt$not-a-real-hash', scopes });
}

export interface TestClient {
  record: ClientRecord;
  clientId: string;
  secret?: string;
}

/** A stored client; confidential when `method` is not `none` (its secret is returned, its hash stored). */
export async function addClient(
  as: TestServer,
  options: { method?: TokenEndpointAuthMethod; grantTypes?: string[]; scope?: string; redirectUris?: string[] } = {},
): Promise<TestClient> {
  const method = options.method ?? 'none';
  const secret = method === 'none' ? undefined : randomToken();
  const record: ClientRecord = {
    clientId: `client-${randomToken(8)}`,
    ...(secret ? { secretHash: hashClientSecret(secret) } : {}),
    name: 'Test client',
    redirectUris: options.redirectUris ?? [REDIRECT_URI],
    grantTypes: options.grantTypes ?? ['authorization_code', 'refresh_token'],
    responseTypes: ['code'],
    tokenEndpointAuthMethod: method,
    ...(options.scope ? { scope: options.scope } : {}),
    origin: secret ? 'admin' : 'dynamic',
    metadata: {},
    createdAt: as.clock.now,
  };
  await as.store.clients.create(record);
  return { record, clientId: record.clientId, ...(secret ? { secret } : {}) };
}

export interface IssuedCode {
  code: string;
  verifier: string;
}

/** What the authorization endpoint would store after consent: a code bound to client, user, redirect URI, PKCE and resource. */
export async function issueCode(
  as: TestServer,
  clientId: string,
  userId: string,
  options: { redirectUri?: string; scopes?: readonly string[]; resource?: string; ttl?: number } = {},
): Promise<IssuedCode> {
  const code = randomToken();
  const verifier = randomToken(48);
  await as.store.codes.put({
    hash: hashToken(code),
    clientId,
    userId,
    redirectUri: options.redirectUri ?? REDIRECT_URI,
    codeChallenge: s256(verifier),
    scopes: [...(options.scopes ?? ['incidents:read', 'incidents:write'])],
    resource: options.resource ?? as.ctx.resource,
    expiresAt: as.clock.now + (options.ttl ?? 60),
  });
  return { code, verifier };
}

export type { HttpResult };

/** POSTs a form (or another body) to a path of the server. */
export async function post(as: TestServer, path: string, form: Record<string, string> | URLSearchParams | string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  const response = await fetch(`${as.origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return read(response);
}

export async function get(as: TestServer, path: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return read(await fetch(`${as.origin}${path}`, { headers }));
}


/** `Authorization: Basic` per RFC 6749 §2.3.1 (form-urlencoded id and secret). */
export function basic(clientId: string, secret: string): Record<string, string> {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return { authorization: `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}` };
}

/** Asserts an OAuth error response: status, `error`, and the no-store headers. */
export function assertRefusal(result: HttpResult, status: number, error: string): void {
  assert.equal(result.status, status, `expected ${status} ${error}, got ${result.status} ${result.text}`);
  assert.equal(result.body.error, error, result.text);
  assertNoStore(result);
}

export function assertNoStore(result: HttpResult): void {
  assert.equal(result.headers.get('cache-control'), 'no-store');
  assert.equal(result.headers.get('pragma'), 'no-cache');
}

/** Exchanges a code with a public client; returns the parsed token response. */
export async function exchange(as: TestServer, clientId: string, issued: IssuedCode, extra: Record<string, string> = {}): Promise<HttpResult> {
  return post(as, '/oauth/token', { grant_type: 'authorization_code', code: issued.code, redirect_uri: REDIRECT_URI, code_verifier: issued.verifier, client_id: clientId, ...extra });
}

/** Refreshes with a public client. */
export async function refresh(as: TestServer, clientId: string, refreshToken: string, extra: Record<string, string> = {}): Promise<HttpResult> {
  return post(as, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId, ...extra });
}

/** A live grant (refresh family) of the client, from the store. */
export async function liveGrants(as: TestServer, clientId: string) {
  return as.store.grants.list({ clientId });
}

/** One JSON log line, as pino writes it (`level` 30 = info, 40 = warn). */
export interface LogLine {
  level: number;
  msg?: unknown;
  [field: string]: unknown;
}

/** A logger (every level) whose lines are kept in `lines`, for tests that assert what was logged. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'trace', base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** A fresh memory store (no warning: tests know it forgets). */
export async function memoryStore(): Promise<Store> {
  return createMemoryStore();
}

/** A clock in epoch seconds that only moves when told; `now` is bound, so it can be passed as an option. */
export class SecondsClock {
  value: number;

  constructor(start = Math.floor(Date.now() / 1000)) {
    this.value = start;
  }

  readonly now = (): number => this.value;

  advance(seconds: number): void {
    this.value += seconds;
  }
}

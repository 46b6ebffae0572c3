import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { CONFIG_VARIABLES, startServe, type ServeProcess } from './serve-process.js';
import type { UserAgent } from './user-agent.js';
import { readResult as read, type HttpResult } from './http-result.js';

/**
 * What the end-to-end tests of the embedded authorization server share: `serve` started with a known
 * admin password, raw OAuth requests over HTTP (PKCE computed here, never by the server's code), and a
 * fetch that records what the official client sent.
 */

const BIN = new URL('../../bin/portcullis.js', import.meta.url).pathname;

/** The first user of every store these tests start (PORTCULLIS_ADMIN_PASSWORD). */
export const ADMIN = Object.freeze({ username: 'admin', password: 'e2e admin password 7f3c' });

/** `serve` with the embedded authorization server (no `--issuer`), the admin password set. */
export function startEmbedded(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  return startServe(args, { PORTCULLIS_ADMIN_PASSWORD: ADMIN.password, ...env });
}

/** The issuer (`PUBLIC_URL`) of a serve: its MCP URL without `/mcp`. */
export function issuerOf(serve: ServeProcess): string {
  return serve.url.replace(/\/mcp$/, '');
}

/** A TCP port free on 127.0.0.1 right now (for a serve whose URL must stay the same across restarts). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `check` every 50 ms until it returns a value other than undefined, for at most `ms`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, ms = 5000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Exchange {
  method: string;
  url: URL;
  status: number;
  /** The request body when it was a form or a string (token, registration requests). */
  body?: string;
  /** The response body when it was JSON (never a stream). */
  json?: Record<string, unknown>;
}

/**
 * A fetch that records each exchange (request and status) in the order responses came, for the client's
 * `fetch` option; `sent` lists the requests as they leave, before any answer.
 */
export function recordingFetch(): { fetch: typeof fetch; exchanges: Exchange[]; sent: Array<Pick<Exchange, 'method' | 'url' | 'body'>> } {
  const exchanges: Exchange[] = [];
  const sent: Array<Pick<Exchange, 'method' | 'url' | 'body'>> = [];
  const recording: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const body = init?.body;
    sent.push({ method: (init?.method ?? 'GET').toUpperCase(), url, ...(typeof body === 'string' || body instanceof URLSearchParams ? { body: String(body) } : {}) });
    const response = await fetch(input, init);
    const json = response.headers.get('content-type')?.startsWith('application/json') ? ((await response.clone().json()) as Record<string, unknown>) : undefined;
    exchanges.push({
      method: (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase(),
      url,
      status: response.status,
      ...(typeof body === 'string' || body instanceof URLSearchParams ? { body: String(body) } : {}),
      ...(json ? { json } : {}),
    });
    return response;
  };
  return { fetch: recording, exchanges, sent };
}

/** Asserts that `exchanges` contains these `METHOD /path -> status` steps in this order (others may come between). */
export function assertSequence(exchanges: readonly Exchange[], steps: readonly string[]): void {
  const seen = exchanges.map((e) => `${e.method} ${e.url.pathname} -> ${e.status}`);
  let from = 0;
  for (const step of steps) {
    const index = seen.indexOf(step, from);
    assert.ok(index !== -1, `expected ${step} after position ${from} in:\n  ${seen.join('\n  ')}`);
    from = index + 1;
  }
}

export type { HttpResult };


/** POSTs a form to a path of the issuer. */
export async function postForm(serve: ServeProcess, path: string, form: Record<string, string>): Promise<HttpResult> {
  return read(await fetch(`${issuerOf(serve)}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(), signal: AbortSignal.timeout(10_000) }));
}

/** RFC 7591 registration of a public client over HTTP; returns its id. */
export async function registerPublicClient(serve: ServeProcess, redirectUri: string): Promise<string> {
  const response = await fetch(`${issuerOf(serve)}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'e2e raw client', redirect_uris: [redirectUri], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }),
    signal: AbortSignal.timeout(10_000),
  });
  const result = await read(response);
  assert.equal(result.status, 201, result.text);
  return String(result.body.client_id);
}

export interface AuthorizedCode {
  code: string;
  verifier: string;
  /** The whole authorization response. */
  response: URLSearchParams;
}

/** A raw authorization request of a public client (PKCE S256, `state`, `resource`), for an agent to open. */
export function authorizationRequest(serve: ServeProcess, clientId: string, redirectUri: string, scope = 'incidents:read incidents:write'): { url: URL; state: string; verifier: string } {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(12).toString('base64url');
  const url = new URL(`${issuerOf(serve)}/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: serve.url,
  }).toString();
  return { url, state, verifier };
}

/** The authorization code flow up to the code: PKCE S256, `state`, the agent logs in and consents. */
export async function authorizeCode(serve: ServeProcess, agent: UserAgent, clientId: string, redirectUri: string, scope = 'incidents:read incidents:write'): Promise<AuthorizedCode> {
  const { url, state, verifier } = authorizationRequest(serve, clientId, redirectUri, scope);
  const back = await agent.authorize(url);
  assert.equal(`${back.origin}${back.pathname}`, redirectUri);
  assert.equal(back.searchParams.get('state'), state);
  assert.equal(back.searchParams.get('iss'), issuerOf(serve));
  const code = back.searchParams.get('code');
  assert.ok(code, `no code in ${back.href}`);
  return { code, verifier, response: back.searchParams };
}

/** Redeems a code at the token endpoint as a public client. */
export function redeemCode(serve: ServeProcess, clientId: string, redirectUri: string, authorized: AuthorizedCode): Promise<HttpResult> {
  return postForm(serve, '/oauth/token', { grant_type: 'authorization_code', code: authorized.code, redirect_uri: redirectUri, code_verifier: authorized.verifier, client_id: clientId, resource: serve.url });
}

/** Refreshes as a public client. */
export function refresh(serve: ServeProcess, clientId: string, refreshToken: string): Promise<HttpResult> {
  return postForm(serve, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
}

/** Asserts an RFC 6749 §5.2 refusal of the token endpoint that issued nothing. */
export function assertTokenRefusal(result: HttpResult, status: number, error: string): void {
  assert.equal(result.status, status, result.text);
  assert.equal(result.body.error, error, result.text);
  assert.equal(result.headers.get('cache-control'), 'no-store');
  for (const field of ['access_token', 'refresh_token', 'id_token', 'token_type', 'expires_in']) assert.equal(result.body[field], undefined, `a refusal carries no ${field}`);
}

/** Calls a tool through the REST convenience with a bearer token: status and the tool result. */
export async function callTool(serve: ServeProcess, token: string, name: string, args: Record<string, unknown> = {}): Promise<{ status: number; result: Record<string, unknown>; challenge: string | null }> {
  const response = await fetch(`${serve.url}/tools/call/${name}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(args), signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: response.status, result, challenge: response.headers.get('www-authenticate') };
}

/** How many incidents the tracker holds (through a token that can read them). */
export async function incidentTotal(serve: ServeProcess, token: string): Promise<number> {
  const { status, result } = await callTool(serve, token, 'list_incidents', { limit: 1 });
  assert.equal(status, 200, JSON.stringify(result));
  return (result.structuredContent as { total: number }).total;
}


/** Runs the built CLI (`portcullis …`) with only `env` as configuration; resolves with its exit code and output. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CONFIG_VARIABLES.test(name)));
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...inherited, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

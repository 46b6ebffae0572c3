/**
 * The token request of the `token-*` rows, and the access token the `serve-*` rows call with: a
 * confidential client's `grant_type=client_credentials` (RFC 6749 §4.4) with `client_secret_basic`
 * (§2.3.1) and the MCP resource as RFC 8707 `resource`, as an MCP client sends it. Nothing in it changes
 * from one request to the next, and a client-credentials grant stores nothing, so autocannon can repeat
 * it; every request still reads the client from the store.
 */
import type { BenchClient } from '../stores.js';

/** What every successful token response contains. */
export const TOKEN_EXPECT = '"token_type":"Bearer"';

/** A server that does not answer one request within this is broken, not slow. */
const TIMEOUT_MS = 10_000;

export interface TokenRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * The request for `resource` (the MCP endpoint URL), at the token endpoint named by the server's RFC 8414
 * metadata.
 *
 * @example
 * const request = await clientCredentialsRequest('http://127.0.0.1:9001/mcp', client);
 * const token = await requestToken(request);
 */
export async function clientCredentialsRequest(resource: string, client: BenchClient): Promise<TokenRequest> {
  const metadataUrl = new URL('/.well-known/oauth-authorization-server', resource);
  const response = await fetch(metadataUrl, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const metadata = (await response.json().catch(() => ({}))) as { token_endpoint?: unknown };
  if (!response.ok || typeof metadata.token_endpoint !== 'string') throw new Error(`${metadataUrl} answered ${response.status} without a token_endpoint`);
  // §2.3.1: id and secret are form-urlencoded before the Basic encoding.
  const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
  return {
    url: metadata.token_endpoint,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource }).toString(),
  };
}

/** Sends `request` once and returns the access token; throws unless the answer is a 200 Bearer token response. */
export async function requestToken(request: TokenRequest): Promise<string> {
  const response = await fetch(request.url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await response.text();
  let body: { access_token?: unknown; token_type?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // reported below
  }
  if (!response.ok || typeof body.access_token !== 'string' || body.token_type !== 'Bearer' || !text.includes(TOKEN_EXPECT)) {
    throw new Error(`client_credentials at ${request.url} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  return body.access_token;
}

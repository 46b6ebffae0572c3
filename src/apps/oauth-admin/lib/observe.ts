/**
 * What an MCP client sees when it discovers this server (MCP 2025-11-25 "Authorization Server
 * Discovery"), fetched over HTTP from the running server: the protected resource metadata at both
 * well-known paths, the 401 challenge of an unauthenticated POST to the MCP endpoint, the answers for
 * well-known paths that do not exist, and the authorization server metadata the PRM names, tried in the
 * order clients try it. Judging it is `requirements.ts`'s job.
 */
import { randomBytes } from 'node:crypto';
import { metadataPaths } from '../../../resource-server/metadata.js';
import { createProbe, type ProbeResponse } from './probe.js';

export interface Observations {
  /** The canonical MCP URL this server is configured with. */
  readonly resource: string;
  /** The issuer this server is configured with. */
  readonly issuer: string;
  readonly prm: { readonly suffixed: ProbeResponse; readonly root: ProbeResponse };
  /** An unauthenticated `initialize` POSTed to the MCP endpoint. */
  readonly challenge: ProbeResponse;
  /** GETs of well-known paths that do not exist. */
  readonly missing: readonly ProbeResponse[];
  /** The authorization server metadata requests, in order; the last one is the answer when it succeeded. */
  readonly asMetadata: readonly ProbeResponse[];
  /** Why the authorization server metadata was not fetched at all. */
  readonly asSkipped?: string;
}

export interface ObserveOptions {
  readonly resource: string;
  readonly issuer: string;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** The largest metadata document read (real ones are a few kilobytes). */
const MAX_BYTES = 256 * 1024;

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'portcullis-compliance-check', version: '1.0.0' } },
});

/**
 * Fetches everything a client would, from this server's own origin and the configured issuer's only. The
 * AS metadata is fetched only when the PRM names the configured issuer: a URL read from a document is
 * never followed elsewhere.
 *
 * @example
 * const seen = await observe({ resource: 'http://127.0.0.1:9001/mcp', issuer: 'http://127.0.0.1:9001', fetch, timeoutMs: 5000 });
 */
export async function observe(options: ObserveOptions): Promise<Observations> {
  const resource = new URL(options.resource);
  const origin = resource.origin;
  const probe = createProbe({ fetch: options.fetch, origins: [origin, new URL(options.issuer).origin], timeoutMs: options.timeoutMs, maxBytes: MAX_BYTES, signal: options.signal });
  const { suffixed, root } = metadataPaths(resource);
  const nonce = randomBytes(6).toString('hex');
  const [prmSuffixed, prmRoot, challenge, ...missing] = await Promise.all([
    probe(`${origin}${suffixed}`),
    probe(`${origin}${root}`),
    probe(resource.href, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
      body: INITIALIZE,
    }),
    ...['oauth-protected-resource', 'oauth-authorization-server', 'openid-configuration'].map((name) => probe(`${origin}/.well-known/${name}/portcullis-probe-${nonce}`)),
  ]);

  const prm = [prmSuffixed, prmRoot].map((r) => r.json).find(isObject);
  const named = prm?.authorization_servers;
  const first = Array.isArray(named) ? named[0] : undefined;
  let asSkipped: string | undefined;
  const asMetadata: ProbeResponse[] = [];
  if (prm === undefined) asSkipped = 'there is no protected resource metadata to find the authorization server in';
  else if (typeof first !== 'string' || !URL.canParse(first)) asSkipped = 'the protected resource metadata names no authorization server';
  else if (first !== options.issuer) asSkipped = `the protected resource metadata names ${first}, not the configured issuer ${options.issuer}; not fetched`;
  else {
    for (const url of authorizationServerMetadataUrls(first)) {
      const answer = await probe(url);
      asMetadata.push(answer);
      if (answer.status === 200 && isObject(answer.json)) break;
    }
  }
  return { resource: options.resource, issuer: options.issuer, prm: { suffixed: prmSuffixed, root: prmRoot }, challenge, missing, asMetadata, ...(asSkipped ? { asSkipped } : {}) };
}

/**
 * The metadata URLs of an issuer in the order MCP 2025-11-25 clients try them: RFC 8414 with path
 * insertion, OIDC Discovery with path insertion, OIDC Discovery appended (the last two are one URL for an
 * issuer without a path).
 *
 * @example
 * authorizationServerMetadataUrls('https://auth.example.com/tenant1');
 * // ['https://auth.example.com/.well-known/oauth-authorization-server/tenant1',
 * //  'https://auth.example.com/.well-known/openid-configuration/tenant1',
 * //  'https://auth.example.com/tenant1/.well-known/openid-configuration']
 */
export function authorizationServerMetadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  if (path === '') return [`${url.origin}/.well-known/oauth-authorization-server`, `${url.origin}/.well-known/openid-configuration`];
  return [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}/.well-known/openid-configuration${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

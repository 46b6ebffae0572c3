import { OAuthError } from '../core/errors.js';
import { mediaType } from '../core/http.js';
import type { ClientRecord } from '../stores/auth-types.js';
import { validateClientMetadata } from './checks/client-metadata.js';
import type { AuthorizationServerContext } from './context.js';
import { createPinnedFetch, isPinnedFetch, PinnedFetchError, type PinnedFetchOptions } from './lib/pinned-fetch.js';

/**
 * OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25
 * "Client Registration"): a client whose `client_id` is an https URL is described by the JSON document at
 * that URL, fetched when needed, SSRF-safe, and cached as its HTTP caching headers allow.
 */

/** A client as the authorize and token endpoints see it: a stored one, or one known by its metadata document. */
export interface ResolvedClient extends Omit<ClientRecord, 'origin'> {
  readonly origin: ClientRecord['origin'] | 'metadata_document';
}

/** Defaults for `ctx.cimd`: a few seconds (issue 3) and a small document (a real one is well under 2 KiB). */
export const CIMD_DEFAULTS = { timeoutMs: 5000, maxBytes: 8 * 1024 } as const;
/** Bounds on how long a document is cached, whatever its `Cache-Control` says (node-oidc-provider uses the same). */
export const CIMD_CACHE_BOUNDS = { minSeconds: 30, maxSeconds: 86_400 } as const;
/** Longest `client_id` looked up at all. */
const MAX_CLIENT_ID_LENGTH = 2048;

export type CimdFailure =
  | 'invalid_client_id' | 'unsafe_fetch' | 'forbidden_address' | 'fetch_failed' | 'timeout' | 'redirect'
  | 'http_status' | 'content_type' | 'too_large' | 'invalid_json' | 'client_id_mismatch' | 'invalid_metadata';

/** Why a metadata document could not be used; `message` is for the log. */
export class CimdError extends Error {
  override readonly name = 'CimdError';

  constructor(readonly reason: CimdFailure, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/**
 * Builds `ctx.cimd` with the SSRF-safe fetch ({@link createPinnedFetch}) bound to the same allowed hosts.
 *
 * @example
 * const cimd = cimdOptions({ allowedHosts: config.cimdAllowedHosts });
 */
export function cimdOptions(options: PinnedFetchOptions & { timeoutMs?: number; maxBytes?: number } = {}): AuthorizationServerContext['cimd'] {
  const timeoutMs = options.timeoutMs ?? CIMD_DEFAULTS.timeoutMs;
  const maxBytes = options.maxBytes ?? CIMD_DEFAULTS.maxBytes;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new TypeError('cimd timeoutMs must be a positive whole number');
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new TypeError('cimd maxBytes must be a positive whole number');
  const allowedHosts = [...(options.allowedHosts ?? [])];
  return { allowedHosts, timeoutMs, maxBytes, fetch: createPinnedFetch({ ...options, allowedHosts }) };
}

/**
 * The client a `client_id` names: a stored client (dynamic or admin), else, for an https URL, the client
 * its metadata document describes. Undefined when there is no such client or its document cannot be used
 * (the reason is logged): callers answer "unknown client" (`invalid_client`, or the authorization
 * endpoint's error page) and never redirect.
 *
 * @example
 * const client = await resolveClient(ctx, form.get('client_id') ?? '');
 * if (!client) throw new OAuthError('invalid_client', 401, 'Client authentication failed');
 */
export async function resolveClient(ctx: AuthorizationServerContext, clientId: string): Promise<ResolvedClient | undefined> {
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > MAX_CLIENT_ID_LENGTH) return undefined;
  const stored = await ctx.stores.clients.get(clientId);
  if (stored) return stored;
  if (!clientId.startsWith('https://')) return undefined;
  try {
    return await metadataDocumentClient(ctx, clientId);
  } catch (err) {
    if (!(err instanceof CimdError)) throw err;
    const log = err.reason === 'unsafe_fetch' ? ctx.logger.error.bind(ctx.logger) : ctx.logger.info.bind(ctx.logger);
    log({ clientId: clientId.slice(0, 200), reason: err.reason, detail: err.message }, 'client ID metadata document refused');
    return undefined;
  }
}

/**
 * The client of a metadata document, from the cache or freshly fetched; throws {@link CimdError}. Only
 * documents that validate are cached (draft §4.3: never errors, never invalid documents).
 */
export async function metadataDocumentClient(ctx: AuthorizationServerContext, clientId: string): Promise<ResolvedClient> {
  checkClientIdUrl(clientId);
  const now = ctx.now();
  const cached = await ctx.stores.cimdCache.get(clientId, now);
  if (cached) return toClient(ctx, clientId, cached);
  const { document, lifetime } = await fetchClientMetadata(ctx, clientId);
  const client = toClient(ctx, clientId, document);
  if (lifetime > 0) await ctx.stores.cimdCache.put(clientId, document, now + lifetime);
  return client;
}

/**
 * Fetches a metadata document (not cached): SSRF-safe fetch (`ctx.cimd.fetch` must come from
 * {@link createPinnedFetch}; any other fetch is refused, fail-closed), no redirects, `ctx.cimd.timeoutMs`
 * for the whole exchange, at most `ctx.cimd.maxBytes`, 200 with `application/json` or
 * `application/…+json` and a JSON object (draft §4.1). Returns the document and its cache lifetime.
 */
export async function fetchClientMetadata(ctx: AuthorizationServerContext, clientId: string): Promise<{ document: Record<string, unknown>; lifetime: number }> {
  if (!isPinnedFetch(ctx.cimd.fetch)) throw new CimdError('unsafe_fetch', 'ctx.cimd.fetch is not an SSRF-safe fetch: build ctx.cimd with cimdOptions()');
  const signal = AbortSignal.timeout(ctx.cimd.timeoutMs);
  let response: Response;
  try {
    response = await ctx.cimd.fetch(clientId, { signal, redirect: 'manual', headers: { accept: 'application/json' } });
  } catch (err) {
    if (signal.aborted) throw new CimdError('timeout', `no response within ${ctx.cimd.timeoutMs} ms`, { cause: err });
    if (err instanceof PinnedFetchError) throw new CimdError(err.reason === 'forbidden_address' ? 'forbidden_address' : 'fetch_failed', err.message, { cause: err });
    throw new CimdError('fetch_failed', (err as Error).message, { cause: err });
  }
  try {
    // Draft §4.1: "MUST NOT automatically follow HTTP redirects"; any status but 200 is an error.
    if (response.status >= 300 && response.status < 400) throw new CimdError('redirect', `HTTP ${response.status} redirect not followed`);
    if (response.status !== 200) throw new CimdError('http_status', `HTTP ${response.status}`);
    const type = mediaType(response.headers.get('content-type') ?? undefined);
    if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) throw new CimdError('content_type', `content type ${JSON.stringify(type.slice(0, 100))}`);
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > ctx.cimd.maxBytes) throw new CimdError('too_large', `Content-Length ${declared} > ${ctx.cimd.maxBytes}`);
    const text = await readCapped(response, ctx.cimd.maxBytes, signal, ctx.cimd.timeoutMs);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new CimdError('invalid_json', 'the document is not JSON');
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new CimdError('invalid_json', 'the document is not a JSON object');
    return { document: document as Record<string, unknown>, lifetime: cacheLifetime(response.headers.get('cache-control')) };
  } finally {
    await response.body?.cancel().catch(() => undefined);
  }
}

/**
 * Draft §3: the `client_id` URL has the https scheme and a path, no fragment, no credentials, no dot
 * segments. Requiring it to be its own WHATWG serialisation rejects dot segments (`/a/../b`, `%2e`), an
 * upper-case host or an explicit `:443` alike, so the string compared with the document's `client_id`
 * is the one that was fetched.
 */
function checkClientIdUrl(clientId: string): void {
  if (!URL.canParse(clientId)) throw new CimdError('invalid_client_id', 'not a URL');
  const url = new URL(clientId);
  if (url.protocol !== 'https:') throw new CimdError('invalid_client_id', 'not https');
  if (url.username || url.password) throw new CimdError('invalid_client_id', 'has credentials');
  if (clientId.includes('#')) throw new CimdError('invalid_client_id', 'has a fragment');
  if (url.pathname === '/') throw new CimdError('invalid_client_id', 'has no path');
  if (url.href !== clientId) throw new CimdError('invalid_client_id', 'is not in canonical form (dot segments, case, default port)');
}

function toClient(ctx: AuthorizationServerContext, clientId: string, document: Readonly<Record<string, unknown>>): ResolvedClient {
  // Draft §4.1: client_id equal to the document's URL by simple string comparison (RFC 3986 §6.2.1).
  if (document.client_id !== clientId) throw new CimdError('client_id_mismatch', 'the document names another client_id');
  // Draft §4.1: no shared secrets can exist for such a client.
  if ('client_secret' in document || 'client_secret_expires_at' in document) throw new CimdError('invalid_metadata', 'the document carries a client secret');
  let accepted;
  try {
    accepted = validateClientMetadata(document, ctx, { authMethods: ['none'], defaultAuthMethod: 'none' });
  } catch (err) {
    if (err instanceof OAuthError) throw new CimdError('invalid_metadata', `${err.code}: ${err.description}`);
    throw err;
  }
  return {
    clientId,
    name: accepted.name ?? new URL(clientId).host,
    redirectUris: accepted.redirectUris,
    grantTypes: accepted.grantTypes,
    responseTypes: accepted.responseTypes,
    tokenEndpointAuthMethod: 'none',
    ...(accepted.scope === undefined ? {} : { scope: accepted.scope }),
    origin: 'metadata_document',
    metadata: accepted.metadata,
    createdAt: ctx.now(),
  };
}

/** Reads the body up to `max` bytes; one byte more is `too_large`. */
async function readCapped(response: Response, max: number, signal: AbortSignal, timeoutMs: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) throw new CimdError('too_large', `body larger than ${max} bytes`);
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof CimdError) throw err;
    if (signal.aborted) throw new CimdError('timeout', `body not complete within ${timeoutMs} ms`, { cause: err });
    throw new CimdError('fetch_failed', (err as Error).message, { cause: err });
  } finally {
    reader.releaseLock();
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks, size));
}

/**
 * Seconds to cache a document (RFC 9111 §5.2.2): `no-store` or `no-cache` → 0 (not cached: we do not
 * revalidate); `max-age=N` → N within {@link CIMD_CACHE_BOUNDS}; no directive → the minimum.
 */
export function cacheLifetime(header: string | null): number {
  const directives = (header ?? '').toLowerCase().split(',').map((d) => d.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return 0;
  const maxAge = directives.find((d) => d.startsWith('max-age='));
  const seconds = maxAge ? Number.parseInt(maxAge.slice('max-age='.length).replace(/^"|"$/g, ''), 10) : NaN;
  if (!Number.isFinite(seconds)) return CIMD_CACHE_BOUNDS.minSeconds;
  return Math.min(CIMD_CACHE_BOUNDS.maxSeconds, Math.max(CIMD_CACHE_BOUNDS.minSeconds, seconds));
}

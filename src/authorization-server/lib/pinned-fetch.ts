import { lookup as dnsLookup } from 'node:dns/promises';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { forbiddenReason } from './address-policy.js';

/** Why a pinned fetch refused before or while connecting (the message is for the log, never the wire). */
export class PinnedFetchError extends Error {
  override readonly name = 'PinnedFetchError';

  constructor(
    readonly reason: 'scheme' | 'method' | 'credentials' | 'dns' | 'forbidden_address',
    message: string,
  ) {
    super(message);
  }
}

export interface ResolvedAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

export interface PinnedFetchOptions {
  /**
   * Hosts (`host` or `host:port`, case-insensitive) exempt from the address rules, such as a test's
   * loopback server. Everything else still applies to them: https, no redirects, the pin.
   */
  allowedHosts?: readonly string[];
  /** Certificates to trust instead of Node's default store (a test's self-signed server). */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** DNS resolution (default `dns.lookup` with every address); tests use it to stage hostile answers. */
  resolve?: (hostname: string) => Promise<readonly ResolvedAddress[]>;
}

/** Marks the functions {@link createPinnedFetch} makes, so that a caller can refuse any other fetch. */
const PINNED = Symbol.for('portcullis.pinnedFetch');

/**
 * An SSRF-safe `fetch` for URLs that clients choose (client ID metadata documents):
 *
 * - https only, GET only, no credentials in the URL;
 * - the host is resolved here, and every address it resolves to must be public unicast
 *   ({@link forbiddenReason}: private, loopback, link-local, CGNAT, multicast, unspecified, and their
 *   IPv4-mapped, NAT64 and 6to4 forms are refused) — one bad answer refuses the host, so a name that mixes
 *   a public and a private address cannot win a race;
 * - the connection goes to the vetted address, pinned through the socket's `lookup`, so the name is never
 *   resolved twice (no DNS-rebinding window between the check and the connect); TLS still verifies the
 *   certificate against the host name;
 * - redirects are returned as they are, never followed (the caller refuses them);
 * - `init.signal` aborts resolution, connection and body alike.
 *
 * Hosts in `allowedHosts` skip the address rules only.
 *
 * @example
 * const safeFetch = createPinnedFetch({ allowedHosts: [] });
 * const response = await safeFetch('https://client.example.com/oauth/metadata.json', { signal: AbortSignal.timeout(5000) });
 */
export function createPinnedFetch(options: PinnedFetchOptions = {}): typeof fetch {
  const allowed = new Set((options.allowedHosts ?? []).map((host) => host.toLowerCase()));
  const resolve = options.resolve ?? ((hostname: string) => dnsLookup(hostname, { all: true, verbatim: true }));
  const ca = options.ca === undefined ? undefined : Array.isArray(options.ca) ? [...options.ca] : (options.ca as string | Buffer);

  async function pinnedFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : input);
    if (url.protocol !== 'https:') throw new PinnedFetchError('scheme', `only https URLs are fetched, not ${url.protocol}`);
    if ((init.method ?? 'GET').toUpperCase() !== 'GET') throw new PinnedFetchError('method', 'only GET is supported');
    if (url.username || url.password) throw new PinnedFetchError('credentials', 'URLs with credentials are not fetched');
    const signal = init.signal ?? undefined;
    signal?.throwIfAborted();

    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const addresses = await abortable(resolve(hostname), signal).catch((err: unknown) => {
      if (signal?.aborted) throw signal.reason;
      throw new PinnedFetchError('dns', `cannot resolve ${hostname}: ${(err as Error).message}`);
    });
    if (addresses.length === 0) throw new PinnedFetchError('dns', `${hostname} has no address`);
    if (!allowed.has(url.hostname.toLowerCase()) && !allowed.has(url.host.toLowerCase())) {
      for (const { address } of addresses) {
        const reason = forbiddenReason(address);
        if (reason) throw new PinnedFetchError('forbidden_address', `${hostname} resolves to ${address}: ${reason}`);
      }
    }
    return request(url, addresses[0]!, new Headers(init.headers), signal, ca);
  }

  return Object.assign(pinnedFetch, { [PINNED]: true }) as typeof fetch;
}

/** Whether `fn` was made by {@link createPinnedFetch} (and so applies the address rules). */
export function isPinnedFetch(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[PINNED] === true;
}

function request(url: URL, pinned: ResolvedAddress, headers: Headers, signal: AbortSignal | undefined, ca: https.RequestOptions['ca']): Promise<Response> {
  // Node asks for one address or, with autoSelectFamily, for all of them: either way, only the vetted one.
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) (callback as unknown as (err: null, addresses: ResolvedAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const outgoing: Record<string, string> = { 'user-agent': 'portcullis', accept: 'application/json' };
  headers.forEach((value, name) => (outgoing[name] = value));
  return new Promise((resolvePromise, reject) => {
    const req = https.request(
      { protocol: 'https:', hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || 443, path: `${url.pathname}${url.search}`, method: 'GET', headers: outgoing, lookup, agent: false, signal, ...(ca ? { ca } : {}) },
      (res) => {
        const status = res.statusCode ?? 0;
        const responseHeaders = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        if (status < 200 || status > 599) {
          res.destroy();
          reject(new Error(`unexpected HTTP status ${status}`));
          return;
        }
        const nullBody = status === 204 || status === 205 || status === 304;
        if (nullBody) res.resume();
        const body = nullBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
        resolvePromise(new Response(body, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

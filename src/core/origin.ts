/**
 * DNS-rebinding and cross-origin protection (MCP 2025-11-25, transports "Security Warning"; security best
 * practices "Local MCP Server Compromise"). A page on evil.example that resolves its name to 127.0.0.1
 * still sends `Host: evil.example` and `Origin: http://evil.example`; both are refused before anything else.
 */
export interface OriginPolicyOptions {
  /** The canonical external URL: its host and origin are always allowed. */
  publicUrl: URL;
  /** Extra `Host` values (host[:port]) to accept, e.g. behind a load balancer with several names. */
  allowedHosts?: readonly string[];
  /** Extra browser origins to accept (`https://app.example`); loopback origins are always accepted. */
  allowedOrigins?: readonly string[];
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Decides which `Host` and `Origin` values a request may carry.
 *
 * @example
 * const policy = new OriginPolicy({ publicUrl: new URL('http://127.0.0.1:9001') });
 * policy.hostAllowed('evil.example.com'); // false
 */
export class OriginPolicy {
  readonly #hosts: ReadonlySet<string>;
  readonly #origins: ReadonlySet<string>;

  constructor(options: OriginPolicyOptions) {
    this.#hosts = new Set([options.publicUrl.host.toLowerCase(), ...(options.allowedHosts ?? []).map((h) => h.toLowerCase())]);
    this.#origins = new Set([options.publicUrl.origin, ...(options.allowedOrigins ?? []).map((o) => new URL(o).origin)]);
  }

  /** A `Host` header is acceptable when it names this server: its public host, a configured one, or loopback. */
  hostAllowed(host: string | undefined): boolean {
    if (!host) return false;
    const lower = host.toLowerCase();
    return this.#hosts.has(lower) || LOOPBACK_NAMES.has(hostname(lower));
  }

  /** An `Origin` header is acceptable when absent (not a browser), this server's, configured, or loopback. */
  originAllowed(origin: string | undefined): boolean {
    if (origin === undefined) return true;
    if (this.#origins.has(origin)) return true;
    try {
      const url = new URL(origin);
      return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_NAMES.has(url.hostname);
    } catch {
      return false; // "null" and other opaque origins
    }
  }
}

function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

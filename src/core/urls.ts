/**
 * The canonical base URL of this server (`PUBLIC_URL`): the configured one, else `http://HOST:PORT` with a
 * wildcard listen address shown as loopback. No trailing slash, so the issuer and `PUBLIC_URL/mcp` never
 * drift (RFC 8414 §3.3 compares issuers as strings).
 *
 * @example
 * publicBaseUrl({ publicUrl: undefined, host: '::1' }, 9001); // 'http://[::1]:9001'
 */
export function publicBaseUrl(config: { publicUrl?: string | undefined; host: string }, port: number): string {
  if (config.publicUrl !== undefined) return config.publicUrl.replace(/\/+$/, '');
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
}

/** The MCP resource of a base URL (`PUBLIC_URL/mcp`), normalised as `URL` writes it. */
export function resourceUrl(base: string): URL {
  return new URL(`${base}/mcp`);
}

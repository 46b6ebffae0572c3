/**
 * A bounded HTTP GET/POST for the compliance checks: only to origins named when it is built, no redirects
 * followed, a timeout per request, a cap on the body read. Failures become part of the answer (status 0
 * and a reason) rather than exceptions, because a failed request is an observation to report.
 */

export interface ProbeResponse {
  readonly url: string;
  readonly method: string;
  /** 0 when no response came (refused here, timed out, connection failed). */
  readonly status: number;
  readonly headers: Headers;
  /** The body parsed as JSON when the media type is JSON and it parses; undefined otherwise. */
  readonly json: unknown;
  /** Why there is no usable response. */
  readonly error?: string;
}

export interface ProbeOptions {
  readonly fetch: typeof fetch;
  /** The only origins requests may go to (`https://host[:port]`); any other URL is refused without a request. */
  readonly origins: readonly string[];
  readonly timeoutMs: number;
  /** Bytes of body read at most; a larger body is reported, not parsed. */
  readonly maxBytes: number;
  /** Aborts every request (the caller cancelled the tool call). */
  readonly signal?: AbortSignal;
}

export type Probe = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<ProbeResponse>;

/**
 * @example
 * const probe = createProbe({ fetch, origins: ['http://127.0.0.1:9001'], timeoutMs: 5000, maxBytes: 64 * 1024 });
 * const { status, json } = await probe('http://127.0.0.1:9001/.well-known/oauth-protected-resource/mcp');
 */
export function createProbe(options: ProbeOptions): Probe {
  const origins = new Set(options.origins);
  return async (url, init = {}) => {
    const method = init.method ?? 'GET';
    const empty = { url, method, headers: new Headers(), json: undefined };
    if (!URL.canParse(url) || !origins.has(new URL(url).origin)) return { ...empty, status: 0, error: 'not fetched: not an origin this server is configured with' };
    const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
    let response: Response;
    try {
      response = await options.fetch(url, { method, headers: init.headers, body: init.body, redirect: 'manual', signal: AbortSignal.any(signals) });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      return { ...empty, status: 0, error: timedOut ? `no answer within ${options.timeoutMs} ms` : `request failed: ${describe(error)}` };
    }
    const read = await readCapped(response, options.maxBytes).catch((error: unknown) => ({ error: `reading the body failed: ${describe(error)}` }));
    if ('error' in read) return { url, method, status: response.status, headers: response.headers, json: undefined, error: read.error };
    const mediaType = response.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
    let json: unknown;
    if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
      try {
        json = JSON.parse(read.text);
      } catch {
        return { url, method, status: response.status, headers: response.headers, json: undefined, error: 'the body is not valid JSON' };
      }
    }
    return { url, method, status: response.status, headers: response.headers, json };
  };
}

async function readCapped(response: Response, maxBytes: number): Promise<{ text: string } | { error: string }> {
  if (!response.body) return { text: '' };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return { error: `the body is larger than ${maxBytes} bytes` };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8') };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

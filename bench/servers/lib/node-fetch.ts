/**
 * Mounts a web-standard `fetch(request) → Response` handler on a Node `http` server: the conversion
 * `toNodeHandler` / `toWebRequest` of `@modelcontextprotocol/node` performs, which is not installed here.
 * Written to do the same work that adapter does (headers copied into `Headers`, the body read as text,
 * the `Response` headers and body written back), so the anchor pays what a user of the SDK would pay.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * @example
 * http.createServer(toNodeListener(async (request) => new Response('ok')));
 */
export function toNodeListener(handler: FetchHandler): RequestListener {
  return (req, res) => {
    void serve(handler, req, res);
  };
}

async function serve(handler: FetchHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let response: Response;
  try {
    response = await handler(await toWebRequest(req));
  } catch {
    response = Response.json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null }, { status: 500 });
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) headers[name] = value;
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  try {
    for await (const chunk of response.body) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await new Promise<void>((resolve) => res.once('drain', resolve));
    }
  } catch {
    // the client went away; nothing left to answer
  }
  res.end();
}

async function toWebRequest(req: IncomingMessage): Promise<Request> {
  const method = req.method ?? 'GET';
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  let body: string | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (chunks.length > 0) body = Buffer.concat(chunks).toString('utf8');
  }
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method, headers, ...(body !== undefined && { body }) });
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

/** Largest request body read when draining a refused one before the connection is dropped. */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
const DRAIN_LIMIT_MS = 10_000;

/**
 * Reads a request body of at most `limit` bytes.
 *
 * A body over the limit is refused with 413, and the rest of it is read and discarded (up to
 * {@link DRAIN_LIMIT_BYTES}) so that the client really receives the 413: closing a socket that still has
 * unread request bytes makes the kernel answer with a reset, and the client loses the response.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    drain(req);
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // The listeners stay once the promise is settled: the body has ended or is being drained (drain()
    // replaces the 'data' listener), and a late 'error' still finds one.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      drain(req);
      reject(tooLarge(limit));
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `The request body exceeds the limit of ${limit} bytes`);
}

/** Reads and discards the rest of a request, bounded in bytes and time; past the bounds the socket is dropped. */
export function drain(req: IncomingMessage): void {
  if (req.readableEnded) return;
  let seen = 0;
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_LIMIT_MS);
  timer.unref();
  req.removeAllListeners('data');
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/** Sends a JSON body with an exact `Content-Length`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

/** The media type of a `Content-Type` header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string {
  if (!header) return '';
  const semi = header.indexOf(';');
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** Whether an `Accept` header admits `type` (exact or `*\/*`, `type/*`). */
export function accepts(header: string | undefined, type: string): boolean {
  if (!header) return false;
  const major = type.slice(0, type.indexOf('/'));
  for (const part of header.split(',')) {
    const media = mediaType(part);
    if (media === type || media === '*/*' || media === `${major}/*`) return true;
  }
  return false;
}

/**
 * Every value of cookie `name` in a `Cookie` header (RFC 6265 §5.4 syntax), in order: a browser may send
 * two of one name (one planted on a parent path), and the caller tries each.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

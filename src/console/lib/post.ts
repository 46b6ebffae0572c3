/**
 * Every console form POST passes here before it does anything, in this order:
 *
 * 1. `Origin`, when sent (browsers send it with every form POST; the console's pages are `same-origin`
 *    referrer policy so that it is their real origin, not `null`), must be `PUBLIC_URL`'s origin exactly
 *    (`null` and every other origin are refused), and `Sec-Fetch-Site`, when sent, must be `same-origin`:
 *    a page elsewhere cannot post here even with the user's cookie (which `SameSite=Lax` already
 *    withholds from cross-site POSTs);
 * 2. a console session (the CSRF token is bound to one);
 * 3. an `application/x-www-form-urlencoded` body of at most `limit` bytes (415, 413);
 * 4. its `csrf_token` equal to the session's (constant-time compare); missing or wrong → 403.
 *
 * A refusal is a {@link ConsoleError} (an HTML page) and nothing has been done.
 */
import type { IncomingMessage } from 'node:http';
import { safeEqual } from '../../authorization-server/secrets.js';
import { mediaType, readBody } from '../../core/http.js';
import { ConsoleError, type ConsoleContext } from '../context.js';
import type { ConsoleSession } from '../sessions.js';

/** Largest form read (a tool's arguments typed into its form). */
export const FORM_LIMIT_BYTES = 64 * 1024;

/**
 * The checked form of a POST (see the module comment).
 *
 * @example
 * const form = await readPost(ctx, req, signed?.session);
 * const grantId = form.get('grant_id');
 */
export async function readPost(ctx: ConsoleContext, req: IncomingMessage, session: ConsoleSession | undefined, limit = FORM_LIMIT_BYTES): Promise<URLSearchParams> {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if ((origin !== undefined && origin !== ctx.origin) || (site !== undefined && site !== 'same-origin')) {
    throw forbidden(`cross-origin POST (Origin ${JSON.stringify(String(origin).slice(0, 100))}, Sec-Fetch-Site ${JSON.stringify(String(site).slice(0, 20))})`);
  }
  if (session === undefined) throw forbidden('no console session');
  if (mediaType(req.headers['content-type']) !== 'application/x-www-form-urlencoded') {
    throw new ConsoleError(415, 'Unsupported form', 'The form was sent in an unexpected format.', { detail: `content-type ${JSON.stringify(String(req.headers['content-type']).slice(0, 60))}` });
  }
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch {
    throw new ConsoleError(413, 'Form too large', `The form may hold at most ${Math.floor(limit / 1024)} KiB.`, { detail: 'form over the limit' });
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const tokens = form.getAll('csrf_token');
  if (tokens.length !== 1 || !safeEqual(tokens[0]!, session.csrf)) throw forbidden(tokens.length === 0 ? 'CSRF token missing' : 'CSRF token wrong or repeated');
  return form;
}

function forbidden(detail: string): ConsoleError {
  return new ConsoleError(403, 'This form could not be verified', 'The form was not sent from this console in this browser, or your session changed. Nothing was done.', { detail });
}

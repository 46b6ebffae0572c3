/**
 * MCP requests as the signed-in user, through the gateway's own endpoint (`mcp.ts`): the console keeps one
 * MCP session per console session, initialized on first use. When the gateway answers 404 (the session
 * expired, or an administrator ended it) the console initializes again and retries once; on 401 it
 * refreshes the access token and retries once; a 403 is the gateway's scope check refusing the call before
 * anything reached the backend, and is reported as such.
 */
import { LATEST_PROTOCOL_VERSION } from '../mcp/types.js';
import { accessToken } from './client.js';
import { ConsoleError, type ConsoleContext } from './context.js';
import type { ConsoleSession } from './sessions.js';

/** How long one request may take (a tool call runs on the backend meanwhile). */
const CALL_TIMEOUT_MS = 30_000;
/** How long initializing and ending a session may take. */
const SETUP_TIMEOUT_MS = 10_000;

/** The outcome of one request. */
export type CallOutcome =
  /** The JSON-RPC result. */
  | { readonly kind: 'result'; readonly result: Record<string, unknown> }
  /** The gateway refused before forwarding: the token lacks these scopes (some of them). */
  | { readonly kind: 'refused'; readonly scopes: readonly string[] }
  /** A JSON-RPC error, or no usable answer; `message` is for the page (escaped there). */
  | { readonly kind: 'failed'; readonly message: string };

const initializing = new WeakMap<ConsoleSession, Promise<CallOutcome>>();
let nextId = 1;

/**
 * Sends one request (`tools/list`, `tools/call`, …) as the session's user; resolves with its outcome.
 * Rejects only with the `ConsoleError` of a session that ended (its refresh was refused).
 *
 * @example
 * const outcome = await request(ctx, session, 'tools/call', { name: 'echo', arguments: { text: 'hi' } });
 */
export async function request(ctx: ConsoleContext, session: ConsoleSession, method: string, params: Record<string, unknown>): Promise<CallOutcome> {
  let reinitialized = false;
  let refreshed = false;
  for (;;) {
    if (session.mcp === undefined) {
      const ready = await initialize(ctx, session);
      if (ready.kind !== 'result') return ready;
    }
    const mcp = session.mcp!;
    const id = nextId++;
    let answer;
    try {
      answer = await ctx.mcp.post({ jsonrpc: '2.0', id, method, params }, { token: await accessToken(ctx, session, refreshed), sessionId: mcp.id, protocolVersion: mcp.protocolVersion, timeoutMs: CALL_TIMEOUT_MS });
    } catch (error) {
      return unreachable(ctx, error);
    }
    if (answer.status === 404 && !reinitialized) {
      reinitialized = true;
      session.mcp = undefined;
      continue;
    }
    if (answer.status === 401 && !refreshed) {
      refreshed = true;
      continue;
    }
    if (answer.status === 403) return { kind: 'refused', scopes: challengeScopes(answer.challenge) };
    return outcome(answer.messages.find((message) => message['id'] === id), answer.status);
  }
}

/** Ends the session's MCP session (logout), best effort: the gateway expires it anyway. */
export async function closeMcp(ctx: ConsoleContext, session: ConsoleSession): Promise<void> {
  const mcp = session.mcp;
  session.mcp = undefined;
  if (mcp?.id === undefined) return;
  try {
    await ctx.mcp.delete({ token: session.accessToken, sessionId: mcp.id, protocolVersion: mcp.protocolVersion, timeoutMs: SETUP_TIMEOUT_MS });
  } catch (error) {
    ctx.logger.debug({ reason: (error as Error).message }, 'web console: could not end its MCP session');
  }
}

/** `initialize` then `notifications/initialized` (spec 2025-11-25 lifecycle), once at a time per session. */
function initialize(ctx: ConsoleContext, session: ConsoleSession): Promise<CallOutcome> {
  let pending = initializing.get(session);
  if (pending === undefined) {
    pending = open(ctx, session).finally(() => initializing.delete(session));
    initializing.set(session, pending);
  }
  return pending;
}

async function open(ctx: ConsoleContext, session: ConsoleSession): Promise<CallOutcome> {
  const id = nextId++;
  const params = { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'portcullis-console', version: '0.1.0' } };
  try {
    const token = await accessToken(ctx, session);
    const answer = await ctx.mcp.post({ jsonrpc: '2.0', id, method: 'initialize', params }, { token, timeoutMs: SETUP_TIMEOUT_MS });
    if (answer.status === 403) return { kind: 'refused', scopes: challengeScopes(answer.challenge) };
    const result = outcome(answer.messages.find((message) => message['id'] === id), answer.status);
    if (result.kind !== 'result') return result;
    const version = typeof result.result['protocolVersion'] === 'string' ? result.result['protocolVersion'] : LATEST_PROTOCOL_VERSION;
    const mcp = { id: answer.sessionId, protocolVersion: version };
    const initialized = await ctx.mcp.post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { token, sessionId: mcp.id, protocolVersion: version, timeoutMs: SETUP_TIMEOUT_MS });
    if (initialized.status >= 300) return { kind: 'failed', message: `The MCP server refused the session (HTTP ${initialized.status}).` };
    session.mcp = mcp;
    return result;
  } catch (error) {
    return unreachable(ctx, error);
  }
}

/** The outcome a JSON-RPC response (or its absence) stands for. */
function outcome(message: Record<string, unknown> | undefined, status: number): CallOutcome {
  const result = message?.['result'];
  if (typeof result === 'object' && result !== null && !Array.isArray(result)) return { kind: 'result', result: result as Record<string, unknown> };
  const error = message?.['error'];
  if (typeof error === 'object' && error !== null && typeof (error as Record<string, unknown>)['message'] === 'string') {
    return { kind: 'failed', message: String((error as Record<string, unknown>)['message']).slice(0, 2000) };
  }
  return { kind: 'failed', message: `The gateway gave no answer to this request (HTTP ${status}).` };
}

/** A transport failure as an outcome; a session that ended (its refresh refused) stays an error. */
function unreachable(ctx: ConsoleContext, error: unknown): CallOutcome {
  if (error instanceof ConsoleError) throw error;
  ctx.logger.warn({ reason: (error as Error).message }, 'web console: its MCP request failed');
  return { kind: 'failed', message: 'The gateway did not answer in time.' };
}

/** The `scope` of a `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` challenge. */
function challengeScopes(challenge: string | undefined): string[] {
  const match = challenge === undefined ? null : /(?:^|[\s,])scope="([^"]*)"/.exec(challenge);
  return match ? match[1]!.split(' ').filter((scope) => scope !== '') : [];
}

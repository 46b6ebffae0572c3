import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from './core/auth.js';
import { HttpError, JsonRpcCode, JsonRpcError } from './core/errors.js';
import { mediaType, readBody, sendJson } from './core/http.js';
import type { RequestLog } from './core/log.js';
import type { CallToolResult, ReadResourceResult, Resource } from './mcp/types.js';

/** The transport-free operations of the MCP core that the REST conveniences call (same scope checks). */
export interface RestEndpoint {
  listTools(auth: AuthInfo): unknown[];
  callTool(name: string, args: unknown, auth: AuthInfo, signal?: AbortSignal): Promise<CallToolResult>;
  listResources(auth: AuthInfo): Promise<Resource[]>;
  readResource(uri: string, auth: AuthInfo): Promise<ReadResourceResult>;
  listPrompts(auth: AuthInfo): unknown[];
}

const REST_BODY_LIMIT = 1024 * 1024;

/**
 * The REST conveniences of ARCHITECTURE §5, below the MCP path: `GET tools`, `POST tools/call`
 * (`{"name","arguments"}`), `GET|POST tools/call/{name}`, `GET resources`, `POST resources/read` (`{"uri"}`),
 * `GET prompts`. Authentication has already happened; scopes are checked by the MCP core exactly as for
 * JSON-RPC, so a missing scope is the same 403 step-up.
 *
 * For `GET tools/call/{name}` each query parameter is one argument; a value that parses as JSON (a number,
 * `true`, an object) is passed parsed, anything else as a string.
 */
export async function handleRest(
  mcp: RestEndpoint,
  route: string,
  url: string,
  req: IncomingMessage,
  res: ServerResponse,
  auth: AuthInfo,
  log: RequestLog,
): Promise<void> {
  const method = req.method ?? 'GET';
  log.method = `rest ${method} ${route.startsWith('tools/call/') ? 'tools/call/{name}' : route}`;
  const ok = (body: unknown): void => sendJson(res, 200, body, { 'cache-control': 'no-store' });
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  try {
    if (route === 'tools' && method === 'GET') return ok({ tools: mcp.listTools(auth) });
    if (route === 'resources' && method === 'GET') return ok({ resources: await mcp.listResources(auth) });
    if (route === 'prompts' && method === 'GET') return ok({ prompts: mcp.listPrompts(auth) });
    if (route === 'resources/read' && method === 'POST') {
      const { uri } = await jsonObject(req);
      if (typeof uri !== 'string' || uri === '') throw new HttpError(400, 'invalid_request', 'The body must be {"uri": "<resource uri>"}');
      log.target = uri;
      return ok(await mcp.readResource(uri, auth));
    }
    if (route === 'tools/call' && method === 'POST') {
      const body = await jsonObject(req);
      if (typeof body.name !== 'string' || body.name === '') throw new HttpError(400, 'invalid_request', 'The body must be {"name": "<tool>", "arguments": {…}}');
      log.target = body.name;
      return ok(await mcp.callTool(body.name, body.arguments ?? {}, auth, controller.signal));
    }
    if (route.startsWith('tools/call/') && (method === 'GET' || method === 'POST')) {
      const name = decodeURIComponent(route.slice('tools/call/'.length));
      log.target = name;
      const args = method === 'GET' ? queryArguments(url) : await jsonObject(req);
      return ok(await mcp.callTool(name, args, auth, controller.signal));
    }
  } catch (error) {
    if (error instanceof JsonRpcError) throw asHttpError(error);
    throw error;
  }
  throw new HttpError(404, 'not_found', 'No such REST endpoint (see GET tools, POST tools/call, GET resources, POST resources/read, GET prompts)');
}

async function jsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (mediaType(req.headers['content-type']) !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'Send the body as application/json');
  }
  const raw = await readBody(req, REST_BODY_LIMIT);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_request', 'The body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'invalid_request', 'The body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Argument names that carry secrets: a URL ends up in proxy logs and browser history (RFC 9700 §4.3.2 in spirit). */
const SECRET_ARGUMENTS = new Set(['token', 'access_token', 'refresh_token', 'id_token', 'client_secret', 'password', 'secret']);

function queryArguments(url: string): Record<string, unknown> {
  const q = url.indexOf('?');
  const args: Record<string, unknown> = {};
  if (q === -1) return args;
  for (const [key, value] of new URLSearchParams(url.slice(q + 1))) {
    if (SECRET_ARGUMENTS.has(key.toLowerCase())) {
      throw new HttpError(400, 'invalid_request', `Send "${key}" in a POST body, never in a URL`);
    }
    try {
      args[key] = JSON.parse(value);
    } catch {
      args[key] = value;
    }
  }
  return args;
}

function asHttpError(error: JsonRpcError): HttpError {
  switch (error.code) {
    case JsonRpcCode.InvalidParams:
      return new HttpError(400, 'invalid_params', error.message);
    case JsonRpcCode.MethodNotFound:
    case JsonRpcCode.ResourceNotFound:
      return new HttpError(404, 'not_found', error.message);
    default:
      return new HttpError(500, 'server_error', 'The operation failed');
  }
}

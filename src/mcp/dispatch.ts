/**
 * The MCP methods a client may call once a session exists (spec 2025-11-25: server/tools,
 * server/resources, server/prompts, server/utilities/{logging,completion}, basic/utilities/ping).
 * Each handler checks its own params and returns the result (a value or a promise); a JsonRpcError it
 * throws is the response. Scopes are checked again here (the transport checked them before anything ran),
 * so the transport-free operations share one rule.
 */
import type { AuthInfo } from '../core/auth.js';
import { insufficientScope, JsonRpcCode, JsonRpcError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { hasScopes, type Catalog } from './catalog.js';
import type { ContextSettings, RequestContext } from './context.js';
import type { StreamSettings } from './exchange.js';
import type { Params } from './jsonrpc.js';
import type { Completer } from './registry.js';
import { checkArguments } from './schemas.js';
import type { Session, SessionStore } from './session.js';
import { LOGGING_LEVELS, type CallToolResult, type LoggingLevel, type Resource } from './types.js';

/** What the handlers share: the server's state and settings. */
export interface Core extends ContextSettings, StreamSettings {
  readonly catalog: Catalog;
  readonly sessions: SessionStore;
  readonly logger: Logger;
}

type Handler = (core: Core, params: Params, ctx: RequestContext, session: Session | undefined) => unknown;

const EMPTY = Object.freeze({});
/** Subscriptions one session may hold. */
const MAX_SUBSCRIPTIONS = 1_000;
/** Values one `completion/complete` result may carry (spec: at most 100). */
const MAX_COMPLETIONS = 100;

function invalidParams(message: string): JsonRpcError {
  return new JsonRpcError(JsonRpcCode.InvalidParams, message);
}

function requireString(params: Params, key: string, method: string): string {
  const value = params[key];
  if (typeof value !== 'string') throw invalidParams(`${method} needs a string "${key}"`);
  return value;
}

function requireScopes(auth: AuthInfo, scopes: readonly string[] | undefined): void {
  if (!hasScopes(auth.scopes, scopes)) throw insufficientScope(scopes ?? []);
}

/** Lists are small and returned whole; a cursor is one this server never issued (spec: -32602). */
function noCursor(params: Params): void {
  if (params['cursor'] !== undefined) throw invalidParams('Invalid cursor');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `tools/call`, also the REST call. */
export function callTool(core: Core, params: Params, ctx: RequestContext): CallToolResult | Promise<CallToolResult> {
  const name = requireString(params, 'name', 'tools/call');
  const tool = core.catalog.tool(name);
  if (tool === undefined) throw invalidParams('Unknown tool');
  requireScopes(ctx.auth, tool.def.scopes);
  const args = params['arguments'] ?? {};
  if (!isPlainObject(args)) throw invalidParams('tools/call "arguments" must be an object');
  const checked = checkArguments(tool.def.name, tool.schema, args);
  if (!checked.ok) return { content: [{ type: 'text', text: checked.message }], isError: true };
  return tool.def.run(checked.value, ctx);
}

export async function readResource(core: Core, params: Params, ctx: RequestContext): Promise<{ contents: unknown[] }> {
  const uri = requireString(params, 'uri', 'resources/read');
  const match = core.catalog.findResource(uri);
  if (match === undefined) throw new JsonRpcError(JsonRpcCode.ResourceNotFound, 'Resource not found', { uri });
  requireScopes(ctx.auth, match.def.scopes);
  const contents = match.kind === 'fixed' ? await match.def.read(ctx) : await match.def.read(uri, match.variables, ctx);
  if (contents === undefined) throw new JsonRpcError(JsonRpcCode.ResourceNotFound, 'Resource not found', { uri });
  return { contents: [...contents] };
}

/**
 * `resources/list`: the fixed resources (metadata, like tools: listed whatever the token), and the
 * concrete resources of templates that list them, only for callers holding the template's scopes (those
 * entries come from the app's data).
 */
export async function listResources(core: Core, params: Params, ctx: RequestContext): Promise<{ resources: Resource[] }> {
  noCursor(params);
  const resources = [...core.catalog.fixedResources()];
  for (const template of core.catalog.templateDefinitions()) {
    if (template.list === undefined || !hasScopes(ctx.auth.scopes, template.scopes)) continue;
    resources.push(...(await template.list(ctx)));
  }
  return { resources };
}

function subscribe(core: Core, params: Params, ctx: RequestContext, session: Session | undefined): object {
  const uri = requireString(params, 'uri', 'resources/subscribe');
  const match = core.catalog.findResource(uri);
  if (match === undefined) throw new JsonRpcError(JsonRpcCode.ResourceNotFound, 'Resource not found', { uri });
  requireScopes(ctx.auth, match.def.scopes);
  if (session === undefined) throw new JsonRpcError(JsonRpcCode.InvalidRequest, 'resources/subscribe needs a session');
  if ((session.subscriptions?.size ?? 0) >= MAX_SUBSCRIPTIONS) throw new JsonRpcError(JsonRpcCode.InvalidRequest, 'Too many subscriptions');
  core.sessions.subscribe(session, uri);
  return EMPTY;
}

function unsubscribe(core: Core, params: Params, _ctx: RequestContext, session: Session | undefined): object {
  const uri = requireString(params, 'uri', 'resources/unsubscribe');
  if (session !== undefined) core.sessions.unsubscribe(session, uri);
  return EMPTY;
}

function getPrompt(core: Core, params: Params, ctx: RequestContext): unknown {
  const name = requireString(params, 'name', 'prompts/get');
  const prompt = core.catalog.prompt(name);
  if (prompt === undefined) throw invalidParams('Unknown prompt');
  requireScopes(ctx.auth, prompt.scopes);
  const args = params['arguments'] ?? {};
  if (!isPlainObject(args) || !Object.values(args).every((v) => typeof v === 'string')) throw invalidParams('prompts/get "arguments" must map names to strings');
  for (const argument of prompt.arguments ?? []) {
    if (argument.required === true && args[argument.name] === undefined) throw invalidParams(`Missing required argument: ${argument.name}`);
  }
  return prompt.get(args as Record<string, string>, ctx);
}

function setLevel(core: Core, params: Params, _ctx: RequestContext, session: Session | undefined): object | Promise<object> {
  const index = LOGGING_LEVELS.indexOf(params['level'] as LoggingLevel);
  if (index === -1) throw invalidParams(`logging/setLevel "level" must be one of ${LOGGING_LEVELS.join(', ')}`);
  const saved = session === undefined ? undefined : core.sessions.setLogLevel(session, index);
  return saved === undefined ? EMPTY : saved.then(() => EMPTY);
}

async function complete(core: Core, params: Params, ctx: RequestContext): Promise<object> {
  const ref = params['ref'];
  const argument = params['argument'];
  if (!isPlainObject(ref) || !isPlainObject(argument) || typeof argument['name'] !== 'string' || typeof argument['value'] !== 'string') {
    throw invalidParams('completion/complete needs "ref" and an "argument" with a string name and value');
  }
  let item: { scopes?: readonly string[]; complete?: Readonly<Record<string, Completer>> } | undefined;
  if (ref['type'] === 'ref/prompt' && typeof ref['name'] === 'string') item = core.catalog.prompt(ref['name']);
  else if (ref['type'] === 'ref/resource' && typeof ref['uri'] === 'string') item = core.catalog.template(ref['uri']);
  else throw invalidParams('completion/complete "ref" must be a ref/prompt with a name or a ref/resource with a uri');
  if (item === undefined) throw invalidParams('Unknown completion reference');
  requireScopes(ctx.auth, item.scopes);
  const completers = item.complete;
  const completer = completers !== undefined && Object.hasOwn(completers, argument['name']) ? completers[argument['name']] : undefined;
  if (completer === undefined) return { completion: { values: [], total: 0, hasMore: false } };
  const context = params['context'];
  const given: Record<string, string> = {};
  if (isPlainObject(context) && isPlainObject(context['arguments'])) {
    for (const [name, value] of Object.entries(context['arguments'])) if (typeof value === 'string') given[name] = value;
  }
  const values = await completer(argument['value'], { arguments: given, auth: ctx.auth });
  return { completion: { values: values.slice(0, MAX_COMPLETIONS), total: values.length, hasMore: values.length > MAX_COMPLETIONS } };
}

const handlers: Readonly<Record<string, Handler>> = {
  ping: () => EMPTY,
  'tools/list': (core, params) => (noCursor(params), core.catalog.toolsResult()),
  'tools/call': callTool,
  'resources/list': listResources,
  'resources/templates/list': (core, params) => (noCursor(params), core.catalog.templatesResult()),
  'resources/read': readResource,
  'resources/subscribe': subscribe,
  'resources/unsubscribe': unsubscribe,
  'prompts/list': (core, params) => (noCursor(params), core.catalog.promptsResult()),
  'prompts/get': getPrompt,
  'logging/setLevel': setLevel,
  'completion/complete': complete,
};

/** Runs one request's method; throws -32601 for a method this server does not offer. */
export function dispatch(core: Core, method: string, params: Params | undefined, ctx: RequestContext, session: Session | undefined): unknown {
  const handler = Object.hasOwn(handlers, method) ? handlers[method] : undefined;
  if (handler === undefined) throw new JsonRpcError(JsonRpcCode.MethodNotFound, 'Method not found');
  return handler(core, params ?? EMPTY, ctx, session);
}

/**
 * The tools page (`GET /tools`) and its forms (`POST /tools/call`): the backend's tools as `tools/list`
 * through the gateway shows them to the signed-in user, and a call with the arguments typed into the
 * tool's form. Both go through the gateway's MCP endpoint as that user (`calls.ts`), so the per-tool
 * scopes apply as for any MCP client: a call the user's scopes do not allow is refused by the gateway and
 * never reaches the backend; the page says so.
 */
import { SCOPES_META_KEY } from '../mcp/types.js';
import { request } from './calls.js';
import { ConsoleError, type ConsoleContext, type Handler } from './context.js';
import { requireSignedIn, type SignedIn } from './current.js';
import { readPost } from './lib/post.js';
import { sendPage } from './lib/respond.js';
import { argumentsFrom, formFor } from './lib/schema-form.js';
import { callPage, toolsPage, type ListedTool } from './pages/tools.js';

/** Pages of `tools/list` followed at most (a cursor loop cannot hold the page). */
const MAX_PAGES = 20;

/** `GET /tools`. */
export const toolsList: Handler = async (ctx, req, res) => {
  const current = await requireSignedIn(ctx, req);
  const listed = await listTools(ctx, current);
  const page = 'failure' in listed ? toolsPage({ ...pageBase(ctx, current), failure: listed.failure }) : toolsPage({ ...pageBase(ctx, current), tools: listed.tools });
  sendPage(res, 200, page);
};

/** `POST /tools/call`: `tool`, the fields of its form, `csrf_token`. */
export const toolsCall: Handler = async (ctx, req, res) => {
  const current = await requireSignedIn(ctx, req);
  const form = await readPost(ctx, req, current.session);
  const names = form.getAll('tool');
  if (names.length !== 1 || names[0] === '') throw new ConsoleError(400, 'Invalid form', 'The form did not say which tool to call.', { detail: 'tool field missing or repeated' });
  const name = names[0]!;
  // The tool's schema, as the user may see it now, types the form's fields.
  const listed = await listTools(ctx, current);
  if ('failure' in listed) return sendPage(res, 502, toolsPage({ ...pageBase(ctx, current), failure: listed.failure }));
  const tool = listed.tools.find((candidate) => candidate.name === name);
  if (tool === undefined) throw new ConsoleError(404, 'No such tool', 'The MCP server does not offer this tool (any more).', { detail: 'tool not listed' });

  const parsed = argumentsFrom(formFor(tool.inputSchema), form);
  if (!parsed.ok) return sendPage(res, 400, callPage({ ...pageBase(ctx, current), tool, values: form, outcome: { kind: 'invalid', problems: parsed.problems } }));
  const outcome = await request(ctx, current.session, 'tools/call', { name, arguments: parsed.arguments });
  ctx.logger.info({ user: current.user.id, tool: name, outcome: outcome.kind }, 'web console: tool called');
  // The page renders either way; a refusal is the gateway's 403, passed on.
  const status = outcome.kind === 'refused' ? 403 : 200;
  sendPage(res, status, callPage({ ...pageBase(ctx, current), tool, values: form, outcome }));
};

function pageBase(ctx: ConsoleContext, current: SignedIn): { base: string; viewer: SignedIn['viewer']; held: readonly string[] } {
  return { base: ctx.base, viewer: current.viewer, held: current.session.scopes };
}

/** Every tool, following `nextCursor`; or why they cannot be listed. */
async function listTools(ctx: ConsoleContext, current: SignedIn): Promise<{ tools: ListedTool[] } | { failure: string }> {
  const tools: ListedTool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const outcome = await request(ctx, current.session, 'tools/list', cursor === undefined ? {} : { cursor });
    if (outcome.kind === 'refused') return { failure: 'The gateway refused to list the tools: your sign-in lacks a scope every request needs.' };
    if (outcome.kind === 'failed') return { failure: `The tools could not be listed: ${outcome.message}` };
    const listed = outcome.result['tools'];
    if (Array.isArray(listed)) for (const tool of listed) if (isTool(tool)) tools.push(toListed(tool));
    const next = outcome.result['nextCursor'];
    if (typeof next !== 'string' || next === '') return { tools };
    cursor = next;
  }
  return { tools };
}

/** A tool with a name is shown; the other fields are optional and checked one by one. */
function isTool(value: unknown): value is Record<string, unknown> & { name: string } {
  return isObject(value) && typeof value['name'] === 'string' && value['name'] !== '';
}

function toListed(tool: Record<string, unknown> & { name: string }): ListedTool {
  const meta = isObject(tool['_meta']) ? tool['_meta'] : {};
  const scopes = Array.isArray(meta[SCOPES_META_KEY]) ? (meta[SCOPES_META_KEY] as unknown[]).filter((scope): scope is string => typeof scope === 'string') : [];
  return {
    name: tool.name,
    title: typeof tool['title'] === 'string' ? tool['title'] : undefined,
    description: typeof tool['description'] === 'string' ? tool['description'] : undefined,
    inputSchema: tool['inputSchema'],
    scopes,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

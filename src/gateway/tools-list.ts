/**
 * `tools/list` through the gateway lists every backend tool, each with the scopes a call needs in
 * `_meta["dev.portcullis/scopes"]`, as `serve` lists its own (README, "tools/list shows every tool"): a
 * client cannot step up to a tool it was never shown, and the 403 before forwarding is the enforcement.
 * The gateway's value replaces any the backend put under that key; the rest of each tool's `_meta` stays.
 */
import type { RequestId } from '../mcp/jsonrpc.js';
import { SCOPES_META_KEY } from '../mcp/types.js';
import type { ToolScopes } from './tool-scopes.js';

/**
 * Annotates, in place, the `tools/list` results among parsed JSON-RPC messages (one message or a batch):
 * those that answer a request id in `ids`, which are removed from it. Returns whether anything changed.
 *
 * @example
 * const ids = new Set([3]);
 * annotateToolsLists({ jsonrpc: '2.0', id: 3, result: { tools: [{ name: 'echo', inputSchema: {} }] } }, ids, policy); // true
 */
export function annotateToolsLists(value: unknown, ids: Set<RequestId>, policy: ToolScopes): boolean {
  if (Array.isArray(value)) {
    let changed = false;
    for (const message of value) changed = annotateOne(message, ids, policy) || changed;
    return changed;
  }
  return annotateOne(value, ids, policy);
}

/** The ids of the responses among parsed messages (one or a batch). */
export function responseIds(value: unknown): RequestId[] {
  const messages = Array.isArray(value) ? value : [value];
  const ids: RequestId[] = [];
  for (const message of messages) {
    if (!isObject(message) || 'method' in message) continue;
    const id = message['id'];
    if (typeof id === 'string' || typeof id === 'number') ids.push(id);
  }
  return ids;
}

function annotateOne(message: unknown, ids: Set<RequestId>, policy: ToolScopes): boolean {
  if (!isObject(message) || 'method' in message) return false;
  const id = message['id'];
  if ((typeof id !== 'string' && typeof id !== 'number') || !ids.delete(id)) return false;
  const result = message['result'];
  if (!isObject(result) || !Array.isArray(result['tools'])) return false;
  for (const tool of result['tools']) {
    if (!isObject(tool) || typeof tool['name'] !== 'string') continue;
    const meta = isObject(tool['_meta']) ? tool['_meta'] : {};
    tool['_meta'] = { ...meta, [SCOPES_META_KEY]: policy.scopesFor(tool['name']) };
  }
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

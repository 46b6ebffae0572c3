/**
 * The small tools the reference MCP designs ship beside their app: who am I, what time is it, add two
 * numbers. They need a valid token but no scope, which makes them the natural first call of a new client.
 */
import { z } from 'zod';
import type { ToolDefinition } from '../../mcp/registry.js';
import { userInfoOutput } from './schemas.js';

const noInput = z.object({});
const addInput = z.object({
  a: z.number().describe('First addend'),
  b: z.number().describe('Second addend'),
});

/**
 * `get_user_info`: the verified caller as the server sees it — subject, client, granted scopes, and when
 * the token expires (ISO time and seconds left). Never the token itself.
 *
 * @example
 * registry.tool(userInfoTool(() => new Date()));
 * // → "alice via claude-desktop; scopes: incidents:read; token expires 2025-06-01T10:00:00.000Z (in 3540 s)"
 */
export function userInfoTool(now: () => Date): ToolDefinition<typeof noInput> {
  return {
    name: 'get_user_info',
    title: 'Who am I',
    description: 'Shows who the server thinks you are: token subject, OAuth client, granted scopes and token expiry.',
    input: noInput,
    output: userInfoOutput,
    annotations: { title: 'Who am I', readOnlyHint: true, openWorldHint: false },
    run(_args, { auth }) {
      const expiresInSeconds = Math.max(0, Math.floor(auth.expiresAt - now().getTime() / 1000));
      const info = {
        subject: auth.subject,
        clientId: auth.clientId,
        scopes: [...auth.scopes],
        expiresAt: new Date(auth.expiresAt * 1000).toISOString(),
        expiresInSeconds,
      };
      const scopes = info.scopes.length > 0 ? info.scopes.join(' ') : '(none)';
      return {
        content: [{ type: 'text', text: `${info.subject} via ${info.clientId}; scopes: ${scopes}; token expires ${info.expiresAt} (in ${expiresInSeconds} s)` }],
        structuredContent: info,
      };
    },
  };
}

/**
 * `get_current_time`: the server's clock as an ISO 8601 UTC time.
 *
 * @example
 * registry.tool(currentTimeTool(() => new Date())); // → "2025-06-01T09:00:00.000Z"
 */
export function currentTimeTool(now: () => Date): ToolDefinition<typeof noInput> {
  return {
    name: 'get_current_time',
    title: 'Current time',
    description: "Returns the server's current time as an ISO 8601 UTC timestamp.",
    input: noInput,
    annotations: { title: 'Current time', readOnlyHint: true, openWorldHint: false },
    run() {
      return { content: [{ type: 'text', text: now().toISOString() }] };
    },
  };
}

/**
 * `add`: the sum of two numbers, as text.
 *
 * @example
 * registry.tool(addTool()); // tools/call add {"a":2,"b":3} → "5"
 */
export function addTool(): ToolDefinition<typeof addInput> {
  return {
    name: 'add',
    title: 'Add two numbers',
    description: 'Adds two numbers and returns the sum.',
    input: addInput,
    annotations: { title: 'Add two numbers', readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    run({ a, b }) {
      return { content: [{ type: 'text', text: String(a + b) }] };
    },
  };
}

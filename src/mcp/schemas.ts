/**
 * Tool schemas: the JSON Schema `tools/list` shows (generated once per tool from its zod `input` with
 * `z.toJSONSchema`, or a raw `{ jsonSchema }` passed through untouched) and argument validation for
 * `tools/call`.
 */
import { z } from 'zod';
import type { ToolDefinition } from './registry.js';
import { SCOPES_META_KEY, type Tool } from './types.js';

type ToolInput = ToolDefinition['input'];

/** A zod object (validated) rather than a raw `{ jsonSchema }` (passed through). */
export function isZodInput(input: ToolInput): input is z.ZodObject {
  return typeof (input as { safeParse?: unknown }).safeParse === 'function';
}

/**
 * The JSON Schema of a tool's input. `io: 'input'` describes what a caller may send (fields with
 * defaults are optional, unknown keys are not forbidden, since zod strips them rather than refusing).
 */
export function inputJsonSchema(input: ToolInput): Record<string, unknown> {
  if (!isZodInput(input)) return input.jsonSchema;
  return z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

/**
 * The `tools/list` entry of a tool.
 *
 * `_meta["dev.portcullis/scopes"]` lists the scopes the tool needs. Every tool is listed, including the
 * ones the caller's token cannot call yet: a client that sees the scope can ask the user to step up
 * (re-authorize with more scopes) before calling, and hiding tools would make the list differ per token,
 * which clients cache per server. Listing is not permission: `tools/call` enforces the scopes with a 403
 * `insufficient_scope` before the tool runs.
 */
export function toolDescriptor(def: ToolDefinition): Tool {
  const tool: Record<string, unknown> = { name: def.name };
  if (def.title !== undefined) tool['title'] = def.title;
  tool['description'] = def.description;
  tool['inputSchema'] = inputJsonSchema(def.input);
  if (def.output !== undefined) tool['outputSchema'] = z.toJSONSchema(def.output, { io: 'output', unrepresentable: 'any' });
  if (def.annotations !== undefined) tool['annotations'] = def.annotations;
  tool['_meta'] = { [SCOPES_META_KEY]: def.scopes ?? [] };
  return tool as Tool;
}

export type ArgumentCheck = { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

/**
 * Validates `tools/call` arguments against a zod input. A failure is reported to the model as a tool
 * result with `isError: true` (spec 2025-11-25, SEP-1303), so the message names each field and what was
 * wrong with it, never the value that was sent.
 */
export function checkArguments(toolName: string, schema: z.ZodObject | undefined, args: Record<string, unknown>): ArgumentCheck {
  if (schema === undefined) return { ok: true, value: args };
  const parsed = schema.safeParse(args);
  if (parsed.success) return { ok: true, value: parsed.data as Record<string, unknown> };
  const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(arguments)'}: ${issue.message}`);
  return { ok: false, message: `Invalid arguments for tool ${toolName}: ${problems.join('; ')}` };
}

import type { CallToolResult } from '../../../mcp/types.js';

/** A successful result: `text` for the model and for clients without structured output, and `structuredContent`. */
export function structuredResult(text: string, structuredContent: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent };
}

/** A tool error the model can read (`isError: true`, spec 2025-11-25 "Error Handling"): not a protocol error. */
export function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** Pretty JSON for a text block. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

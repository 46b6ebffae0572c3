/**
 * MCP protocol types, derived from the official SDK's schemas so they follow the specification
 * (type-only: nothing from the SDK runs on the hot path).
 */
import type { z } from 'zod';
import type {
  CallToolResultSchema,
  GetPromptResultSchema,
  LoggingLevelSchema,
  ReadResourceResultSchema,
  ResourceSchema,
  TextResourceContentsSchema,
  BlobResourceContentsSchema,
  ToolAnnotationsSchema,
  ToolSchema,
  PromptSchema,
  ResourceTemplateSchema,
  CompleteResultSchema,
  ServerCapabilitiesSchema,
  InitializeResultSchema,
} from '@modelcontextprotocol/core';

export type CallToolResult = z.infer<typeof CallToolResultSchema>;
export type GetPromptResult = z.infer<typeof GetPromptResultSchema>;
export type ReadResourceResult = z.infer<typeof ReadResourceResultSchema>;
export type ResourceContents = z.infer<typeof TextResourceContentsSchema> | z.infer<typeof BlobResourceContentsSchema>;
export type Resource = z.infer<typeof ResourceSchema>;
export type ToolAnnotations = z.infer<typeof ToolAnnotationsSchema>;
export type LoggingLevel = z.infer<typeof LoggingLevelSchema>;
export type Tool = z.infer<typeof ToolSchema>;
export type Prompt = z.infer<typeof PromptSchema>;
export type ResourceTemplate = z.infer<typeof ResourceTemplateSchema>;
export type CompleteResult = z.infer<typeof CompleteResultSchema>;
export type ServerCapabilities = z.infer<typeof ServerCapabilitiesSchema>;
export type InitializeResult = z.infer<typeof InitializeResultSchema>;

/** `_meta` key under which `tools/list` (and the other lists) show the scopes an item needs. */
export const SCOPES_META_KEY = 'dev.portcullis/scopes';

/** Logging levels in increasing severity (RFC 5424 order, as MCP uses them). */
export const LOGGING_LEVELS: readonly LoggingLevel[] = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** Protocol versions this server speaks, newest first. */
export const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];
export const LATEST_PROTOCOL_VERSION: ProtocolVersion = '2025-11-25';

import { z } from 'zod';
import type { AuthInfo } from '../core/auth.js';
import type { CallToolResult, GetPromptResult, LoggingLevel, Resource, ResourceContents, ToolAnnotations } from './types.js';

/**
 * What a tool, resource or prompt handler may do while it runs. Everything is scoped to the request
 * that is being answered: notifications go out on that request's stream.
 */
export interface CallContext {
  /** The verified caller. */
  readonly auth: AuthInfo;
  /** The MCP session, when the client has one. */
  readonly sessionId: string | undefined;
  /** Aborted when the client cancels the request (`notifications/cancelled`) or goes away. */
  readonly signal: AbortSignal;
  /** Sends `notifications/progress` when the caller asked for progress (`_meta.progressToken`); a no-op otherwise. */
  progress(progress: number, total?: number, message?: string): Promise<void>;
  /** Sends `notifications/message` when `level` passes the session's `logging/setLevel` threshold. */
  log(level: LoggingLevel, data: unknown, logger?: string): Promise<void>;
  /**
   * Sends a server-to-client request (`sampling/createMessage`, `elicitation/create`, `roots/list`) on this
   * request's stream and resolves with the client's result (rejects with its JSON-RPC error).
   */
  request(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * Ends this request's HTTP connection without ending its SSE stream (spec 2025-11-25 transports,
   * "polling", SEP-1699): the client reconnects with `Last-Event-ID` and receives what follows. Optional
   * so that hand-made contexts in app tests need not provide it; the MCP core always does (a no-op where
   * there is no stream, e.g. the REST endpoints).
   */
  closeStream?(): void;
}

/** A completion source for one argument: returns candidate values for what the user typed so far. */
export type Completer = (value: string, context: { arguments: Record<string, string>; auth: AuthInfo }) => readonly string[] | Promise<readonly string[]>;

/**
 * A tool. `input` is a zod object (validated, and turned into the JSON Schema that `tools/list` shows) or,
 * for a schema zod cannot express, a raw JSON Schema object (then the handler receives the arguments as sent).
 */
export interface ToolDefinition<Input extends z.ZodObject = z.ZodObject> {
  readonly name: string;
  readonly title?: string;
  readonly description: string;
  readonly input: Input | { readonly jsonSchema: Record<string, unknown> };
  readonly output?: z.ZodObject;
  readonly annotations?: ToolAnnotations;
  /** Scopes the caller's token must all hold; checked before the tool runs (403 `insufficient_scope`). */
  readonly scopes?: readonly string[];
  run(args: z.infer<Input>, ctx: CallContext): CallToolResult | Promise<CallToolResult>;
}

/** A fixed resource. */
export interface ResourceDefinition {
  readonly uri: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
  readonly scopes?: readonly string[];
  read(ctx: CallContext): readonly ResourceContents[] | Promise<readonly ResourceContents[]>;
}

/** A family of resources addressed by an RFC 6570 level-1 URI template such as `incidents://{id}`. */
export interface ResourceTemplateDefinition {
  readonly uriTemplate: string;
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly mimeType?: string;
  readonly scopes?: readonly string[];
  /** Completion sources per template variable (`completion/complete` with `ref/resource`). */
  readonly complete?: Readonly<Record<string, Completer>>;
  /** Concrete resources of this template to include in `resources/list` (optional). */
  list?(ctx: CallContext): readonly Resource[] | Promise<readonly Resource[]>;
  /** Reads one resource; `variables` holds the template's values decoded from the URI. Returns undefined when there is no such resource. */
  read(uri: string, variables: Record<string, string>, ctx: CallContext): readonly ResourceContents[] | undefined | Promise<readonly ResourceContents[] | undefined>;
}

export interface PromptArgument {
  readonly name: string;
  readonly description?: string;
  readonly required?: boolean;
}

/** A prompt. Arguments are strings (MCP prompts take string arguments only). */
export interface PromptDefinition {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly arguments?: readonly PromptArgument[];
  readonly scopes?: readonly string[];
  readonly complete?: Readonly<Record<string, Completer>>;
  get(args: Record<string, string>, ctx: CallContext): GetPromptResult | Promise<GetPromptResult>;
}

/**
 * The tools, resources and prompts a server offers. Apps register into it; the MCP core serves it.
 *
 * @example
 * const registry = new Registry();
 * registry.tool({ name: 'add', description: 'Adds two numbers', input: z.object({ a: z.number(), b: z.number() }),
 *   run: ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }) });
 */
export class Registry {
  readonly tools = new Map<string, ToolDefinition>();
  readonly resources = new Map<string, ResourceDefinition>();
  readonly templates = new Map<string, ResourceTemplateDefinition>();
  readonly prompts = new Map<string, PromptDefinition>();
  /** Incremented on every registration, so servers can cache what they derive from the registry. */
  revision = 0;

  tool<Input extends z.ZodObject>(definition: ToolDefinition<Input>): this {
    addUnique(this.tools, definition.name, definition as unknown as ToolDefinition, 'tool');
    this.revision++;
    return this;
  }

  resource(definition: ResourceDefinition): this {
    addUnique(this.resources, definition.uri, definition, 'resource');
    this.revision++;
    return this;
  }

  resourceTemplate(definition: ResourceTemplateDefinition): this {
    addUnique(this.templates, definition.uriTemplate, definition, 'resource template');
    this.revision++;
    return this;
  }

  prompt(definition: PromptDefinition): this {
    addUnique(this.prompts, definition.name, definition, 'prompt');
    this.revision++;
    return this;
  }

  /** Every scope any registered item asks for, sorted (for `scopes_supported`). */
  scopes(): string[] {
    const all = new Set<string>();
    for (const items of [this.tools, this.resources, this.templates, this.prompts] as Map<string, { scopes?: readonly string[] }>[]) {
      for (const item of items.values()) for (const scope of item.scopes ?? []) all.add(scope);
    }
    return [...all].sort();
  }
}

function addUnique<T>(map: Map<string, T>, key: string, value: T, kind: string): void {
  if (map.has(key)) throw new Error(`The ${kind} "${key}" is registered twice`);
  map.set(key, value);
}

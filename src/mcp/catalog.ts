/**
 * What the MCP core derives from the registry, computed once per registry revision: tool descriptors
 * and their JSON Schemas, the serialised static lists (`tools/list`, `prompts/list`,
 * `resources/templates/list`), compiled URI templates, and the scope lookup used before anything runs.
 */
import type { z } from 'zod';
import { insufficientScope } from '../core/errors.js';
import type { RequestLog } from '../core/log.js';
import type { PromptDefinition, Registry, ResourceDefinition, ResourceTemplateDefinition, ToolDefinition } from './registry.js';
import { isZodInput, toolDescriptor } from './schemas.js';
import { RawJson, type Params } from './jsonrpc.js';
import { SCOPES_META_KEY, type Prompt, type Resource, type ResourceTemplate, type Tool } from './types.js';

export interface CompiledTool {
  readonly def: ToolDefinition;
  readonly schema: z.ZodObject | undefined;
}

interface CompiledTemplate {
  readonly def: ResourceTemplateDefinition;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

export type ResourceMatch =
  | { readonly kind: 'fixed'; readonly def: ResourceDefinition }
  | { readonly kind: 'template'; readonly def: ResourceTemplateDefinition; readonly variables: Record<string, string> };

const NO_SCOPES: readonly string[] = [];

/** Descriptors survive registry changes: a tool's JSON Schema is generated once. */
const descriptors = new WeakMap<ToolDefinition, Tool>();

export class Catalog {
  private revision = -1;
  /** Sizes of the registry's maps at the last rebuild (catches direct map edits that skip `revision`). */
  private sizes = [-1, -1, -1, -1];
  private tools = new Map<string, CompiledTool>();
  private toolList: Tool[] = [];
  private templates: CompiledTemplate[] = [];
  private promptList: Prompt[] = [];
  private resourceList: Resource[] = [];
  private templateList: ResourceTemplate[] = [];
  /** Serialised results of the static list methods. */
  private toolsJson = new RawJson('{"tools":[]}');
  private promptsJson = new RawJson('{"prompts":[]}');
  private templatesJson = new RawJson('{"resourceTemplates":[]}');

  constructor(private readonly registry: Registry) {
    this.refresh();
  }

  /** Rebuilds the derived views when the registry changed (cheap check on every use). */
  refresh(): void {
    const r = this.registry;
    const s = this.sizes;
    if (r.revision === this.revision && r.tools.size === s[0] && r.resources.size === s[1] && r.templates.size === s[2] && r.prompts.size === s[3]) return;
    this.revision = r.revision;
    this.sizes = [r.tools.size, r.resources.size, r.templates.size, r.prompts.size];

    this.tools = new Map();
    this.toolList = [];
    for (const def of r.tools.values()) {
      let descriptor = descriptors.get(def);
      if (descriptor === undefined) {
        descriptor = toolDescriptor(def);
        descriptors.set(def, descriptor);
      }
      this.tools.set(def.name, { def, schema: isZodInput(def.input) ? def.input : undefined });
      this.toolList.push(descriptor);
    }
    this.toolsJson = new RawJson(JSON.stringify({ tools: this.toolList }));

    this.promptList = [...r.prompts.values()].map(promptDescriptor);
    this.promptsJson = new RawJson(JSON.stringify({ prompts: this.promptList }));

    this.resourceList = [...r.resources.values()].map(resourceDescriptor);
    this.templates = [...r.templates.values()].map(compileTemplate);
    this.templateList = [...r.templates.values()].map(templateDescriptor);
    this.templatesJson = new RawJson(JSON.stringify({ resourceTemplates: this.templateList }));
  }

  /** The `tools/list` result, serialised once per registry revision. */
  toolsResult(): RawJson {
    this.refresh();
    return this.toolsJson;
  }

  promptsResult(): RawJson {
    this.refresh();
    return this.promptsJson;
  }

  templatesResult(): RawJson {
    this.refresh();
    return this.templatesJson;
  }

  tool(name: string): CompiledTool | undefined {
    this.refresh();
    return this.tools.get(name);
  }

  listTools(): Tool[] {
    this.refresh();
    return this.toolList;
  }

  listPrompts(): Prompt[] {
    this.refresh();
    return this.promptList;
  }

  /** The fixed resources (templates' concrete resources are listed by the caller of this). */
  fixedResources(): Resource[] {
    this.refresh();
    return this.resourceList;
  }

  templateDefinitions(): readonly ResourceTemplateDefinition[] {
    this.refresh();
    return this.templates.map((t) => t.def);
  }

  prompt(name: string): PromptDefinition | undefined {
    return this.registry.prompts.get(name);
  }

  /** The template registered under exactly this `uriTemplate` (for `completion/complete` references). */
  template(uriTemplate: string): ResourceTemplateDefinition | undefined {
    return this.registry.templates.get(uriTemplate);
  }

  /** A fixed resource with this URI, else the first template that matches it. */
  findResource(uri: string): ResourceMatch | undefined {
    this.refresh();
    const fixed = this.registry.resources.get(uri);
    if (fixed !== undefined) return { kind: 'fixed', def: fixed };
    for (const template of this.templates) {
      const match = template.pattern.exec(uri);
      if (match === null) continue;
      const variables: Record<string, string> = {};
      try {
        template.names.forEach((name, i) => (variables[name] = decodeURIComponent(match[i + 1]!)));
      } catch {
        continue; // malformed percent-encoding: not this template's resource
      }
      return { kind: 'template', def: template.def, variables };
    }
    return undefined;
  }

  /**
   * Scopes a request needs before anything runs, from the item it addresses; undefined when the method
   * addresses no scoped item (or an unknown one: the method then fails on its own).
   */
  requiredScopes(method: string, params: Params | undefined): readonly string[] | undefined {
    if (params === undefined) return undefined;
    switch (method) {
      case 'tools/call':
        return typeof params['name'] === 'string' ? this.tool(params['name'])?.def.scopes : undefined;
      case 'prompts/get':
        return typeof params['name'] === 'string' ? this.prompt(params['name'])?.scopes : undefined;
      case 'resources/read':
      case 'resources/subscribe':
        return typeof params['uri'] === 'string' ? this.findResource(params['uri'])?.def.scopes : undefined;
      case 'completion/complete': {
        const ref = params['ref'] as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
        if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') return this.prompt(ref.name)?.scopes;
        if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') return this.template(ref.uri)?.scopes;
        return undefined;
      }
      default:
        return undefined;
    }
  }
}

/** Whether `granted` holds every scope in `required`. */
export function hasScopes(granted: readonly string[], required: readonly string[] | undefined): boolean {
  if (required === undefined) return true;
  for (const scope of required) if (!granted.includes(scope)) return false;
  return true;
}

/**
 * For a batch: refuses (throws `insufficient_scope`, decision in the log) when `granted` lacks the scopes of
 * any item, naming the scopes of every item, so that one re-authorization covers the whole batch.
 */
export function requireBatchScopes(granted: readonly string[], itemScopes: Iterable<readonly string[] | undefined>, log: RequestLog): void {
  let needed: Set<string> | undefined;
  let denied = false;
  for (const scopes of itemScopes) {
    if (scopes === undefined || scopes.length === 0) continue;
    needed ??= new Set();
    for (const scope of scopes) needed.add(scope);
    if (!hasScopes(granted, scopes)) denied = true;
  }
  if (denied) {
    log.decision = 'insufficient_scope';
    throw insufficientScope([...needed!]);
  }
}

/** The name, prompt or URI a request addresses, for the request log. */
export function targetOf(method: string, params: Params | undefined): string | undefined {
  if (params === undefined) return undefined;
  const value = method === 'tools/call' || method === 'prompts/get' ? params['name'] : method.startsWith('resources/') ? params['uri'] : undefined;
  if (typeof value === 'string') return value;
  if (method === 'completion/complete') {
    const ref = params['ref'] as { name?: unknown; uri?: unknown } | undefined;
    const name = ref?.name ?? ref?.uri;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}

function meta(scopes: readonly string[] | undefined): Record<string, unknown> {
  return { [SCOPES_META_KEY]: scopes ?? NO_SCOPES };
}

function promptDescriptor(def: PromptDefinition): Prompt {
  return strip({ name: def.name, title: def.title, description: def.description, arguments: def.arguments?.map((a) => strip({ ...a })), _meta: meta(def.scopes) }) as Prompt;
}

function resourceDescriptor(def: ResourceDefinition): Resource {
  return strip({ uri: def.uri, name: def.name, title: def.title, description: def.description, mimeType: def.mimeType, _meta: meta(def.scopes) }) as Resource;
}

function templateDescriptor(def: ResourceTemplateDefinition): ResourceTemplate {
  return strip({ uriTemplate: def.uriTemplate, name: def.name, title: def.title, description: def.description, mimeType: def.mimeType, _meta: meta(def.scopes) }) as ResourceTemplate;
}

function strip<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}

/**
 * Compiles an RFC 6570 level-1 template (`{name}` simple string expansion) into a matcher. A simple
 * expansion percent-encodes every reserved character, so one variable never spans `/`, `?` or `#`.
 */
function compileTemplate(def: ResourceTemplateDefinition): CompiledTemplate {
  const names: string[] = [];
  let source = '^';
  let last = 0;
  for (const match of def.uriTemplate.matchAll(/\{([^{}]*)\}/g)) {
    const name = match[1]!;
    if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`The resource template "${def.uriTemplate}" uses "{${name}}": only RFC 6570 level-1 variables like {id} are supported`);
    source += escapeRegExp(def.uriTemplate.slice(last, match.index)) + '([^/?#]+)';
    names.push(name);
    last = match.index + match[0].length;
  }
  const rest = def.uriTemplate.slice(last);
  if (rest.includes('{') || rest.includes('}')) throw new Error(`The resource template "${def.uriTemplate}" has an unbalanced brace`);
  source += escapeRegExp(rest) + '$';
  return { def, pattern: new RegExp(source), names };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

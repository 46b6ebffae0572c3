/**
 * The gateway's per-tool scope policy (`--tool-scopes FILE`): which scopes a `tools/call` of a backend tool
 * needs, decided by the tool's name before the call is forwarded. The file is JSON:
 *
 * ```json
 * {
 *   "tools": { "create_*": ["things:write"], "delete_*": ["admin"], "get_status": [], "*": ["things:read"] },
 *   "default": [],
 *   "challenge": ["things:read"]
 * }
 * ```
 *
 * - `tools`: pattern → scopes (all of them needed). A pattern is a tool name in which `*` stands for any
 *   run of characters, the empty one included; no other character is special. For a tool name the rule is:
 *   a pattern without `*` equal to the name wins; else, among the patterns that match, the one with the
 *   most characters other than `*` (the most specific); on a tie, the one written first in the file.
 * - `default`: the scopes of a tool no pattern matches (default: none, i.e. any valid token).
 * - `challenge`: the scopes a bare 401 asks a client for first (default: those of the pattern `"*"` when
 *   there is one, else `default`). More come by step-up (403 `insufficient_scope`).
 *
 * Every scope is an RFC 6749 §3.3 scope-token. Unknown keys are refused (a typo would silently open a tool).
 */
import { readFileSync } from 'node:fs';

/** A tool-scopes file that cannot be used: one line for the operator. */
export class ToolScopesError extends Error {
  override readonly name = 'ToolScopesError';
}

interface Rule {
  readonly pattern: string;
  readonly scopes: readonly string[];
  /** Characters other than `*`: the specificity. */
  readonly weight: number;
  readonly regex: RegExp;
}

const NONE: readonly string[] = [];
/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const KEYS = new Set(['tools', 'default', 'challenge']);
/** Lookups remembered by tool name, up to this many names (callers choose the names: keep it bounded). */
const CACHE_LIMIT = 1024;

/**
 * The scopes each backend tool needs.
 *
 * @example
 * const policy = ToolScopes.parse({ tools: { 'create_*': ['things:write'], '*': ['things:read'] } });
 * policy.scopesFor('create_thing'); // ['things:write']
 * policy.scopesFor('echo');         // ['things:read']
 * policy.all;                        // ['things:read', 'things:write']
 */
export class ToolScopes {
  /** Every scope the policy names, sorted: what the resource publishes in `scopes_supported`. */
  readonly all: readonly string[];
  /** What a bare 401 challenge asks for. */
  readonly challenge: readonly string[];
  readonly #exact = new Map<string, readonly string[]>();
  readonly #globs: readonly Rule[];
  readonly #fallback: readonly string[];
  readonly #cache = new Map<string, readonly string[]>();

  private constructor(rules: readonly { pattern: string; scopes: readonly string[] }[], fallback: readonly string[], challenge: readonly string[] | undefined) {
    const globs: Rule[] = [];
    for (const { pattern, scopes } of rules) {
      if (!pattern.includes('*')) this.#exact.set(pattern, scopes);
      else globs.push({ pattern, scopes, weight: pattern.replaceAll('*', '').length, regex: globRegex(pattern) });
    }
    // Most specific first; a stable sort keeps file order among equals.
    this.#globs = globs.sort((a, b) => b.weight - a.weight);
    this.#fallback = fallback;
    this.challenge = challenge ?? rules.find((r) => r.pattern === '*')?.scopes ?? fallback;
    this.all = [...new Set([...rules.flatMap((r) => r.scopes), ...fallback, ...this.challenge])].sort();
  }

  /** No file: every tool needs nothing beyond `--required-scopes`. */
  static none(): ToolScopes {
    return new ToolScopes([], NONE, undefined);
  }

  /** Validates a parsed file; throws {@link ToolScopesError} naming the first problem. */
  static parse(value: unknown): ToolScopes {
    if (!isObject(value)) throw new ToolScopesError('must hold a JSON object like {"tools": {"create_*": ["things:write"]}}');
    for (const key of Object.keys(value)) if (!KEYS.has(key)) throw new ToolScopesError(`unknown key "${key}" (expected tools, default, challenge)`);
    const tools = value['tools'] ?? {};
    if (!isObject(tools)) throw new ToolScopesError('"tools" must be an object of pattern → scopes');
    const rules = Object.entries(tools).map(([pattern, scopes]) => {
      if (pattern.length === 0 || pattern.length > 256) throw new ToolScopesError('a tool pattern must be 1 to 256 characters');
      return { pattern, scopes: scopeList(scopes, `"tools"."${pattern}"`) };
    });
    const fallback = value['default'] === undefined ? NONE : scopeList(value['default'], '"default"');
    const challenge = value['challenge'] === undefined ? undefined : scopeList(value['challenge'], '"challenge"');
    return new ToolScopes(rules, fallback, challenge);
  }

  /** The scopes a `tools/call` of `name` needs (possibly none). */
  scopesFor(name: string): readonly string[] {
    const cached = this.#cache.get(name);
    if (cached !== undefined) return cached;
    const scopes = this.#exact.get(name) ?? this.#globs.find((rule) => rule.regex.test(name))?.scopes ?? this.#fallback;
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(name, scopes);
    return scopes;
  }
}

/**
 * Reads and validates a tool-scopes file; throws {@link ToolScopesError} with one line naming the file
 * and the problem.
 *
 * @example
 * const policy = readToolScopes('./tool-scopes.json');
 */
export function readToolScopes(path: string): ToolScopes {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ToolScopesError(`${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ToolScopesError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  try {
    return ToolScopes.parse(value);
  } catch (error) {
    if (error instanceof ToolScopesError) throw new ToolScopesError(`${path}: ${error.message}`);
    throw error;
  }
}

function scopeList(value: unknown, where: string): readonly string[] {
  if (!Array.isArray(value)) throw new ToolScopesError(`${where} must be an array of scopes`);
  for (const scope of value) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) throw new ToolScopesError(`${where}: ${JSON.stringify(scope)} is not a scope (RFC 6749 §3.3: printable ASCII, no space, " or \\)`);
  }
  return [...new Set(value as string[])];
}

function globRegex(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

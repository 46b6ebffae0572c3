/**
 * A tool's form, from its `inputSchema` (JSON Schema, MCP 2025-11-25 server/tools): one field per
 * top-level property — a text field for `string`, a list for a string `enum`, a number field for `number`
 * and `integer`, a true/false list for `boolean` — and a raw JSON text area for anything else (objects,
 * arrays, unions, `null`). A schema without usable `properties` gets one JSON text area for the whole
 * `arguments` object. What the browser sends back is turned into `arguments` here, every field checked
 * against its kind; the backend validates the rest, as it would for any client.
 */

/** One form field. Values and names reach the page escaped. */
export interface Field {
  readonly kind: 'string' | 'enum' | 'number' | 'integer' | 'boolean' | 'json';
  /** The property's name. */
  readonly property: string;
  /** The form field's name: the property, prefixed so it cannot clash with `csrf_token` or `tool`. */
  readonly name: string;
  readonly required: boolean;
  readonly description: string | undefined;
  /** The allowed values of an `enum` field. */
  readonly options: readonly string[];
}

/** The form of one tool: its fields, or (`whole`) one JSON text area named {@link WHOLE_FIELD}. */
export interface ToolForm {
  readonly fields: readonly Field[];
  readonly whole: boolean;
}

/** The field name of the whole-`arguments` JSON text area. */
export const WHOLE_FIELD = 'arguments_json';
const PREFIX = 'arg.';

/**
 * @example
 * formFor({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] });
 * // { whole: false, fields: [{ kind: 'string', property: 'text', name: 'arg.text', required: true, … }] }
 */
export function formFor(inputSchema: unknown): ToolForm {
  if (!isObject(inputSchema) || !isObject(inputSchema['properties'])) return { fields: [], whole: true };
  const properties = inputSchema['properties'];
  const required = Array.isArray(inputSchema['required']) ? inputSchema['required'].filter((name): name is string => typeof name === 'string') : [];
  const fields: Field[] = [];
  for (const [property, schema] of Object.entries(properties)) {
    const description = isObject(schema) && typeof schema['description'] === 'string' ? schema['description'] : undefined;
    fields.push({ kind: kindOf(schema), property, name: `${PREFIX}${property}`, required: required.includes(property), description, options: enumOf(schema) });
  }
  // A schema may accept properties it does not list; a form of only listed ones could not send them.
  const open = inputSchema['additionalProperties'] !== undefined && inputSchema['additionalProperties'] !== false;
  return fields.length === 0 && open ? { fields: [], whole: true } : { fields, whole: false };
}

function kindOf(schema: unknown): Field['kind'] {
  if (!isObject(schema)) return 'json';
  if (enumOf(schema).length > 0) return 'enum';
  switch (schema['type']) {
    case 'string':
      return schema['enum'] === undefined ? 'string' : 'json';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

/** The values of a `string` enum (an enum of anything else is typed as JSON). */
function enumOf(schema: unknown): string[] {
  if (!isObject(schema) || !Array.isArray(schema['enum']) || schema['enum'].length === 0) return [];
  return schema['enum'].every((value) => typeof value === 'string') ? (schema['enum'] as string[]) : [];
}

/** The `arguments` of a submitted form, or the problems with it (one line each, naming the field). */
export type ParsedArguments = { readonly ok: true; readonly arguments: Record<string, unknown> } | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Turns a submitted form into `arguments`: an empty optional field is left out; a required empty text
 * field is sent as `""`; numbers must be finite (integers whole); an enum value must be one of its
 * options; JSON must parse.
 *
 * @example
 * argumentsFrom(form, new URLSearchParams('arg.text=hi')); // { ok: true, arguments: { text: 'hi' } }
 */
export function argumentsFrom(form: ToolForm, values: URLSearchParams): ParsedArguments {
  const problems: string[] = [];
  if (form.whole) {
    const text = (values.get(WHOLE_FIELD) ?? '').trim();
    if (text === '') return { ok: true, arguments: {} };
    const value = parseJson(text);
    if (!isObject(value)) return { ok: false, problems: ['The arguments must be a JSON object.'] };
    return { ok: true, arguments: value };
  }
  const args: Record<string, unknown> = {};
  for (const field of form.fields) {
    const raw = values.get(field.name) ?? '';
    if (raw === '' && (!field.required || field.kind !== 'string')) {
      if (field.required) problems.push(`${field.property} is required.`);
      continue;
    }
    const parsed = valueOf(field, raw);
    if (parsed.ok) args[field.property] = parsed.value;
    else problems.push(`${field.property}: ${parsed.problem}`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, arguments: args };
}

function valueOf(field: Field, raw: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  switch (field.kind) {
    case 'string':
      return { ok: true, value: raw };
    case 'enum':
      return field.options.includes(raw) ? { ok: true, value: raw } : { ok: false, problem: 'choose one of the listed values.' };
    case 'number':
    case 'integer': {
      const value = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(value)) return { ok: false, problem: 'enter a number.' };
      if (field.kind === 'integer' && !Number.isInteger(value)) return { ok: false, problem: 'enter a whole number.' };
      return { ok: true, value };
    }
    case 'boolean':
      return raw === 'true' || raw === 'false' ? { ok: true, value: raw === 'true' } : { ok: false, problem: 'choose true or false.' };
    case 'json': {
      const value = parseJson(raw);
      return value === undefined ? { ok: false, problem: 'enter valid JSON.' } : { ok: true, value };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { html, type Html } from '../../web/html.js';
import type { CallOutcome } from '../calls.js';
import { formFor, WHOLE_FIELD, type Field } from '../lib/schema-form.js';
import { consolePage, type Viewer } from './shell.js';

/** A backend tool as `tools/list` through the gateway describes it. */
export interface ListedTool {
  readonly name: string;
  readonly title: string | undefined;
  readonly description: string | undefined;
  readonly inputSchema: unknown;
  /** What a call needs (`_meta["dev.portcullis/scopes"]`, set by the gateway). */
  readonly scopes: readonly string[];
}

interface PageBase {
  readonly base: string;
  readonly viewer: Viewer;
  /** The scopes of the viewer's sign-in. */
  readonly held: readonly string[];
}

/**
 * Every backend tool with a form that calls it (`POST /tools/call`), each field typed from the tool's
 * `inputSchema`; or why the list could not be had.
 *
 * @example
 * toolsPage({ base: '', viewer, held: ['things:read'], tools });
 */
export function toolsPage(options: PageBase & { tools: readonly ListedTool[] } | PageBase & { failure: string }): Html {
  const body =
    'failure' in options
      ? html`<p class="error" role="alert">${options.failure}</p>`
      : options.tools.length === 0
        ? html`<p>The MCP server offers no tools.</p>`
        : html`<p class="muted">Calls go through this gateway as you, with your scopes, exactly as an MCP client's would.</p>
${options.tools.map((tool, index) => toolSection(options, tool, index, new URLSearchParams()))}`;
  return consolePage({ title: 'Tools', body, base: options.base, viewer: options.viewer });
}

/**
 * The answer to a call: the outcome (the result escaped, a refusal, an error, or the form's problems),
 * then the tool's form again with what was typed.
 */
export function callPage(options: PageBase & { tool: ListedTool; values: URLSearchParams; outcome: CallOutcome | { kind: 'invalid'; problems: readonly string[] } }): Html {
  const { tool, outcome } = options;
  const body = html`<h2>Result</h2>
${renderOutcome(outcome, tool, options.held)}
${toolSection(options, tool, 0, options.values)}
<p><a href="${options.base}/tools">All tools</a></p>`;
  return consolePage({ title: `Call ${tool.name}`, body, base: options.base, viewer: options.viewer });
}

function renderOutcome(outcome: CallOutcome | { kind: 'invalid'; problems: readonly string[] }, tool: ListedTool, held: readonly string[]): Html {
  switch (outcome.kind) {
    case 'invalid':
      return html`<div class="error" role="alert"><p>The form has problems; nothing was sent:</p><ul>${outcome.problems.map((problem) => html`<li>${problem}</li>`)}</ul></div>`;
    case 'refused': {
      const missing = tool.scopes.filter((scope) => !held.includes(scope));
      const named = missing.length > 0 ? missing : outcome.scopes;
      return html`<p class="error" role="alert" id="refusal">Refused by the gateway: this tool needs the scope${named.length === 1 ? '' : 's'} <code>${named.join(' ')}</code>, which your sign-in does not hold. Nothing was sent to the MCP server.</p>`;
    }
    case 'failed':
      return html`<p class="error" role="alert">The call failed: ${outcome.message}</p>`;
    case 'result':
      return resultBlock(outcome.result);
  }
}

/** A `CallToolResult`: each content item (text as text, anything else as JSON), then the structured content. */
function resultBlock(result: Record<string, unknown>): Html {
  const content = Array.isArray(result['content']) ? result['content'] : [];
  const items = content.map((item: unknown) => {
    if (isObject(item) && item['type'] === 'text' && typeof item['text'] === 'string') return html`<pre class="result">${item['text']}</pre>`;
    if (isObject(item) && (item['type'] === 'image' || item['type'] === 'audio') && typeof item['data'] === 'string') {
      return html`<p class="muted">[${item['type']} ${String(item['mimeType'] ?? '')}, ${Math.floor((item['data'].length * 3) / 4)} bytes]</p>`;
    }
    return html`<pre class="result">${JSON.stringify(item, null, 2)}</pre>`;
  });
  return html`${result['isError'] === true ? html`<p class="error" role="alert">The tool reported an error.</p>` : ''}
${items.length > 0 ? items : html`<p class="muted">No content.</p>`}
${result['structuredContent'] !== undefined ? html`<h3>Structured content</h3><pre class="result">${JSON.stringify(result['structuredContent'], null, 2)}</pre>` : ''}`;
}

function toolSection(options: PageBase, tool: ListedTool, index: number, values: URLSearchParams): Html {
  const form = formFor(tool.inputSchema);
  const missing = tool.scopes.filter((scope) => !options.held.includes(scope));
  const id = (suffix: string) => `tool-${index}-${suffix}`;
  return html`<section class="tool" aria-labelledby="${id('name')}">
<h2 id="${id('name')}">${tool.name}</h2>
${tool.title && tool.title !== tool.name ? html`<p><strong>${tool.title}</strong></p>` : ''}
${tool.description ? html`<p>${tool.description}</p>` : ''}
<p class="muted">${tool.scopes.length === 0 ? 'Needs no scope.' : html`Needs: <code>${tool.scopes.join(' ')}</code>`}</p>
${missing.length > 0 ? html`<p class="notice">Your sign-in lacks <code>${missing.join(' ')}</code>: the gateway will refuse this call.</p>` : ''}
<form method="post" action="${options.base}/tools/call">
<input type="hidden" name="csrf_token" value="${options.viewer.csrf}">
<input type="hidden" name="tool" value="${tool.name}">
${form.whole ? wholeField(id('args'), values) : form.fields.map((field, n) => fieldInput(field, id(`f${n}`), values))}
<div class="actions"><button type="submit" class="primary">Call ${tool.name}</button></div>
</form>
</section>
`;
}

function wholeField(id: string, values: URLSearchParams): Html {
  return html`<label for="${id}">Arguments (JSON object)</label>
<textarea id="${id}" name="${WHOLE_FIELD}" spellcheck="false">${values.get(WHOLE_FIELD) ?? '{}'}</textarea>`;
}

function fieldInput(field: Field, id: string, values: URLSearchParams): Html {
  const value = values.get(field.name) ?? '';
  const label = html`<label for="${id}">${field.property}${field.required ? ' (required)' : ''}${field.kind === 'json' ? ' (JSON)' : ''}</label>`;
  const hint = field.description ? html`<p class="muted">${field.description}</p>` : '';
  const required = field.required ? html` required` : '';
  let input: Html;
  switch (field.kind) {
    case 'string':
      input = html`<input id="${id}" name="${field.name}" type="text" value="${value}" spellcheck="false"${required}>`;
      break;
    case 'number':
    case 'integer':
      input = html`<input id="${id}" name="${field.name}" type="number" step="${field.kind === 'integer' ? '1' : 'any'}" value="${value}"${required}>`;
      break;
    case 'enum':
    case 'boolean': {
      const options = field.kind === 'enum' ? field.options : ['true', 'false'];
      const unset = field.required ? '' : html`<option value=""${value === '' ? html` selected` : ''}>(not set)</option>`;
      input = html`<select id="${id}" name="${field.name}"${required}>${unset}${options.map((option) => html`<option${option === value ? html` selected` : ''}>${option}</option>`)}</select>`;
      break;
    }
    case 'json':
      input = html`<textarea id="${id}" name="${field.name}" spellcheck="false"${required}>${value}</textarea>`;
      break;
  }
  return html`${label}
${hint}
${input}
`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

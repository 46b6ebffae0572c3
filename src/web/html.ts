/**
 * HTML that escapes by default. Every value interpolated into an {@link html} template is escaped
 * (`& < > " '`), so a client name, a username or a scope can never become markup; only {@link Html}
 * values (other templates, or {@link raw} for markup we wrote ourselves) pass through unchanged.
 */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for use in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Markup that is already safe: the result of {@link html} or {@link raw}. */
export class Html {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

/**
 * Trusted markup, inserted as is. Only for markup this codebase wrote (the stylesheet, a doctype), never
 * for anything that came from a request, a client registration or the store.
 *
 * @example
 * html`<head>${raw('<meta charset="utf-8">')}</head>`;
 */
export function raw(markup: string): Html {
  return new Html(markup);
}

/**
 * A tagged template that escapes every interpolation. Arrays are rendered item by item (each escaped
 * unless it is {@link Html}); `null`, `undefined` and `false` render as nothing, so conditionals read
 * naturally.
 *
 * @example
 * html`<p>${client.name} wants access</p>`; // '<p>&lt;script&gt;… wants access</p>' for a hostile name
 * html`<ul>${scopes.map((s) => html`<li>${s}</li>`)}</ul>`;
 * html`${error && html`<p role="alert">${error}</p>`}`;
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

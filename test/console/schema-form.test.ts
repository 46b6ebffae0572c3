/**
 * The tool forms of the web console: fields typed from a tool's `inputSchema` (strings, numbers, integers,
 * booleans, string enums; raw JSON for anything else; one JSON area for a schema without properties), the
 * submitted form turned back into `arguments` with each field checked, and every name and value escaped
 * in the page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argumentsFrom, formFor, WHOLE_FIELD } from '../../src/console/lib/schema-form.js';
import { toolsPage } from '../../src/console/pages/tools.js';

const SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string', description: 'What to call it' },
    count: { type: 'integer' },
    ratio: { type: 'number' },
    urgent: { type: 'boolean' },
    severity: { type: 'string', enum: ['low', 'high'] },
    tags: { type: 'array', items: { type: 'string' } },
    note: { type: ['string', 'null'] },
  },
  required: ['title', 'count', 'severity'],
};

describe('tool forms from inputSchema', () => {
  it('types each property', () => {
    const form = formFor(SCHEMA);
    assert.equal(form.whole, false);
    assert.deepEqual(
      form.fields.map((field) => [field.property, field.kind, field.required]),
      [
        ['title', 'string', true],
        ['count', 'integer', true],
        ['ratio', 'number', false],
        ['urgent', 'boolean', false],
        ['severity', 'enum', true],
        ['tags', 'json', false],
        ['note', 'json', false],
      ],
    );
    assert.deepEqual(form.fields[4]!.options, ['low', 'high']);
    assert.equal(form.fields[0]!.description, 'What to call it');
  });

  it('a schema without properties gets one JSON area; so does an open one with none listed', () => {
    assert.equal(formFor(undefined).whole, true);
    assert.equal(formFor({ type: 'object' }).whole, true);
    assert.equal(formFor({ type: 'object', properties: {}, additionalProperties: true }).whole, true);
    assert.deepEqual(formFor({ type: 'object', properties: {} }), { fields: [], whole: false });
  });

  it('turns a form into arguments: empty optional fields left out, values typed', () => {
    const values = new URLSearchParams({ 'arg.title': '<b>x</b>', 'arg.count': '3', 'arg.ratio': '', 'arg.urgent': 'true', 'arg.severity': 'high', 'arg.tags': '["a","b"]', 'arg.note': 'null' });
    assert.deepEqual(argumentsFrom(formFor(SCHEMA), values), { ok: true, arguments: { title: '<b>x</b>', count: 3, urgent: true, severity: 'high', tags: ['a', 'b'], note: null } });
    // A required text field sent empty is the empty string; a required number sent empty is a problem.
    const empty = argumentsFrom(formFor(SCHEMA), new URLSearchParams({ 'arg.title': '', 'arg.count': '', 'arg.severity': 'low' }));
    assert.deepEqual(empty, { ok: false, problems: ['count is required.'] });
  });

  it('refuses what does not fit the field, naming it', () => {
    const values = new URLSearchParams({ 'arg.title': 't', 'arg.count': '1.5', 'arg.ratio': 'abc', 'arg.urgent': 'yes', 'arg.severity': 'medium', 'arg.tags': '[oops' });
    const parsed = argumentsFrom(formFor(SCHEMA), values);
    assert.equal(parsed.ok, false);
    assert.deepEqual(!parsed.ok && parsed.problems, [
      'count: enter a whole number.',
      'ratio: enter a number.',
      'urgent: choose true or false.',
      'severity: choose one of the listed values.',
      'tags: enter valid JSON.',
    ]);
  });

  it('the whole-arguments area must hold a JSON object', () => {
    const whole = formFor(undefined);
    assert.deepEqual(argumentsFrom(whole, new URLSearchParams({ [WHOLE_FIELD]: '{"a":1}' })), { ok: true, arguments: { a: 1 } });
    assert.deepEqual(argumentsFrom(whole, new URLSearchParams({ [WHOLE_FIELD]: '' })), { ok: true, arguments: {} });
    assert.equal(argumentsFrom(whole, new URLSearchParams({ [WHOLE_FIELD]: '[1]' })).ok, false);
  });

  it('the page escapes tool names, descriptions, property names and enum values', () => {
    const hostile = '"><script>alert(1)</script>';
    const page = toolsPage({
      base: '',
      viewer: { username: hostile, admin: false, csrf: 'c"srf' },
      held: [],
      tools: [{ name: hostile, title: hostile, description: hostile, scopes: [hostile], inputSchema: { type: 'object', properties: { [hostile]: { type: 'string', enum: [hostile] } } } }],
    }).value;
    assert.ok(!page.includes('<script>'), 'no raw markup');
    assert.ok(page.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(page.includes('value="c&quot;srf"'));
  });
});

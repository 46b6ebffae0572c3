/**
 * The scope file's semantics (src/gateway/tool-scopes.ts): exact name over patterns, the most specific
 * pattern over the others, file order on a tie, `default` for what nothing matches, the challenge, and the
 * refusals of a file that cannot be used.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readToolScopes, ToolScopes, ToolScopesError } from '../../src/gateway/tool-scopes.js';

describe('ToolScopes', () => {
  const policy = ToolScopes.parse({
    tools: {
      '*': ['things:read'],
      'create_*': ['things:write'],
      'create_admin_*': ['admin'],
      '*_report': ['reports'],
      'create_*_report': ['reports:write'],
      create_note: [],
      'a*': ['first'],
      '*b': ['second'],
    },
    default: ['unused'],
  });

  it('an exact name wins over every pattern', () => {
    assert.deepEqual(policy.scopesFor('create_note'), []);
  });

  it('the most specific pattern (most characters besides *) wins', () => {
    assert.deepEqual(policy.scopesFor('create_thing'), ['things:write']);
    assert.deepEqual(policy.scopesFor('create_admin_user'), ['admin']);
    assert.deepEqual(policy.scopesFor('create_sales_report'), ['reports:write']);
    assert.deepEqual(policy.scopesFor('sales_report'), ['reports']);
    assert.deepEqual(policy.scopesFor('echo'), ['things:read']);
  });

  it('on a tie, the pattern written first wins', () => {
    assert.deepEqual(policy.scopesFor('ab'), ['first']);
  });

  it('* matches the empty run and any character; nothing else is special', () => {
    const p = ToolScopes.parse({ tools: { 'get.*': ['dot'], 'x?y': ['question'] } });
    assert.deepEqual(p.scopesFor('get.'), ['dot']);
    assert.deepEqual(p.scopesFor('getX'), []);
    assert.deepEqual(p.scopesFor('x?y'), ['question']);
    assert.deepEqual(p.scopesFor('xzy'), []);
    assert.deepEqual(ToolScopes.parse({ tools: { 'a*': ['s'] } }).scopesFor('a\nb'), ['s']);
  });

  it('default is for tools no pattern matches; without it, none', () => {
    const p = ToolScopes.parse({ tools: { 'create_*': ['w'] }, default: ['r'] });
    assert.deepEqual(p.scopesFor('echo'), ['r']);
    assert.deepEqual(ToolScopes.parse({ tools: { 'create_*': ['w'] } }).scopesFor('echo'), []);
    assert.deepEqual(ToolScopes.none().scopesFor('anything'), []);
  });

  it('all scopes and the challenge: "*" by default, else default, unless given', () => {
    assert.deepEqual(policy.all, ['admin', 'first', 'reports', 'reports:write', 'second', 'things:read', 'things:write', 'unused']);
    assert.deepEqual(policy.challenge, ['things:read']);
    assert.deepEqual(ToolScopes.parse({ tools: { 'create_*': ['w'] }, default: ['r'] }).challenge, ['r']);
    const explicit = ToolScopes.parse({ tools: { 'create_*': ['w'] }, challenge: ['basic'] });
    assert.deepEqual(explicit.challenge, ['basic']);
    assert.deepEqual(explicit.all, ['basic', 'w']);
    assert.deepEqual(ToolScopes.none().challenge, []);
  });

  it('refuses what cannot be used, naming the problem', () => {
    const refusals: Array<[unknown, RegExp]> = [
      [[], /must hold a JSON object/],
      [{ tool: {} }, /unknown key "tool"/],
      [{ tools: [] }, /"tools" must be an object/],
      [{ tools: { '': ['a'] } }, /1 to 256 characters/],
      [{ tools: { x: 'a' } }, /"tools"\."x" must be an array/],
      [{ tools: { x: ['a b'] } }, /"a b" is not a scope/],
      [{ tools: { x: ['say"'] } }, /is not a scope/],
      [{ tools: { x: [7] } }, /7 is not a scope/],
      [{ default: 'a' }, /"default" must be an array/],
      [{ challenge: [''] }, /"challenge": "" is not a scope/],
    ];
    for (const [value, message] of refusals) assert.throws(() => ToolScopes.parse(value), (error: Error) => error instanceof ToolScopesError && message.test(error.message));
  });
});

describe('readToolScopes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-tool-scopes-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file; names the file in every refusal', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ tools: { 'create_*': ['w'] } }));
    assert.deepEqual(readToolScopes(good).scopesFor('create_x'), ['w']);
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{ tools: ');
    assert.throws(() => readToolScopes(notJson), /bad\.json: not valid JSON/);
    assert.throws(() => readToolScopes(join(dir, 'missing.json')), /missing\.json: cannot read it \(ENOENT\)/);
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ tools: { x: ['a b'] } }));
    assert.throws(() => readToolScopes(wrong), /wrong\.json: "tools"\."x": "a b" is not a scope/);
  });
});

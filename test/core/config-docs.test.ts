import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { renderConfigurationReference } from '../../scripts/config-docs.js';

it('docs/configuration.md is generated from the option table and up to date', () => {
  const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigurationReference(), 'run: node --import tsx scripts/config-docs.ts');
});

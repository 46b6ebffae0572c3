import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, html, raw } from '../../src/web/html.js';
import { pageHeaders } from '../../src/web/layout.js';

test('every interpolation is escaped: & < > " \'', () => {
  const hostile = `<img src=x onerror="alert('x')">&amp;`;
  assert.equal(html`<p title="${hostile}">${hostile}</p>`.value, '<p title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;">&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;amp;</p>');
  assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
});

test('templates nest, arrays render item by item, null/undefined/false render as nothing, numbers as text', () => {
  const items = ['<a>', 'b'];
  assert.equal(html`<ul>${items.map((item) => html`<li>${item}</li>`)}</ul>`.value, '<ul><li>&lt;a&gt;</li><li>b</li></ul>');
  assert.equal(html`${null}${undefined}${false}${0}${['<', raw('<br>')]}`.value, '0&lt;<br>');
  assert.equal(String(html`<b>${'x'}</b>`), '<b>x</b>');
});

test('page headers: no-store, no framing, no referrer, nosniff, a CSP with only the hashed stylesheet', () => {
  const headers = pageHeaders({ formAction: ['http://127.0.0.1:4711'] });
  assert.equal(headers['cache-control'], 'no-store');
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.match(headers['content-security-policy']!, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'; form-action 'self' http:\/\/127\.0\.0\.1:4711; frame-ancestors 'none'; base-uri 'none'$/);
  assert.match(pageHeaders()['content-security-policy']!, /form-action 'none'/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { escapeHtml, renderMarkdown, safeUrl } from '../../src/axp_chat_connector/web/widget/markdown.js';

test('text is escaped before anything else', () => {
  assert.equal(renderMarkdown('<img src=x onerror=alert(1)>'), '&lt;img src=x onerror=alert(1)&gt;');
  assert.equal(renderMarkdown('"quoted" & \'single\''), '&quot;quoted&quot; &amp; &#39;single&#39;');
  assert.equal(escapeHtml('<a href="x">'), '&lt;a href=&quot;x&quot;&gt;');
});

test('bold, italics and code', () => {
  assert.equal(renderMarkdown('**bold** and *it* and _it2_'), '<strong>bold</strong> and <em>it</em> and <em>it2</em>');
  assert.equal(renderMarkdown('use `a < b` here'), 'use <code>a &lt; b</code> here');
  assert.equal(renderMarkdown('`**not bold**`'), '<code>**not bold**</code>');
  assert.equal(renderMarkdown('snake_case_name and 2*3*4'), 'snake_case_name and 2*3*4');
  assert.equal(renderMarkdown('line one\nline two'), 'line one<br>line two');
});

test('links get rel=noopener and open in a new tab; only http(s) and mailto', () => {
  assert.equal(
    renderMarkdown('see [our **shop**](https://bikes.example/a_b_c?x=1&y=2)'),
    'see <a href="https://bikes.example/a_b_c?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">our <strong>shop</strong></a>',
  );
  assert.equal(renderMarkdown('[x](javascript:alert(1))'), '[x](javascript:alert(1))');
  assert.equal(renderMarkdown('[x](javascript:alert`1`)'), '[x](javascript:alert<code>1</code>)');
  assert.equal(renderMarkdown('[x](/relative)'), '[x](/relative)');
  assert.equal(renderMarkdown('[x](https://a.example/"onmouseover="y)'), '<a href="https://a.example/%22onmouseover=%22y" target="_blank" rel="noopener noreferrer">x</a>');
  assert.equal(safeUrl('data:text/html,<b>'), null);
  assert.equal(safeUrl('mailto:help@bikes.example'), 'mailto:help@bikes.example');
});

test('placeholders cannot be forged from the text', () => {
  assert.equal(renderMarkdown('\u00000\u0000 `x`'), '0 <code>x</code>');
});

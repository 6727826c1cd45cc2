import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseFields } from '../../src/axp_chat_connector/web/widget/prechat.js';
import { formatSize, mediaUrl } from '../../src/axp_chat_connector/web/widget/render.js';

test('pre-chat fields come from data-fields: name:Label, * for required', () => {
  assert.deepEqual(parseFields('phone:Phone number, orderNumber:Order number*,city'), [
    { name: 'phone', label: 'Phone number', required: false },
    { name: 'orderNumber', label: 'Order number', required: true },
    { name: 'city', label: 'city', required: false },
  ]);
  assert.deepEqual(parseFields(''), []);
  assert.deepEqual(parseFields(undefined), []);
});

test('pre-chat fields cannot replace name or email, and names are cleaned', () => {
  assert.deepEqual(parseFields('name:Your name,email:Mail,<b>x</b>:Bold'), [
    { name: 'bxb', label: 'Bold', required: false },
  ]);
});

test('media URLs: http(s) only, relative ones against the connector', () => {
  assert.equal(mediaUrl('/v1/media/1?ttl=5', 'https://chat.example'), 'https://chat.example/v1/media/1?ttl=5');
  assert.equal(mediaUrl('https://cdn.example/a.png', 'https://chat.example'), 'https://cdn.example/a.png');
  assert.equal(mediaUrl('javascript:alert(1)', 'https://chat.example'), null);
  assert.equal(mediaUrl('data:image/png;base64,AAAA', 'https://chat.example'), null);
  assert.equal(mediaUrl(undefined, 'https://chat.example'), null);
});

test('sizes are readable', () => {
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(20480), '20 KB');
  assert.equal(formatSize(3 * 1024 * 1024), '3.0 MB');
});

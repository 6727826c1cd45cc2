import assert from 'node:assert/strict';
import { test } from 'node:test';

import { labelOf, choiceOf } from '../../src/axp_chat_connector/web/console/model.js';
import { LOCALES, directionOf, pickLocale, translator } from '../../src/axp_chat_connector/web/widget/i18n.js';
import { readableOn } from '../../src/axp_chat_connector/web/widget/layout.js';
import { chosenAction } from '../../src/axp_chat_connector/web/widget/render.js';
import { relativeTime } from '../../src/axp_chat_connector/web/widget/times.js';

const placeholders = (/** @type {string} */ text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every language has every string, with the same placeholders as English', () => {
  const english = LOCALES.en;
  for (const [locale, table] of Object.entries(LOCALES)) {
    assert.deepEqual(Object.keys(table).sort(), Object.keys(english).sort(), locale);
    for (const [key, text] of Object.entries(table)) {
      assert.ok(text.trim(), `${locale}.${key} is empty`);
      assert.deepEqual(placeholders(text), placeholders(english[/** @type {keyof typeof english} */ (key)]), `${locale}.${key}`);
    }
  }
});

test('the language: the requested one, else the page, else English; regional tags fall back', () => {
  assert.equal(pickLocale('fr', 'de'), 'fr');
  assert.equal(pickLocale(undefined, 'de-AT'), 'de');
  assert.equal(pickLocale('', 'ES_mx'), 'es');
  assert.equal(pickLocale('tlh', 'xx'), 'en');
  assert.equal(pickLocale(null, null), 'en');
  assert.equal(directionOf('ar'), 'rtl');
  assert.equal(directionOf('de'), 'ltr');
});

test('strings fill in their placeholders and leave unknown ones', () => {
  const t = translator('de');
  assert.equal(t('joined', { name: 'Jane' }), 'Jane ist dem Chat beigetreten');
  assert.equal(t('joined'), '{name} ist dem Chat beigetreten');
  assert.equal(translator('en')('cardOf', { n: 2, total: 3, title: 'Cargo' }), '2 of 3: Cargo');
});

test('relative times in the language, never in the future', () => {
  const now = Date.parse('2026-12-02T12:00:00Z');
  assert.equal(relativeTime(now - 10_000, now, 'en'), 'now');
  assert.equal(relativeTime(now - 5 * 60_000, now, 'en'), '5 min. ago');
  assert.equal(relativeTime(now - 3 * 3600_000, now, 'en'), '3 hr. ago');
  assert.equal(relativeTime(now - 86_400_000, now, 'en'), 'yesterday');
  assert.equal(relativeTime(now + 60_000, now, 'en'), 'now');
  assert.equal(relativeTime(now - 5 * 60_000, now, 'de'), 'vor 5 Min.');
});

test('text on a brand colour: white on dark, near-black on light, nothing for non-hex', () => {
  assert.equal(readableOn('#0b6e4f'), '#fff');
  assert.equal(readableOn('#5B21B6'), '#fff');
  assert.equal(readableOn('#fbbf24'), '#111');
  assert.equal(readableOn('#fff'), '#111');
  assert.equal(readableOn('rebeccapurple'), null);
});

test('a carousel choice is named by its card', () => {
  const one = { title: 'Cargo', actions: [{ type: 'postback', text: 'Choose', payload: 'c' }] };
  assert.deepEqual(chosenAction(one, one.actions[0]), { type: 'postback', text: 'Cargo', payload: 'c' });
  const two = { title: 'Cargo', actions: [{ type: 'postback', text: 'Buy', payload: 'b' }, { type: 'postback', text: 'Details', payload: 'd' }] };
  assert.equal(chosenAction(two, two.actions[1]).text, 'Cargo: Details');
  assert.equal(chosenAction({ title: 'x'.repeat(80), actions: [] }, { text: 'Go' }).text?.length, 50);
  assert.deepEqual(chosenAction({}, { text: 'Go', payload: 'g' }), { text: 'Go', payload: 'g' });
});

test('the console labels keys and names a postback by the card that carries its payload', () => {
  assert.equal(labelOf('emailAddresses'), 'Email');
  assert.equal(labelOf('orderNumber'), 'Order number');
  assert.equal(labelOf('loyalty_tier'), 'Loyalty tier');
  const carousel = { body: { richMediaPayload: { items: [{ title: 'City bike', actions: [{ type: 'postback', text: 'Choose', payload: 'city' }] }] } } };
  assert.equal(choiceOf({ text: 'Choose', payload: 'city' }, [carousel]), 'City bike');
  assert.equal(choiceOf({ text: 'City bike', payload: 'city' }, [carousel]), 'City bike');
  assert.equal(choiceOf({ text: 'Something else', payload: 'city' }, [carousel]), 'Something else');
  assert.equal(choiceOf({ text: 'Yes', payload: 'yes' }, [carousel]), 'Yes');
  assert.equal(choiceOf({ payload: 'nope' }, []), 'nope');
});

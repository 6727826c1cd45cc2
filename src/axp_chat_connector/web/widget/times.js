// Times on messages: "2 min ago" on screen, the full date and time on hover (title) and for
// screen readers (visually hidden text), in the widget's language.

import { el } from './dom.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * How long ago, in words: "now", "5 min. ago", "2 hr. ago", "yesterday".
 * @param {number} then ms since the epoch
 * @param {number} now ms since the epoch
 * @param {string} locale
 * @returns {string}
 */
export function relativeTime(then, now, locale) {
  const words = new Intl.RelativeTimeFormat(locale, { numeric: 'auto', style: 'short' });
  const ago = Math.max(0, now - then);
  if (ago < MINUTE) return words.format(0, 'second');
  if (ago < HOUR) return words.format(-Math.floor(ago / MINUTE), 'minute');
  if (ago < DAY) return words.format(-Math.floor(ago / HOUR), 'hour');
  return words.format(-Math.floor(ago / DAY), 'day');
}

/**
 * @param {number} then ms since the epoch
 * @param {string} locale
 */
export function fullTime(then, locale) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(then);
}

/**
 * A `<time>` for a message sent at `at` (ISO-8601; now when missing or unreadable).
 * @param {string | undefined} at
 * @param {string} locale
 * @returns {HTMLTimeElement}
 */
export function timeElement(at, locale) {
  const parsed = at ? Date.parse(at) : NaN;
  const then = Number.isNaN(parsed) ? Date.now() : parsed;
  const node = el(
    'time',
    { datetime: new Date(then).toISOString(), title: fullTime(then, locale) },
    el('span', { 'aria-hidden': 'true', class: 'ago' }, relativeTime(then, Date.now(), locale)),
    el('span', { class: 'visually-hidden' }, fullTime(then, locale)),
  );
  return node;
}

/**
 * Bring every relative time under `root` up to date.
 * @param {ParentNode} root
 * @param {string} locale
 */
export function refreshTimes(root, locale) {
  const now = Date.now();
  for (const node of root.querySelectorAll('time[datetime]')) {
    const ago = node.querySelector('.ago');
    const then = Date.parse(node.getAttribute('datetime') ?? '');
    if (ago && !Number.isNaN(then)) ago.textContent = relativeTime(then, now, locale);
  }
}

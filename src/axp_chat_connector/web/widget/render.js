// How each kind of `message` event looks: text (plain or safe Markdown), quick replies,
// postback and link buttons, carousel cards, a location, attachments.

import { PIN_ICON, el, icon } from './dom.js';
import { renderMarkdown, safeUrl } from './markdown.js';

/**
 * @typedef {{type?: string, text?: string, payload?: string, uri?: string}} Action
 * @typedef {{title?: string, description?: string, mediaUrl?: string, actions?: Action[]}} Item
 * @typedef {{actions?: Action[], items?: Item[], coordinates?: {lat?: number, long?: number}, location?: {name?: string, address?: string}, selectedAction?: Action}} RichMedia
 * @typedef {{attachmentId?: string, id?: string, name?: string, size?: number, contentType?: string, url?: string, captionText?: string, thumbnailUrl?: string}} Attachment
 * @typedef {{type: string, seq?: number, messageId?: string, clientMessageId?: string, from?: {id?: string, type?: string, name?: string}, elementType?: string, text?: string, format?: string, fallbackText?: string, payload?: string, richMedia?: RichMedia, attachments?: Attachment[]}} MessageEvent
 * @typedef {{reply: (action: Action) => void, postback: (action: Action) => void}} ActionHandlers
 */

/**
 * A URL from the contact centre that may be shown: absolute http(s), or relative to the
 * connector (AXP media links can be relative).
 * @param {string | undefined} raw
 * @param {string} base
 * @returns {string | null}
 */
export function mediaUrl(raw, base) {
  if (!raw) return null;
  try {
    const url = new URL(raw, `${base}/`);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * The text part of a message.
 * @param {MessageEvent} message
 * @returns {HTMLElement}
 */
export function textOf(message) {
  const text = message.text ?? message.fallbackText ?? message.richMedia?.selectedAction?.text ?? '';
  const node = el('div', { class: 'text' });
  if (message.format === 'MARKDOWN') node.innerHTML = renderMarkdown(text);
  else node.textContent = text;
  return node;
}

/**
 * @param {Action} action
 * @param {ActionHandlers} handlers
 * @returns {HTMLElement | null}
 */
function actionButton(action, handlers) {
  const label = action.text || action.payload || action.type || '';
  if (action.type === 'link') {
    const href = safeUrl(action.uri ?? '');
    return href
      ? el('a', { class: 'button link', href, target: '_blank', rel: 'noopener noreferrer' }, label)
      : null;
  }
  if (action.type === 'postback') {
    const button = el('button', { type: 'button', class: 'button' }, label);
    button.addEventListener('click', () => handlers.postback(action));
    return button;
  }
  if (action.type === 'reply') {
    const button = el('button', { type: 'button', class: 'button quick' }, label);
    button.addEventListener('click', () => handlers.reply(action));
    return button;
  }
  return null;
}

/**
 * The quick replies (shown under the newest message only) of a message.
 * @param {MessageEvent} message
 * @param {ActionHandlers} handlers
 * @returns {HTMLElement | null}
 */
export function quickRepliesOf(message, handlers) {
  const actions = (message.richMedia?.actions ?? []).filter((a) => a.type === 'reply');
  if (actions.length === 0) return null;
  const buttons = actions.map((a) => actionButton(a, handlers)).filter((b) => b !== null);
  return el('div', { class: 'quick-replies', role: 'group', 'aria-label': 'Quick replies' }, ...buttons);
}

/**
 * Buttons, carousel, location and attachments of a message (everything but text and quick
 * replies).
 * @param {MessageEvent} message
 * @param {ActionHandlers} handlers
 * @param {string} base the connector URL, for relative media links
 * @returns {HTMLElement[]}
 */
export function extrasOf(message, handlers, base) {
  /** @type {HTMLElement[]} */
  const parts = [];
  const rich = message.richMedia ?? {};
  const buttons = (rich.actions ?? [])
    .filter((a) => a.type !== 'reply')
    .map((a) => actionButton(a, handlers))
    .filter((b) => b !== null);
  if (buttons.length > 0) parts.push(el('div', { class: 'buttons' }, ...buttons));
  if (rich.items?.length) parts.push(carousel(rich.items, handlers, base));
  if (message.elementType === 'location' || rich.coordinates) {
    const place = location(rich);
    if (place) parts.push(place);
  }
  if (message.attachments?.length) parts.push(attachments(message.attachments, base));
  return parts;
}

/**
 * @param {Item[]} items
 * @param {ActionHandlers} handlers
 * @param {string} base
 */
function carousel(items, handlers, base) {
  const cards = items.map((item, i) => {
    const image = mediaUrl(item.mediaUrl, base);
    const actions = (item.actions ?? []).map((a) => actionButton(a, handlers)).filter((b) => b !== null);
    return el(
      'li',
      { class: 'card', 'aria-label': `${i + 1} of ${items.length}: ${item.title ?? ''}` },
      image ? el('img', { src: image, alt: '', loading: 'lazy' }) : null,
      el('strong', {}, item.title ?? ''),
      item.description ? el('p', {}, item.description) : null,
      actions.length ? el('div', { class: 'buttons' }, ...actions) : null,
    );
  });
  return el('ul', { class: 'carousel', 'aria-label': 'Options' }, ...cards);
}

/** @param {RichMedia} rich */
function location(rich) {
  const lat = rich.coordinates?.lat;
  const long = rich.coordinates?.long;
  const name = rich.location?.name;
  const address = rich.location?.address;
  if (typeof lat !== 'number' || typeof long !== 'number') {
    return name || address ? el('div', { class: 'location' }, icon(PIN_ICON), [name, address].filter(Boolean).join(', ')) : null;
  }
  const href = `https://www.openstreetmap.org/?mlat=${lat}&mlon=${long}#map=16/${lat}/${long}`;
  return el(
    'div',
    { class: 'location' },
    icon(PIN_ICON),
    el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, name || address || `${lat}, ${long}`),
    name && address ? el('span', { class: 'address' }, address) : null,
  );
}

/**
 * @param {Attachment[]} list
 * @param {string} base
 */
function attachments(list, base) {
  const items = list.map((file) => {
    const href = mediaUrl(file.url, base);
    const name = file.name || 'attachment';
    const size = typeof file.size === 'number' ? ` (${formatSize(file.size)})` : '';
    const thumb = mediaUrl(file.thumbnailUrl, base) ?? (file.contentType?.startsWith('image/') ? href : null);
    const label = el('span', {}, `${name}${size}`);
    const content = [thumb ? el('img', { src: thumb, alt: file.captionText || name, loading: 'lazy' }) : null, label];
    return el(
      'li',
      {},
      href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', download: name }, ...content) : el('span', {}, ...content),
      file.captionText ? el('span', { class: 'caption' }, file.captionText) : null,
    );
  });
  return el('ul', { class: 'attachments', 'aria-label': 'Attachments' }, ...items);
}

/** @param {number} bytes */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

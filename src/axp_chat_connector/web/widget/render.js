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
 * @typedef {{handlers: ActionHandlers, base: string, t: import('./i18n.js').Translate}} RenderContext
 *   what drawing needs: the action handlers, the connector URL (relative media links) and the
 *   widget's strings
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
 * @param {RenderContext} ctx
 * @returns {HTMLElement | null}
 */
export function quickRepliesOf(message, ctx) {
  const actions = (message.richMedia?.actions ?? []).filter((a) => a.type === 'reply');
  if (actions.length === 0) return null;
  const buttons = actions.map((a) => actionButton(a, ctx.handlers)).filter((b) => b !== null);
  return el('div', { class: 'quick-replies', role: 'group', 'aria-label': ctx.t('quickReplies') }, ...buttons);
}

/**
 * Buttons, carousel, location and attachments of a message (everything but text and quick
 * replies).
 * @param {MessageEvent} message
 * @param {RenderContext} ctx
 * @returns {HTMLElement[]}
 */
export function extrasOf(message, ctx) {
  const { handlers } = ctx;
  /** @type {HTMLElement[]} */
  const parts = [];
  const rich = message.richMedia ?? {};
  const buttons = (rich.actions ?? [])
    .filter((a) => a.type !== 'reply')
    .map((a) => actionButton(a, handlers))
    .filter((b) => b !== null);
  if (buttons.length > 0) parts.push(el('div', { class: 'buttons' }, ...buttons));
  if (rich.items?.length) parts.push(carousel(rich.items, ctx));
  if (message.elementType === 'location' || rich.coordinates) {
    const place = location(rich);
    if (place) parts.push(place);
  }
  if (message.attachments?.length) parts.push(attachments(message.attachments, ctx));
  return parts;
}

/**
 * What choosing a card's action says, to both sides: the card's title (and the button's label
 * when the card has more than one), not a bare "Choose".
 * @param {Item} item
 * @param {Action} action
 * @returns {Action}
 */
export function chosenAction(item, action) {
  const title = item.title?.trim();
  if (!title) return action;
  const several = (item.actions ?? []).filter((a) => a.type === 'postback').length > 1;
  const text = several && action.text ? `${title}: ${action.text}` : title;
  return { ...action, text: text.slice(0, 50) };
}

/**
 * An image that takes itself away when it cannot load (no broken-image icon).
 * @param {string} src
 * @param {string} alt
 */
function image(src, alt) {
  const node = el('img', { src, alt, loading: 'lazy' });
  node.addEventListener('error', () => node.remove(), { once: true });
  return node;
}

/**
 * @param {Item[]} items
 * @param {RenderContext} ctx
 */
function carousel(items, ctx) {
  const cards = items.map((item, i) => {
    const src = mediaUrl(item.mediaUrl, ctx.base);
    const cardHandlers = { ...ctx.handlers, postback: (/** @type {Action} */ a) => ctx.handlers.postback(chosenAction(item, a)) };
    const actions = (item.actions ?? []).map((a) => actionButton(a, cardHandlers)).filter((b) => b !== null);
    return el(
      'li',
      { class: 'card', 'aria-label': ctx.t('cardOf', { n: i + 1, total: items.length, title: item.title ?? '' }) },
      src ? image(src, '') : null,
      el('strong', {}, item.title ?? ''),
      item.description ? el('p', {}, item.description) : null,
      actions.length ? el('div', { class: 'buttons' }, ...actions) : null,
    );
  });
  return el('ul', { class: 'carousel', 'aria-label': ctx.t('options') }, ...cards);
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
 * @param {RenderContext} ctx
 */
function attachments(list, ctx) {
  const base = ctx.base;
  const items = list.map((file) => {
    const href = mediaUrl(file.url, base);
    const name = file.name || ctx.t('attachment');
    const size = typeof file.size === 'number' ? ` (${formatSize(file.size)})` : '';
    const thumb = mediaUrl(file.thumbnailUrl, base) ?? (file.contentType?.startsWith('image/') ? href : null);
    const label = el('span', {}, `${name}${size}`);
    const content = [thumb ? image(thumb, file.captionText || name) : null, label];
    return el(
      'li',
      {},
      href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer', download: name }, ...content) : el('span', {}, ...content),
      file.captionText ? el('span', { class: 'caption' }, file.captionText) : null,
    );
  });
  return el('ul', { class: 'attachments', 'aria-label': ctx.t('attachments') }, ...items);
}

/** @param {number} bytes */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

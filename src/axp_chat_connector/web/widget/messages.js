// The message log of the widget: bubbles (grouped by sender, with their time and, for the
// customer's, a status: Sending…, Sent, Delivered, Not sent + Retry), system lines, and what
// an ended chat leaves behind (nothing clickable, no retry into the next chat).

import { el } from './dom.js';
import { extrasOf, quickRepliesOf, textOf } from './render.js';
import { timeElement } from './times.js';

/** @typedef {import('./render.js').MessageEvent} MessageEvent */
/** @typedef {import('./render.js').Action} Action */
/** @typedef {import('./i18n.js').MessageKey} MessageKey */
/**
 * @typedef {object} LogDeps
 * @property {import('./i18n.js').Translate} t
 * @property {string} locale
 * @property {import('./render.js').RenderContext} render
 * @property {() => boolean} chatOpen whether a failed send may still be retried
 * @property {(kind: 'text' | 'reply' | 'postback', text: string, action: Action) => void} resend
 */

export class MessageLog {
  /**
   * @param {HTMLElement} log
   * @param {LogDeps} deps
   */
  constructor(log, deps) {
    this.log = log;
    this.deps = deps;
    /** @type {Set<string>} messageId / clientMessageId already drawn */
    this.drawn = new Set();
    /** @type {Map<string, {node: HTMLElement, text: string}>} this page's sends, by command id */
    this.pending = new Map();
    this.offline = false;
  }

  /**
   * While the link is down, a send waiting for it says so (instead of "Sending…").
   * @param {boolean} offline
   */
  setOffline(offline) {
    this.offline = offline;
    for (const { node } of this.pending.values()) {
      if (node.dataset.status === 'sending') this.label(node, 'sending');
    }
  }

  /**
   * A message bubble; a bubble from the same sender as the one above joins its group (the
   * sender's name is shown once).
   * @param {{customer: boolean, sender: string, name: string, at?: string}} who
   * @param {(HTMLElement | null)[]} content
   */
  bubble(who, content) {
    const above = /** @type {HTMLElement | null} */ (this.log.lastElementChild);
    const continued = above?.classList.contains('msg') === true && above.dataset.sender === who.sender;
    const status = who.customer ? el('span', { class: 'status' }) : null;
    const node = el(
      'div',
      { class: `msg ${who.customer ? 'customer' : 'agent'}${continued ? ' continued' : ''}`, 'data-sender': who.sender, 'data-name': who.name },
      who.customer || continued ? null : el('span', { class: 'who' }, who.name),
      ...content,
      el('div', { class: 'meta' }, timeElement(who.at, this.deps.locale), status),
    );
    this.log.append(node);
    return node;
  }

  /**
   * A customer bubble for a send of this page, before the connector has answered.
   * @param {string} id
   * @param {string} text
   * @param {{kind: 'reply' | 'postback', action: Action}} [retry]
   */
  own(id, text, retry) {
    const node = this.bubble({ customer: true, sender: 'customer', name: this.deps.t('you') }, [el('div', { class: 'text' }, text)]);
    this.pending.set(id, { node, text });
    this.drawn.add(id);
    this.status(id, 'sending');
    this.scroll();
    node.dataset.retry = retry ? retry.kind : 'text';
    if (retry) node.dataset.action = JSON.stringify(retry.action);
  }

  /**
   * @param {string} id
   * @param {'sending' | 'sent' | 'delivered' | 'failed'} status
   * @param {string} [why]
   */
  status(id, status, why) {
    const entry = this.pending.get(id);
    if (!entry) return;
    const { node, text } = entry;
    // An answer after the echo does not downgrade "delivered".
    if (status === 'sent' && node.dataset.status !== 'sending') return;
    this.label(node, status);
    if (status !== 'failed' || !this.deps.chatOpen()) return;
    const label = /** @type {HTMLElement} */ (node.querySelector('.status'));
    label.append(why ? ` (${why}). ` : '. ');
    const retry = el('button', { type: 'button', class: 'retry' }, this.deps.t('retry'));
    retry.addEventListener('click', () => {
      node.remove();
      this.pending.delete(id);
      const kind = node.dataset.retry === 'reply' || node.dataset.retry === 'postback' ? node.dataset.retry : 'text';
      this.deps.resend(kind, text, JSON.parse(node.dataset.action ?? '{}'));
    });
    label.append(retry);
  }

  /**
   * @param {HTMLElement} node a customer bubble
   * @param {'sending' | 'sent' | 'delivered' | 'failed'} status
   */
  label(node, status) {
    /** @type {Record<typeof status, MessageKey>} */
    const words = { sending: 'sending', sent: 'sent', delivered: 'delivered', failed: 'notSent' };
    node.dataset.status = status;
    const label = node.querySelector('.status');
    const waiting = status === 'sending' && this.offline;
    if (label) label.textContent = this.deps.t(waiting ? 'queued' : words[status]);
  }

  /** @param {string} text */
  system(text) {
    this.log.append(el('div', { class: 'system' }, text));
    this.scroll();
  }

  /**
   * Draw a message event once (the echo of this page's own send only marks it delivered).
   * @param {MessageEvent & {at?: string}} message
   * @param {(from: {id?: string, name?: string}) => string} nameOf an agent's name
   * @returns {'agent' | 'customer' | null} who said it, when it was drawn
   */
  message(message, nameOf) {
    const own = message.clientMessageId;
    if (own && this.pending.has(own)) {
      this.status(own, 'delivered');
      if (message.messageId) this.drawn.add(message.messageId);
      return null;
    }
    const key = message.messageId ?? own;
    if (key && this.drawn.has(key)) return null;
    if (key) this.drawn.add(key);
    if (own) this.drawn.add(own);
    const from = message.from ?? {};
    const customer = from.type === 'CUSTOMER';
    this.log.querySelectorAll('.quick-replies').forEach((node) => node.remove());
    const name = customer ? this.deps.t('you') : nameOf(from);
    const sender = customer ? 'customer' : from.id ?? name;
    const node = this.bubble({ customer, sender, name, at: message.at }, [textOf(message), ...extrasOf(message, this.deps.render)]);
    // A customer message the connector echoed (sent before this page loaded, or from another tab).
    if (customer) this.label(node, 'delivered');
    const quick = customer ? null : quickRepliesOf(message, this.deps.render);
    if (quick) this.log.append(quick);
    this.scroll();
    return customer ? 'customer' : 'agent';
  }

  /** The chat is over: its buttons no longer act, and failed sends cannot be retried into the next one. */
  close() {
    this.log.querySelectorAll('.quick-replies').forEach((node) => node.remove());
    for (const button of this.log.querySelectorAll('button')) button.disabled = true;
    for (const [id, { node }] of this.pending) {
      if (node.dataset.status !== 'failed') continue;
      node.querySelector('.retry')?.remove();
      this.label(node, 'failed');
      this.pending.delete(id);
    }
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** A new session: nothing of the old one is kept. */
  clear() {
    this.pending.clear();
    this.drawn.clear();
    this.log.replaceChildren();
  }
}

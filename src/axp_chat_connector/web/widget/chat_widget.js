// The chat widget: a launcher button, a pre-chat form and a chat window, in a shadow root so
// that the site's styles and the widget's do not mix. It drives the SDK's ChatClient and draws
// what its events say; every text from either side goes in as text (Markdown through the safe
// renderer only).

import { ChatClient } from '../sdk/index.js';
import { directionOf, pickLocale, translator } from './i18n.js';
import { applyTheme, layout } from './layout.js';
import { el } from './dom.js';
import { parseFields, readPrechat, showPrechatErrors } from './prechat.js';
import { extrasOf, quickRepliesOf, textOf } from './render.js';
import { refreshTimes, timeElement } from './times.js';
import { download, transcriptText } from './transcript.js';

/** @typedef {import('./render.js').MessageEvent} MessageEvent */
/** @typedef {import('./render.js').Action} Action */
/** @typedef {import('./i18n.js').MessageKey} MessageKey */

/**
 * @typedef {object} WidgetOptions
 * @property {string} connector   the connector's base URL
 * @property {string} base        the URL of the widget's directory (for widget.css)
 * @property {string} [fields]    optional pre-chat fields, see prechat.js
 * @property {boolean} [open]     open the window on load
 * @property {string} [locale]    language (`en`, `de`, `fr`, `es`, `ar`); default: the page's
 * @property {ChatClient} [client] for tests
 * @typedef {WidgetOptions & import('./layout.js').Theme} WidgetSettings
 */

const OPEN_KEY = 'axp-chat-widget:open';
const TYPING_SHOWN_MS = 6000;
const TIMES_EVERY_MS = 30_000;
const PAGE_LIMIT = 256;

/** @type {Record<string, MessageKey>} */
const ENDED = {
  USER_CLOSED: 'endedUser',
  AGENT_CLOSED: 'endedAgent',
  USER_INACTIVE: 'endedInactive',
  SYSTEM_CLOSED: 'endedSystem',
};

/** @returns {Record<string, string>} where the customer is, as session parameters */
function pageContext() {
  return {
    pageUrl: location.href.slice(0, PAGE_LIMIT),
    pageTitle: (document.title || location.pathname).slice(0, PAGE_LIMIT),
  };
}

/** @param {string} key @returns {string | null} */
function remembered(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

/** @param {string} key @param {string} value */
function remember(key, value) {
  try {
    sessionStorage.setItem(key, value);
  } catch {
    // not kept: fine
  }
}

/** @param {unknown} err */
function reason(err) {
  return err instanceof Error ? err.message : String(err);
}

export class ChatWidget {
  /** @param {WidgetSettings} options */
  constructor(options) {
    this.options = options;
    this.fields = parseFields(options.fields);
    this.locale = pickLocale(options.locale, document.documentElement.lang);
    this.t = translator(this.locale);
    this.client = options.client ?? new ChatClient({ connector: options.connector });
    this.chatOpen = false;
    this.wasOnline = false;
    this.linkDown = false;
    this.browserOffline = navigator.onLine === false;
    this.contextSent = false;
    /** @type {Map<string, string>} participant id -> name */
    this.agents = new Map();
    /** @type {Set<string>} messageId / clientMessageId already drawn */
    this.drawn = new Set();
    /** @type {Map<string, {node: HTMLElement, text: string}>} this page's sends, by command id */
    this.pending = new Map();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typingTimer = undefined;
    this.ui = layout(this.fields, this.t, { locale: this.locale, dir: directionOf(this.locale), base: options.base });
    applyTheme(this.ui, options);
    this.render = {
      base: options.connector,
      t: this.t,
      handlers: {
        reply: (/** @type {Action} */ a) => this.#act('reply', a),
        postback: (/** @type {Action} */ a) => this.#act('postback', a),
      },
    };
    this.#wire();
    this.#listen();
    if (this.client.hasSession) this.#showChat();
    else this.#showForm();
    this.#sendContext();
    const open = options.open || remembered(OPEN_KEY) === '1';
    this.#setOpen(open, false);
    setInterval(() => refreshTimes(this.ui.log, this.locale), TIMES_EVERY_MS);
  }

  /**
   * Re-theme the widget at run time (brand colour, title, launcher position, logo).
   * @param {import('./layout.js').Theme} theme
   */
  setTheme(theme) {
    applyTheme(this.ui, theme);
  }

  // ---- layout --------------------------------------------------------------------------

  #wire() {
    const ui = this.ui;
    ui.launcher.addEventListener('click', () => this.#setOpen(ui.panel.hidden, true));
    ui.minimize.addEventListener('click', () => this.#setOpen(false, true));
    ui.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.#setOpen(false, true);
    });
    ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#login();
    });
    ui.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#sendText(ui.input.value);
    });
    ui.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        ui.composer.requestSubmit();
      }
    });
    ui.endButton.addEventListener('click', () => {
      ui.confirm.hidden = false;
      ui.confirmNo.focus();
    });
    ui.confirmNo.addEventListener('click', () => {
      ui.confirm.hidden = true;
      ui.endButton.focus();
    });
    ui.confirmYes.addEventListener('click', () => {
      ui.confirm.hidden = true;
      this.client.end().catch((err) => this.#system(this.t('cannotEnd', { error: reason(err) })));
    });
    ui.idleButton.addEventListener('click', () => this.#sendText(this.t('stillHere')));
    ui.restartButton.addEventListener('click', () => void this.#startChat());
    ui.download.addEventListener('click', () => {
      const text = transcriptText(ui.log, { title: this.t('transcript'), you: this.t('you') });
      download(text, `chat-${new Date().toISOString().slice(0, 10)}.txt`);
    });
    window.addEventListener('offline', () => this.#connectivity(true));
    window.addEventListener('online', () => this.#connectivity(false));
  }

  /** @param {boolean} offline */
  #connectivity(offline) {
    this.browserOffline = offline;
    this.ui.banner.hidden = !(this.linkDown || this.browserOffline);
  }

  /**
   * @param {boolean} open
   * @param {boolean} moveFocus
   */
  #setOpen(open, moveFocus) {
    this.ui.panel.hidden = !open;
    this.ui.launcher.setAttribute('aria-expanded', String(open));
    remember(OPEN_KEY, open ? '1' : '0');
    if (open) this.#unread(false);
    if (open) this.#scroll();
    if (!moveFocus) return;
    if (open) {
      const target = this.ui.form.hidden ? this.ui.input : this.ui.form.querySelector('input');
      target?.focus();
    } else {
      this.ui.launcher.focus();
    }
  }

  /** @param {boolean} on */
  #unread(on) {
    const badge = /** @type {HTMLElement | null} */ (this.ui.launcher.querySelector('.unread'));
    if (badge) badge.hidden = !on;
  }

  #showForm() {
    this.ui.form.hidden = false;
    this.ui.chat.hidden = true;
    this.ui.endButton.hidden = true;
    this.ui.confirm.hidden = true;
    this.ui.subtitle.textContent = '';
  }

  #showChat() {
    this.ui.form.hidden = true;
    this.ui.chat.hidden = false;
    this.#chatState();
  }

  #chatState() {
    this.ui.endButton.hidden = !this.chatOpen;
    this.ui.composer.hidden = !this.chatOpen;
    this.ui.restart.hidden = this.chatOpen || !this.client.hasSession;
    if (!this.chatOpen) {
      this.ui.idle.hidden = true;
      this.ui.confirm.hidden = true;
      this.ui.subtitle.textContent = '';
    } else {
      const names = [...this.agents.values()];
      this.ui.subtitle.textContent = names.length ? this.t('chattingWith', { names: names.join(', ') }) : this.t('waiting');
    }
    this.#scroll();
  }

  // ---- commands ------------------------------------------------------------------------

  async #login() {
    const error = /** @type {HTMLElement} */ (this.ui.form.querySelector('.error'));
    const submit = /** @type {HTMLButtonElement} */ (this.ui.form.querySelector('button[type=submit]'));
    const values = readPrechat(this.ui.form, this.fields, this.t);
    if (!showPrechatErrors(this.ui.form, values.errors, this.t)) return;
    submit.disabled = true;
    // The login carries the page as session parameters: no separate `context` for this page.
    this.contextSent = true;
    try {
      await this.client.login({
        customer: { displayName: values.displayName, identifiers: values.identifiers },
        parameters: { ...pageContext(), ...values.parameters },
      });
      this.#showChat();
      await this.#startChat();
    } catch (err) {
      this.contextSent = false;
      error.textContent = this.t('cannotStart', { error: reason(err) });
    } finally {
      submit.disabled = false;
    }
  }

  async #startChat() {
    this.ui.restart.hidden = true;
    try {
      await this.client.start();
      this.ui.input.focus();
    } catch (err) {
      this.#system(this.t('cannotStart', { error: reason(err) }));
      this.ui.restart.hidden = false;
    }
  }

  /** Tell the contact centre which page the customer is on (once per page load). */
  #sendContext() {
    if (this.contextSent || !this.client.hasSession) return;
    this.contextSent = true;
    this.client.context(pageContext()).catch(() => {});
  }

  /** @param {string} raw */
  #sendText(raw) {
    const text = raw.trim();
    if (!text) return;
    this.ui.input.value = '';
    const sending = this.client.send(text);
    this.#own(sending.id, text);
    this.ui.idle.hidden = true;
    sending.then(
      () => this.#status(sending.id, 'sent'),
      (err) => this.#status(sending.id, 'failed', err.message),
    );
  }

  /**
   * @param {'reply' | 'postback'} kind
   * @param {Action} action
   */
  #act(kind, action) {
    const label = action.text || action.payload || '';
    /** @type {{text?: string, payload?: string}} */
    const answer = {};
    if (action.text) answer.text = action.text;
    if (action.payload) answer.payload = action.payload;
    const sending = kind === 'reply' ? this.client.reply(answer) : this.client.postback(answer);
    this.#own(sending.id, label, { kind, action });
    this.ui.log.querySelectorAll('.quick-replies').forEach((node) => node.remove());
    sending.then(
      () => this.#status(sending.id, 'sent'),
      (err) => this.#status(sending.id, 'failed', err.message),
    );
  }

  // ---- drawing -------------------------------------------------------------------------

  /**
   * A message bubble; a bubble from the same sender as the one above joins its group (the
   * sender's name is shown once).
   * @param {{customer: boolean, sender: string, name: string, at?: string}} who
   * @param {(HTMLElement | null)[]} content
   */
  #bubble(who, content) {
    const above = /** @type {HTMLElement | null} */ (this.ui.log.lastElementChild);
    const continued = above?.classList.contains('msg') === true && above.dataset.sender === who.sender;
    const status = who.customer ? el('span', { class: 'status' }) : null;
    const node = el(
      'div',
      { class: `msg ${who.customer ? 'customer' : 'agent'}${continued ? ' continued' : ''}`, 'data-sender': who.sender, 'data-name': who.name },
      who.customer || continued ? null : el('span', { class: 'who' }, who.name),
      ...content,
      el('div', { class: 'meta' }, timeElement(who.at, this.locale), status),
    );
    this.ui.log.append(node);
    return node;
  }

  /**
   * A customer bubble for a send of this page, before the connector has answered.
   * @param {string} id
   * @param {string} text
   * @param {{kind: 'reply' | 'postback', action: Action}} [retry]
   */
  #own(id, text, retry) {
    const node = this.#bubble({ customer: true, sender: 'customer', name: this.t('you') }, [el('div', { class: 'text' }, text)]);
    this.pending.set(id, { node, text });
    this.drawn.add(id);
    this.#status(id, 'sending');
    this.#scroll();
    node.dataset.retry = retry ? retry.kind : 'text';
    if (retry) node.dataset.action = JSON.stringify(retry.action);
  }

  /**
   * @param {string} id
   * @param {'sending' | 'sent' | 'delivered' | 'failed'} status
   * @param {string} [why]
   */
  #status(id, status, why) {
    const entry = this.pending.get(id);
    if (!entry) return;
    const { node, text } = entry;
    // An answer after the echo does not downgrade "delivered".
    if (status === 'sent' && node.dataset.status !== 'sending') return;
    this.#label(node, status);
    if (status !== 'failed' || !this.chatOpen) return;
    const label = /** @type {HTMLElement} */ (node.querySelector('.status'));
    label.append(why ? ` (${why}). ` : '. ');
    const retry = el('button', { type: 'button', class: 'retry' }, this.t('retry'));
    retry.addEventListener('click', () => {
      node.remove();
      this.pending.delete(id);
      if (node.dataset.retry === 'text') this.#sendText(text);
      else this.#act(node.dataset.retry === 'reply' ? 'reply' : 'postback', JSON.parse(node.dataset.action ?? '{}'));
    });
    label.append(retry);
  }

  /**
   * @param {HTMLElement} node a customer bubble
   * @param {'sending' | 'sent' | 'delivered' | 'failed'} status
   */
  #label(node, status) {
    /** @type {Record<typeof status, MessageKey>} */
    const words = { sending: 'sending', sent: 'sent', delivered: 'delivered', failed: 'notSent' };
    node.dataset.status = status;
    const label = node.querySelector('.status');
    if (label) label.textContent = this.t(words[status]);
  }

  /** @param {string} text */
  #system(text) {
    this.ui.log.append(el('div', { class: 'system' }, text));
    this.#scroll();
  }

  /** @param {MessageEvent & {at?: string}} message */
  #message(message) {
    const own = message.clientMessageId;
    if (own && this.pending.has(own)) {
      this.#status(own, 'delivered');
      if (message.messageId) this.drawn.add(message.messageId);
      return;
    }
    const key = message.messageId ?? own;
    if (key && this.drawn.has(key)) return;
    if (key) this.drawn.add(key);
    if (own) this.drawn.add(own);
    const from = message.from ?? {};
    const customer = from.type === 'CUSTOMER';
    this.ui.log.querySelectorAll('.quick-replies').forEach((node) => node.remove());
    const name = customer ? this.t('you') : from.name || this.agents.get(from.id ?? '') || this.t('agent');
    const sender = customer ? 'customer' : from.id ?? name;
    const node = this.#bubble({ customer, sender, name, at: message.at }, [textOf(message), ...extrasOf(message, this.render)]);
    // A customer message the connector echoed (sent before this page loaded, or from another tab).
    if (customer) this.#label(node, 'delivered');
    if (!customer) {
      const quick = quickRepliesOf(message, this.render);
      if (quick) this.ui.log.append(quick);
      this.ui.typing.hidden = true;
      if (this.ui.panel.hidden) this.#unread(true);
    }
    this.#scroll();
  }

  /** The chat is over: its buttons no longer act, and failed sends cannot be retried into the next one. */
  #closeChat() {
    this.ui.log.querySelectorAll('.quick-replies').forEach((node) => node.remove());
    for (const button of this.ui.log.querySelectorAll('button')) button.disabled = true;
    for (const [id, { node }] of this.pending) {
      if (node.dataset.status !== 'failed') continue;
      node.querySelector('.retry')?.remove();
      this.#label(node, 'failed');
      this.pending.delete(id);
    }
  }

  #scroll() {
    this.ui.log.scrollTop = this.ui.log.scrollHeight;
  }

  // ---- events --------------------------------------------------------------------------

  #listen() {
    const c = this.client;
    const t = this.t;
    c.on('session', () => {
      this.#sendContext();
      if (this.ui.form.hidden === false && this.client.hasSession) this.#showChat();
    });
    c.on('chat.started', () => {
      this.chatOpen = true;
      this.agents.clear();
      this.#chatState();
      this.#system(t('started'));
    });
    c.on('participant.joined', (event) => {
      const who = event.participant ?? {};
      const name = who.name || (who.type === 'BOT' ? t('bot') : t('anAgent'));
      this.agents.set(who.id ?? name, name);
      this.#system(t('joined', { name }));
      this.#chatState();
    });
    c.on('participant.left', (event) => {
      const who = event.participant ?? {};
      const name = who.name || this.agents.get(who.id) || t('theAgent');
      this.agents.delete(who.id ?? name);
      this.#system(t('left', { name }));
      this.#chatState();
    });
    c.on('message', (event) => this.#message(event));
    c.on('history', (event) => {
      for (const message of event.messages ?? []) this.#message(message);
    });
    c.on('message.failed', (event) => this.#status(event.clientMessageId, 'failed', event.detail ? String(event.detail) : event.code));
    c.on('typing', (event) => {
      const name = event.from?.name || this.agents.get(event.from?.id) || t('theAgent');
      this.ui.typing.textContent = t('typing', { name });
      this.ui.typing.hidden = false;
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => {
        this.ui.typing.hidden = true;
      }, TYPING_SHOWN_MS);
    });
    c.on('chat.idle', () => {
      this.ui.idle.hidden = false;
      if (this.ui.panel.hidden) this.#unread(true);
    });
    c.on('chat.error', (event) => this.#system(t('wentWrong', { error: event.title || event.code })));
    c.on('chat.ended', (event) => {
      this.chatOpen = false;
      this.agents.clear();
      this.ui.typing.hidden = true;
      this.#closeChat();
      this.#system(t(ENDED[event.reason] ?? 'endedOther'));
      this.#chatState();
    });
    c.on('session.ended', () => {
      this.chatOpen = false;
      this.agents.clear();
      this.pending.clear();
      this.drawn.clear();
      this.ui.log.replaceChildren();
      this.contextSent = false;
      this.#showForm();
    });
    c.on('status', (event) => {
      if (event.state === 'online') this.wasOnline = true;
      this.linkDown = event.state === 'offline' || (event.state === 'connecting' && this.wasOnline);
      this.#connectivity(this.browserOffline && event.state !== 'online');
    });
  }
}

/**
 * @param {WidgetSettings} options
 * @returns {ChatWidget}
 */
export function mountWidget(options) {
  return new ChatWidget(options);
}

// The chat widget: a launcher button, a pre-chat form and a chat window, in a shadow root so
// that the site's styles and the widget's do not mix. It drives the SDK's ChatClient and draws
// what its events say; every text from either side goes in as text (Markdown through the safe
// renderer only).

import { ChatClient } from '../sdk/index.js';
import { CHAT_ICON, el, icon } from './dom.js';
import { buildPrechat, parseFields, readPrechat } from './prechat.js';
import { extrasOf, quickRepliesOf, textOf } from './render.js';

/** @typedef {import('./render.js').MessageEvent} MessageEvent */
/** @typedef {import('./render.js').Action} Action */

/**
 * @typedef {object} WidgetOptions
 * @property {string} connector   the connector's base URL
 * @property {string} base        the URL of the widget's directory (for widget.css)
 * @property {string} [title]
 * @property {string} [fields]    optional pre-chat fields, see prechat.js
 * @property {boolean} [open]     open the window on load
 * @property {ChatClient} [client] for tests
 */

const OPEN_KEY = 'axp-chat-widget:open';
const TYPING_SHOWN_MS = 6000;
const PAGE_LIMIT = 256;

/** @type {Record<string, string>} */
const ENDED = {
  USER_CLOSED: 'You ended the chat.',
  AGENT_CLOSED: 'The agent ended the chat.',
  USER_INACTIVE: 'The chat was closed after a period of inactivity.',
  SYSTEM_CLOSED: 'The chat was closed.',
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

/**
 * The widget's elements, in a shadow root appended to the page.
 * @param {WidgetOptions} options
 * @param {import('./prechat.js').FieldSpec[]} fields
 */
function layout(options, fields) {
  const host = el('div', { class: 'axp-chat-widget' });
  document.body.append(host);
  const root = host.attachShadow({ mode: 'open' });
  const title = options.title || 'Chat with us';
  const launcher = el(
    'button',
    { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'axpw-panel' },
    icon(CHAT_ICON),
    el('span', { class: 'label' }, title),
    el('span', { class: 'unread', hidden: true }, 'new'),
  );
  const subtitle = el('p', { class: 'subtitle', 'aria-live': 'polite' });
  const endButton = el('button', { type: 'button', class: 'end', hidden: true }, 'End chat');
  const minimize = el('button', { type: 'button', class: 'minimize', 'aria-label': 'Minimize chat' }, '–');
  const banner = el('div', { class: 'banner', role: 'status', hidden: true }, 'Connection lost. Reconnecting…');
  const form = buildPrechat(fields, 'axpw');
  const log = el('ol', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' });
  const typing = el('div', { class: 'typing', 'aria-live': 'polite', hidden: true });
  const idle = el(
    'div',
    { class: 'idle', role: 'alert', hidden: true },
    el('span', {}, 'Are you still there?'),
    el('button', { type: 'button', class: 'primary' }, "Yes, I'm here"),
  );
  const restart = el(
    'div',
    { class: 'restart', hidden: true },
    el('button', { type: 'button', class: 'primary' }, 'Start a new chat'),
  );
  const input = el('textarea', {
    rows: '1',
    'aria-label': 'Message',
    placeholder: 'Type your message…',
    maxlength: '4096',
  });
  const sendButton = el('button', { type: 'submit', class: 'primary', 'aria-label': 'Send message' }, 'Send');
  const composer = el('form', { class: 'composer' }, input, sendButton);
  const chat = el('div', { class: 'chat', hidden: true }, log, typing, idle, restart, composer);
  const panel = el(
    'section',
    { id: 'axpw-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'axpw-title', hidden: true },
    el(
      'header',
      {},
      el('div', { class: 'titles' }, el('h2', { id: 'axpw-title' }, title), subtitle),
      endButton,
      minimize,
    ),
    banner,
    form,
    chat,
  );
  root.append(
    el('link', { rel: 'stylesheet', href: new URL('widget.css', options.base).href }),
    el('div', { class: 'frame' }, panel, launcher),
  );
  return { root, launcher, subtitle, endButton, minimize, banner, form, log, typing, idle, restart, input, sendButton, composer, chat, panel };
}

export class ChatWidget {
  /** @param {WidgetOptions} options */
  constructor(options) {
    this.options = options;
    this.fields = parseFields(options.fields);
    this.client = options.client ?? new ChatClient({ connector: options.connector });
    this.chatOpen = false;
    this.wasOnline = false;
    this.contextSent = false;
    /** @type {Map<string, string>} participant id -> name */
    this.agents = new Map();
    /** @type {Set<string>} messageId / clientMessageId already drawn */
    this.drawn = new Set();
    /** @type {Map<string, {node: HTMLElement, text: string}>} this page's sends, by command id */
    this.pending = new Map();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typingTimer = undefined;
    this.ui = layout(options, this.fields);
    this.#wire();
    this.#listen();
    if (this.client.hasSession) this.#showChat();
    else this.#showForm();
    this.#sendContext();
    const open = options.open || remembered(OPEN_KEY) === '1';
    this.#setOpen(open, false);
  }

  // ---- layout --------------------------------------------------------------------------

  #wire() {
    this.ui.launcher.addEventListener('click', () => this.#setOpen(this.ui.panel.hidden, true));
    this.ui.minimize.addEventListener('click', () => this.#setOpen(false, true));
    this.ui.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.#setOpen(false, true);
    });
    this.ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#login();
    });
    this.ui.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#sendText(this.ui.input.value);
    });
    this.ui.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        this.ui.composer.requestSubmit();
      }
    });
    this.ui.endButton.addEventListener('click', () => {
      this.client.end().catch((err) => this.#system(`Could not end the chat: ${err.message}`));
    });
    this.ui.idle.querySelector('button')?.addEventListener('click', () => this.#sendText("I'm still here."));
    this.ui.restart.querySelector('button')?.addEventListener('click', () => void this.#startChat());
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
      this.ui.subtitle.textContent = '';
    } else {
      const names = [...this.agents.values()];
      this.ui.subtitle.textContent = names.length ? `Chatting with ${names.join(', ')}` : 'Waiting for an agent…';
    }
  }

  // ---- commands ------------------------------------------------------------------------

  async #login() {
    const error = /** @type {HTMLElement} */ (this.ui.form.querySelector('.error'));
    const submit = /** @type {HTMLButtonElement} */ (this.ui.form.querySelector('button[type=submit]'));
    const values = readPrechat(this.ui.form, this.fields);
    error.textContent = values.error ?? '';
    if (values.error) return;
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
      error.textContent = `Sorry, the chat could not start: ${err instanceof Error ? err.message : String(err)}`;
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
      this.#system(`Sorry, the chat could not start: ${err instanceof Error ? err.message : String(err)}`);
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
   * A customer bubble for a send of this page, before the connector has answered.
   * @param {string} id
   * @param {string} text
   * @param {{kind: 'reply' | 'postback', action: Action}} [retry]
   */
  #own(id, text, retry) {
    const status = el('span', { class: 'status' }, 'Sending…');
    const node = el('li', { class: 'msg customer', 'data-status': 'sending' }, el('div', { class: 'text' }, text), status);
    this.pending.set(id, { node, text });
    this.drawn.add(id);
    this.ui.log.append(node);
    this.#scroll();
    node.dataset.retry = retry ? retry.kind : 'text';
    if (retry) node.dataset.action = JSON.stringify(retry.action);
  }

  /**
   * @param {string} id
   * @param {'sent' | 'delivered' | 'failed'} status
   * @param {string} [why]
   */
  #status(id, status, why) {
    const entry = this.pending.get(id);
    if (!entry) return;
    const { node, text } = entry;
    // An answer after the echo does not downgrade "delivered".
    if (status === 'sent' && node.dataset.status !== 'sending') return;
    node.dataset.status = status;
    const label = /** @type {HTMLElement} */ (node.querySelector('.status'));
    if (status === 'failed') {
      label.replaceChildren(`Not sent${why ? ` (${why})` : ''}. `);
      const retry = el('button', { type: 'button', class: 'retry' }, 'Retry');
      retry.addEventListener('click', () => {
        node.remove();
        this.pending.delete(id);
        if (node.dataset.retry === 'text') this.#sendText(text);
        else this.#act(node.dataset.retry === 'reply' ? 'reply' : 'postback', JSON.parse(node.dataset.action ?? '{}'));
      });
      label.append(retry);
    } else {
      label.textContent = status === 'delivered' ? 'Delivered' : 'Sent';
    }
  }

  /** @param {string} text */
  #system(text) {
    this.ui.log.append(el('li', { class: 'system' }, text));
    this.#scroll();
  }

  /** @param {MessageEvent} message */
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
    const handlers = { reply: (/** @type {Action} */ a) => this.#act('reply', a), postback: (/** @type {Action} */ a) => this.#act('postback', a) };
    this.ui.log.querySelectorAll('.quick-replies').forEach((node) => node.remove());
    const node = el(
      'li',
      { class: `msg ${customer ? 'customer' : 'agent'}` },
      customer ? null : el('span', { class: 'who' }, from.name || this.agents.get(from.id ?? '') || 'Agent'),
      textOf(message),
      ...extrasOf(message, handlers, this.options.connector),
    );
    this.ui.log.append(node);
    if (!customer) {
      const quick = quickRepliesOf(message, handlers);
      if (quick) this.ui.log.append(quick);
      this.ui.typing.hidden = true;
      if (this.ui.panel.hidden) this.#unread(true);
    }
    this.#scroll();
  }

  #scroll() {
    this.ui.log.scrollTop = this.ui.log.scrollHeight;
  }

  // ---- events --------------------------------------------------------------------------

  #listen() {
    const c = this.client;
    c.on('session', () => {
      this.#sendContext();
      if (this.ui.form.hidden === false && this.client.hasSession) this.#showChat();
    });
    c.on('chat.started', () => {
      this.chatOpen = true;
      this.agents.clear();
      this.#system('Chat started. Waiting for an agent…');
      this.#chatState();
    });
    c.on('participant.joined', (event) => {
      const who = event.participant ?? {};
      const name = who.name || (who.type === 'BOT' ? 'Virtual assistant' : 'An agent');
      this.agents.set(who.id ?? name, name);
      this.#system(`${name} joined the chat`);
      this.#chatState();
    });
    c.on('participant.left', (event) => {
      const who = event.participant ?? {};
      const name = who.name || this.agents.get(who.id) || 'The agent';
      this.agents.delete(who.id ?? name);
      this.#system(`${name} left the chat`);
      this.#chatState();
    });
    c.on('message', (event) => this.#message(event));
    c.on('history', (event) => {
      for (const message of event.messages ?? []) this.#message(message);
    });
    c.on('message.failed', (event) => this.#status(event.clientMessageId, 'failed', event.detail ? String(event.detail) : event.code));
    c.on('typing', (event) => {
      const name = event.from?.name || this.agents.get(event.from?.id) || 'The agent';
      this.ui.typing.textContent = `${name} is typing…`;
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
    c.on('chat.error', (event) => this.#system(`Sorry, something went wrong: ${event.title || event.code}`));
    c.on('chat.ended', (event) => {
      this.chatOpen = false;
      this.agents.clear();
      this.ui.typing.hidden = true;
      this.#system(ENDED[event.reason] ?? 'The chat has ended.');
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
      const down = event.state === 'offline' || (event.state === 'connecting' && this.wasOnline);
      this.ui.banner.hidden = !down;
      this.ui.sendButton.disabled = false;
    });
  }
}

/**
 * @param {WidgetOptions} options
 * @returns {ChatWidget}
 */
export function mountWidget(options) {
  return new ChatWidget(options);
}

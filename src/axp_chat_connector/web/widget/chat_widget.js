// The chat widget: a launcher button, a pre-chat form (or a verified customer's "Start chat")
// and a chat window, in a shadow root so that the site's styles and the widget's do not mix. It
// drives the SDK's ChatClient and draws what its events say; every text from either side goes in
// as text (Markdown through the safe renderer only).

import { ChatClient } from '../sdk/index.js';
import { directionOf, errorText, pickLocale, translator } from './i18n.js';
import { applyTheme, layout } from './layout.js';
import { parseFields, readPrechat, showPrechatErrors } from './prechat.js';
import { IdTokenSource, providerFromUrl } from './identity.js';
import { VerifiedLogin } from './verified.js';
import { MessageLog } from './messages.js';
import { remember, remembered, pageContext } from './page_state.js';
import { refreshTimes } from './times.js';
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
 * @property {string} [idTokenUrl] verified customers: the site's URL answering `{idToken, expiresIn}`
 * @property {import('./identity.js').IdTokenProvider} [idTokenProvider] verified customers: the site's function
 * @property {boolean} [guest]     with a provider: offer the guest form when nobody is signed in
 * @property {ChatClient} [client] for tests
 * @typedef {WidgetOptions & import('./layout.js').Theme} WidgetSettings
 */

const OPEN_KEY = 'axp-chat-widget:open';
const TYPING_SHOWN_MS = 6000;
const TIMES_EVERY_MS = 30_000;

/** @type {Record<string, MessageKey>} */
const ENDED = {
  USER_CLOSED: 'endedUser',
  AGENT_CLOSED: 'endedAgent',
  USER_INACTIVE: 'endedInactive',
  SYSTEM_CLOSED: 'endedSystem',
};

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
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typingTimer = undefined;
    this.ui = layout(this.fields, this.t, { locale: this.locale, dir: directionOf(this.locale), base: options.base });
    applyTheme(this.ui, options);
    const render = {
      base: options.connector,
      t: this.t,
      handlers: {
        reply: (/** @type {Action} */ a) => this.#act('reply', a),
        postback: (/** @type {Action} */ a) => this.#act('postback', a),
      },
    };
    this.log = new MessageLog(this.ui.log, {
      t: this.t,
      locale: this.locale,
      render,
      chatOpen: () => this.chatOpen,
      resend: (kind, text, action) => (kind === 'text' ? this.#sendText(text) : this.#act(kind, action)),
    });
    this.mounted = false;
    /** @type {VerifiedLogin | null} */
    this.verified = null;
    const provider = options.idTokenProvider ?? (options.idTokenUrl ? providerFromUrl(options.idTokenUrl) : null);
    if (provider) this.setIdTokenProvider(provider);
    this.#wire();
    this.#listen();
    if (this.client.hasSession) this.#showChat();
    else this.#showForm();
    this.#sendContext();
    const open = options.open || remembered(OPEN_KEY) === '1';
    this.#setOpen(open, false);
    this.#connectivity(this.browserOffline);
    setInterval(() => refreshTimes(this.ui.log, this.locale), TIMES_EVERY_MS);
    this.mounted = true;
  }

  /**
   * Re-theme the widget at run time (brand colour, title, launcher position, logo).
   * @param {import('./layout.js').Theme} theme
   */
  setTheme(theme) {
    applyTheme(this.ui, theme);
  }

  /**
   * Log customers in as verified: `provider` resolves to the site's id token for whoever is
   * signed in (`{idToken, expiresIn?}` or the token), or null for nobody (identity.js).
   * @param {import('./identity.js').IdTokenProvider} provider
   */
  setIdTokenProvider(provider) {
    if (this.verified) {
      this.verified.source.setProvider(provider);
    } else {
      this.verified = new VerifiedLogin(new IdTokenSource(provider), {
        ui: this.ui.signedIn,
        client: this.client,
        t: this.t,
        guest: this.options.guest === true,
        showGuestForm: (shown) => (this.ui.form.hidden = !shown),
        parameters: () => {
          this.contextSent = true; // the login carries the page: no separate `context`
          return pageContext();
        },
        notLoggedIn: () => (this.contextSent = false),
        loggedIn: async () => {
          this.#showChat();
          await this.#startChat();
        },
      });
    }
    if (this.mounted && !this.client.hasSession) this.#showForm();
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
      this.client.end().catch((err) => this.log.system(this.t('cannotEnd', { error: errorText(err) })));
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
    const down = this.linkDown || this.browserOffline;
    this.ui.banner.hidden = !down;
    this.log.setOffline(down);
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
    if (open) this.log.scroll();
    if (!moveFocus) return;
    if (open) {
      const signedIn = this.ui.signedIn.button.hidden ? null : this.ui.signedIn.button;
      const target = !this.ui.chat.hidden ? this.ui.input : (signedIn ?? this.ui.form.querySelector('input'));
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

  /** Before a session: the pre-chat form, or a verified customer's "Start chat". */
  #showForm() {
    this.ui.form.hidden = this.verified !== null;
    if (this.verified) void this.verified.show();
    this.ui.chat.hidden = true;
    this.ui.endButton.hidden = true;
    this.ui.confirm.hidden = true;
    this.ui.subtitle.textContent = '';
  }

  #showChat() {
    this.ui.form.hidden = true;
    this.verified?.hide();
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
    this.log.scroll();
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
      error.textContent = this.t('cannotStart', { error: errorText(err) });
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
      this.log.system(this.t('cannotStart', { error: errorText(err) }));
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
    this.log.own(sending.id, text);
    this.ui.idle.hidden = true;
    sending.then(
      () => this.log.status(sending.id, 'sent'),
      (err) => this.log.status(sending.id, 'failed', err.message),
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
    this.log.own(sending.id, label, { kind, action });
    this.ui.log.querySelectorAll('.quick-replies').forEach((node) => node.remove());
    sending.then(
      () => this.log.status(sending.id, 'sent'),
      (err) => this.log.status(sending.id, 'failed', err.message),
    );
  }

  /** @param {MessageEvent & {at?: string}} message */
  #message(message) {
    const who = this.log.message(message, (from) => from.name || this.agents.get(from.id ?? '') || this.t('agent'));
    if (who !== 'agent') return;
    this.ui.typing.hidden = true;
    if (this.ui.panel.hidden) this.#unread(true);
  }

  // ---- events --------------------------------------------------------------------------

  /** Who joins and leaves, messages. */
  #listen() {
    const c = this.client;
    const t = this.t;
    c.on('session', () => {
      this.#sendContext();
      if (this.ui.chat.hidden && this.client.hasSession) this.#showChat();
    });
    c.on('chat.started', () => {
      this.chatOpen = true;
      this.agents.clear();
      this.#chatState();
      this.log.system(t('started'));
    });
    c.on('participant.joined', (event) => {
      const who = event.participant ?? {};
      const name = who.name || (who.type === 'BOT' ? t('bot') : t('anAgent'));
      this.agents.set(who.id ?? name, name);
      this.log.system(t('joined', { name }));
      this.#chatState();
    });
    c.on('participant.left', (event) => {
      const who = event.participant ?? {};
      const name = who.name || this.agents.get(who.id) || t('theAgent');
      this.agents.delete(who.id ?? name);
      this.log.system(t('left', { name }));
      this.#chatState();
    });
    c.on('message', (event) => this.#message(event));
    c.on('history', (event) => {
      for (const message of event.messages ?? []) this.#message(message);
    });
    c.on('message.failed', (event) => this.log.status(event.clientMessageId, 'failed', event.detail ? String(event.detail) : event.code));
    this.#listenToTheEnd();
  }

  /** Typing, idle, errors, the end of a chat and of the session, the link's state. */
  #listenToTheEnd() {
    const c = this.client;
    const t = this.t;
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
    c.on('chat.error', (event) => this.log.system(t('wentWrong', { error: event.title || event.code })));
    c.on('chat.ended', (event) => {
      this.chatOpen = false;
      this.agents.clear();
      this.ui.typing.hidden = true;
      this.log.close();
      this.log.system(t(ENDED[event.reason] ?? 'endedOther'));
      this.#chatState();
    });
    c.on('session.ended', () => {
      this.chatOpen = false;
      this.agents.clear();
      this.log.clear();
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

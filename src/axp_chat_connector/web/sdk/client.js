// The chat client: one session, commands with promises, events with listeners: the public face
// of the SDK. What the frames mean (binding, retrying with the same ids, dedupe by seq) is
// protocol.js; the connection (transports, reconnects, fallback, dead links) is connection.js;
// sharing it between the site's tabs is tab_relay.js on the leading tab and transport_tab.js on
// the others, whose link to the leader is just another transport.

import { Emitter } from './emitter.js';
import { networkRoute } from './fallback.js';
import { listenToPage } from './page.js';
import { ClientProtocol } from './protocol.js';
import { SessionKeeper } from './session_keeper.js';
import { browserSessionStore } from './storage.js';
import { TabRelay } from './tab_relay.js';
import { createTabLink } from './tabs.js';
import { tabRoute } from './transport_tab.js';
import { defaultTransports } from './transports.js';

/** @typedef {import('./transport.js').TransportFactory} TransportFactory */
/** @typedef {import('./storage.js').SessionStore} SessionStore */
/** @typedef {import('./storage.js').SessionRecord} SessionRecord */
/** @typedef {import('./tabs.js').TabLink} TabLink */
/** @typedef {import('./connection.js').ConnectionState} ConnectionState */
/** @typedef {import('./protocol.js').CommandPromise} CommandPromise */

/**
 * @typedef {object} ClientOptions
 * @property {string} [connector] the connector's base URL (default: this page's origin)
 * @property {{websocket?: TransportFactory, sse?: TransportFactory, longpoll?: TransportFactory}} [transports]
 *   the transports to use, in place of the default ones (WebSocket, SSE, long polling)
 * @property {SessionStore} [storage] default: sessionStorage under a key per connector
 * @property {TabLink | null} [tabs] default: Web Locks + BroadcastChannel; null: no sharing
 * @property {import('./backoff.js').BackoffOptions} [backoff]
 * @property {import('./fallback.js').FallbackOptions} [fallback]
 * @property {boolean} [replay] when the page resumes a stored session, ask for every event the
 *   connector kept (after: 0) so a fresh page can redraw the open chat (default true)
 * @property {boolean | EventTarget} [pageEvents] reconnect on online/pageshow/visibilitychange,
 *   suspect the link on offline (default true: this window's; false: none)
 * @property {number} [quietMs] ping a link that has been quiet this long (default 10000)
 * @property {number} [pingTimeoutMs] a link mute this long after a ping or a command is
 *   dead: reconnect (default 5000)
 */

export class ChatClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    const origin = globalThis.location?.origin ?? 'http://localhost';
    this.connector = (options.connector || origin).replace(/\/+$/, '');
    this.network = networkRoute(options.transports ?? defaultTransports(this.connector), options.fallback);
    const store = options.storage ?? browserSessionStore(`axp-chat:${this.connector}`);
    this.keeper = new SessionKeeper(store, options.replay ?? true);
    this.emitter = new Emitter();
    this.protocol = new ClientProtocol(this.keeper, this.emitter, {
      backoff: options.backoff,
      liveness: { quietMs: options.quietMs, answerMs: options.pingTimeoutMs },
    });
    /** @type {'pending' | 'leader' | 'follower'} */
    this.role = 'pending';
    this.tabs = options.tabs === undefined ? createTabLink(`axp-chat:${this.connector}`) : options.tabs;
    if (this.tabs) {
      this.tabs.elect(
        () => this.#lead(),
        () => this.#follow(),
      );
    } else {
      this.#lead();
    }
    const page = options.pageEvents ?? true;
    listenToPage(page === true ? /** @type {EventTarget} */ (globalThis) : page || null, this.protocol.connection);
  }

  // ---- public API ----------------------------------------------------------------------

  /**
   * Listen to an event type ('message', 'chat.started', 'status', …, or '*' for all).
   * @param {string} type
   * @param {(event: any) => void} fn
   * @returns {() => void} unsubscribe
   */
  on(type, fn) {
    return this.emitter.on(type, fn);
  }

  /** @returns {boolean} whether this page has (or shares) a session */
  get hasSession() {
    return this.keeper.record !== null;
  }

  /** @returns {SessionRecord | null} the session: id, token, expiry, last seq */
  get session() {
    return this.keeper.record;
  }

  /** @returns {ConnectionState} the state of the link, as the last `status` event said */
  get state() {
    return this.protocol.connection.state;
  }

  /**
   * Start a session: guest mode with `{customer: {displayName, identifiers}}`, verified mode
   * with `{idToken}`.
   * @param {{customer?: {displayName: string, identifiers: Record<string, string[]>}, idToken?: string, parameters?: Record<string, string>}} how
   * @returns {CommandPromise}
   */
  login(how) {
    return this.#command('login', how);
  }

  /** @param {Record<string, string>} parameters session parameters to merge */
  context(parameters) {
    return this.#command('context', { parameters });
  }

  /** @param {Record<string, string[]>} identifiers */
  identify(identifiers) {
    return this.#command('identify', { identifiers });
  }

  /** @param {{conversation?: string, parameters?: Record<string, string>}} [options] */
  start(options = {}) {
    return this.#command('start', options);
  }

  /**
   * Send a text; the promise settles with the connector's answer (`status: "accepted"`).
   * Its `id` is the `clientMessageId` of the echo or `message.failed` that follows.
   * @param {string} text
   * @param {{format?: 'PLAINTEXT' | 'MARKDOWN'}} [options]
   */
  send(text, options = {}) {
    return this.#command('send', { text, ...options });
  }

  /**
   * Answer an agent's quick reply.
   * @param {{text?: string, payload?: string}} reply
   */
  reply(reply) {
    return this.#command('send', { reply });
  }

  /**
   * Press an agent's postback button.
   * @param {{text?: string, payload?: string}} postback
   */
  postback(postback) {
    return this.#command('send', { postback });
  }

  /** @param {{limit?: number, before?: number}} [options] */
  history(options = {}) {
    return this.#command('history', options);
  }

  end() {
    return this.#command('end', { reason: 'USER_CLOSED' });
  }

  logout() {
    return this.#command('logout', {});
  }

  /** Reconnect at once (network back, page shown again); ping an open link to check it. */
  wake() {
    this.protocol.connection.wake();
  }

  /** Stop: close the connection, leave the tab group (another tab may take over). */
  close() {
    this.protocol.relay?.close();
    this.protocol.relay = null;
    this.protocol.connection.close();
    this.tabs?.close();
  }

  /**
   * @param {string} type
   * @param {Record<string, unknown>} fields
   * @returns {CommandPromise}
   */
  #command(type, fields) {
    return this.protocol.command(type, fields);
  }

  // ---- tabs and page -------------------------------------------------------------------

  #lead() {
    this.#setRole('leader');
    if (this.tabs) this.protocol.relay = new TabRelay(this.tabs, this.protocol.relayHost());
    this.protocol.connection.use(this.network);
  }

  #follow() {
    this.#setRole('follower');
    this.protocol.connection.use(tabRoute(/** @type {TabLink} */ (this.tabs)));
  }

  /** @param {'leader' | 'follower'} role */
  #setRole(role) {
    this.role = role;
    this.emitter.emit('role', { role });
  }
}

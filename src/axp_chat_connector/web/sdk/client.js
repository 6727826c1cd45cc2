// The chat client: one session, commands with promises, events with listeners. It owns
// reconnecting (jittered backoff, resume after the last seq), the WebSocket/long-polling
// choice, dedupe by seq, retrying unanswered commands with their ids, and sharing one
// connection between the site's tabs.

import { Backoff } from './backoff.js';
import { ChatError, ERROR, closeAction } from './codes.js';
import { CommandQueue, newId } from './commands.js';
import { Emitter } from './emitter.js';
import { TransportChooser } from './fallback.js';
import { SeqTracker } from './seq.js';
import { browserSessionStore } from './storage.js';
import { createTabLink } from './tabs.js';
import { longpollTransport } from './transport_longpoll.js';
import { websocketTransport } from './transport_websocket.js';

/** @typedef {import('./transport.js').Frame} Frame */
/** @typedef {import('./transport.js').Transport} Transport */
/** @typedef {import('./transport.js').TransportFactory} TransportFactory */
/** @typedef {import('./storage.js').SessionStore} SessionStore */
/** @typedef {import('./storage.js').SessionRecord} SessionRecord */
/** @typedef {import('./tabs.js').TabLink} TabLink */
/** @typedef {import('./tabs.js').TabMessage} TabMessage */
/** @typedef {import('./commands.js').Answer} Answer */

/** @typedef {'idle' | 'connecting' | 'online' | 'offline'} ConnectionState */
/** @typedef {Promise<Answer> & {id: string}} CommandPromise */

/**
 * @typedef {object} ClientOptions
 * @property {string} [connector] the connector's base URL (default: this page's origin)
 * @property {{websocket?: TransportFactory, longpoll?: TransportFactory}} [transports]
 * @property {SessionStore} [storage] default: sessionStorage under a key per connector
 * @property {TabLink | null} [tabs] default: Web Locks + BroadcastChannel; null: no sharing
 * @property {import('./backoff.js').BackoffOptions} [backoff]
 * @property {import('./fallback.js').FallbackOptions} [fallback]
 * @property {boolean} [replay] when the page resumes a stored session, ask for every event the
 *   connector kept (after: 0) so a fresh page can redraw the open chat (default true)
 * @property {boolean} [pageEvents] resume on online/pageshow/visibilitychange (default true)
 * @property {number} [pingTimeoutMs] a ping unanswered this long means a dead link (5000)
 */

const LOG_LIMIT = 1000;

export class ChatClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    const origin = globalThis.location?.origin ?? 'http://localhost';
    this.connector = (options.connector || origin).replace(/\/+$/, '');
    const wsUrl = `${this.connector.replace(/^http/, 'ws')}/v1/ws`;
    /** @type {Record<'websocket' | 'longpoll', TransportFactory | undefined>} */
    this.factories = {
      websocket:
        options.transports?.websocket ??
        (globalThis.WebSocket ? websocketTransport({ url: wsUrl }) : undefined),
      longpoll:
        options.transports?.longpoll ??
        (typeof globalThis.fetch === 'function' ? longpollTransport({ baseUrl: this.connector }) : undefined),
    };
    this.store = options.storage ?? browserSessionStore(`axp-chat:${this.connector}`);
    this.emitter = new Emitter();
    this.commands = new CommandQueue();
    this.backoff = new Backoff(options.backoff);
    this.chooser = new TransportChooser({
      ...options.fallback,
      websocketAvailable: Boolean(this.factories.websocket) && options.fallback?.websocketAvailable !== false,
    });
    this.pingTimeoutMs = options.pingTimeoutMs ?? 5000;

    /** @type {SessionRecord | null} */
    this.session = this.store.load();
    const replay = options.replay ?? true;
    this.tracker = new SeqTracker(replay ? 0 : this.session?.seq ?? 0);
    /** @type {Frame[]} durable events delivered, for tabs that join later */
    this.log = [];

    /** @type {'pending' | 'leader' | 'follower'} */
    this.role = 'pending';
    /** @type {ConnectionState} */
    this.state = 'idle';
    /** @type {Transport | null} */
    this.transport = null;
    this.bound = false;
    /** @type {string | null} id of the resume or login that binds the current connection */
    this.bindId = null;
    /** @type {string | null} */
    this.lastSentId = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.probeTimer = undefined;
    this.needHistory = false;
    this.closed = false;

    this.tabs = options.tabs === undefined ? createTabLink(`axp-chat:${this.connector}`) : options.tabs;
    if (this.tabs) {
      const tabs = this.tabs;
      tabs.onMessage((message) => this.#onTabMessage(message));
      tabs.elect(
        () => this.#becomeLeader(),
        () => this.#becomeFollower(),
      );
    } else {
      this.#becomeLeader();
    }
    if (options.pageEvents ?? true) this.#listenToPage();
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
    return this.session !== null;
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

  /** Stop: close the connection, leave the tab group (another tab may take over). */
  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    this.transport?.close();
    this.transport = null;
    this.tabs?.close();
    this.#setState('idle');
  }

  // ---- commands ------------------------------------------------------------------------

  /**
   * @param {string} type
   * @param {Record<string, unknown>} fields
   * @returns {CommandPromise}
   */
  #command(type, fields) {
    const { frame, promise } = this.commands.create(type, fields);
    const result = Object.assign(promise, { id: frame.id });
    if (type !== 'login' && !this.session && !this.#loginPending()) {
      this.commands.fail(frame.id, new ChatError(ERROR.INVALID_STATE, 'not logged in'));
      return result;
    }
    if (type === 'login' && this.session) {
      this.commands.fail(frame.id, new ChatError(ERROR.INVALID_STATE, 'already logged in: logout first'));
      return result;
    }
    if (this.role === 'leader') {
      this.#dispatch(frame);
    } else if (this.role === 'follower') {
      this.tabs?.post({ kind: 'command', frame });
    }
    return result;
  }

  #loginPending() {
    return this.commands.pending().some((frame) => frame.type === 'login');
  }

  /**
   * Leader: send now if the connection is bound, else make sure one is coming.
   * @param {Frame & {id: string}} frame
   */
  #dispatch(frame) {
    if (this.bound && this.transport) {
      this.#write(frame);
    } else if (!this.bound && this.transport && !this.session && frame.type === 'login' && !this.bindId) {
      this.bindId = frame.id;
      this.#write(frame);
    } else {
      this.#ensureConnection();
    }
  }

  /** @param {Frame & {id?: string}} frame */
  #write(frame) {
    if (!this.transport) return;
    if (typeof frame.id === 'string') this.lastSentId = frame.id;
    this.transport.send(frame);
  }

  // ---- connection (leader only) --------------------------------------------------------

  #ensureConnection() {
    if (this.closed || this.role !== 'leader' || this.transport || this.retryTimer) return;
    if (!this.session && !this.#loginPending()) return;
    this.#open();
  }

  #open() {
    this.retryTimer = undefined;
    const name = this.chooser.choose();
    const factory = this.factories[name] ?? this.factories.longpoll ?? this.factories.websocket;
    if (!factory) return;
    this.bound = false;
    this.bindId = null;
    this.#setState(this.state === 'online' || this.state === 'offline' ? 'offline' : 'connecting');
    /** @type {Transport | null} */
    let transport = null;
    const current = () => transport !== null && transport === this.transport;
    transport = factory(
      {
        onOpen: () => {
          if (current()) this.#onOpen();
        },
        onFrame: (frame) => {
          if (current()) this.#onFrame(frame);
        },
        onClose: (info) => {
          if (current()) this.#onClose(info.code);
        },
      },
      {
        getToken: () => this.session?.token ?? null,
        getAfter: () => this.tracker.last,
      },
    );
    this.transport = transport;
    transport.open();
  }

  #onOpen() {
    if (this.session) {
      // resume is internal: its answer is handled here, never by a caller's promise.
      const id = newId();
      this.bindId = id;
      this.#write({ type: 'resume', id, token: this.session.token, after: this.tracker.last });
      return;
    }
    const login = this.commands.pending().find((frame) => frame.type === 'login');
    if (login) {
      this.bindId = login.id;
      this.#write(login);
    } else {
      this.#drop();
    }
  }

  /** @param {Frame} frame */
  #onFrame(frame) {
    if (frame.type === 'error' && frame.re === undefined && frame.code === ERROR.GAP) {
      // Long polling's way of saying that events after our seq are no longer kept.
      this.#onGap(typeof frame.seq === 'number' ? frame.seq : this.tracker.last + 1);
    } else if (frame.type === 'ok' || frame.type === 'error') {
      this.#onAnswer(/** @type {Answer} */ (frame));
    } else {
      this.#onEvent(frame, true);
    }
  }

  /** @param {Answer} answer */
  #onAnswer(answer) {
    if (answer.re !== undefined && answer.re === this.bindId && !this.commands.has(answer.re)) {
      this.#onResumeAnswer(answer);
      return;
    }
    const entry = this.commands.settle(answer);
    this.tabs?.post({ kind: 'answer', frame: answer });
    if (!entry) return;
    this.#afterAnswer(entry.frame.type, answer);
    if (entry.frame.id === this.bindId) {
      if (answer.type === 'ok') {
        this.#onBound();
      } else if (!this.session) {
        this.bindId = null;
        if (!this.#loginPending()) this.#drop();
        else this.#onOpen();
      }
    }
  }

  /**
   * What any tab learns from an answer to a command (its own or another tab's).
   * @param {string} type
   * @param {Answer} answer
   */
  #afterAnswer(type, answer) {
    if (answer.type !== 'ok') return;
    if (type === 'login' && typeof answer.token === 'string' && typeof answer.sessionId === 'string') {
      const fresh = this.session?.sessionId !== answer.sessionId;
      if (fresh) {
        this.tracker = new SeqTracker(typeof answer.seq === 'number' ? answer.seq : 0);
        this.log = [];
      }
      this.#saveSession({
        sessionId: answer.sessionId,
        token: answer.token,
        expiresAt: typeof answer.expiresAt === 'string' ? answer.expiresAt : undefined,
        seq: this.tracker.last,
      });
      this.emitter.emit('session', { sessionId: answer.sessionId });
    } else if (type === 'logout') {
      // The connector's own `session.ended` may be lost with the connection closing: say it
      // here unless it came already.
      this.#forgetSession('USER_CLOSED');
    }
  }

  /** @param {Answer} answer */
  #onResumeAnswer(answer) {
    if (answer.type === 'ok') {
      if (this.session && typeof answer.token === 'string') {
        this.#saveSession({
          ...this.session,
          token: answer.token,
          expiresAt: typeof answer.expiresAt === 'string' ? answer.expiresAt : this.session.expiresAt,
        });
      }
      this.#onBound();
      return;
    }
    const code = answer.code;
    if (code === ERROR.GAP && typeof answer.seq === 'number') {
      this.#onGap(answer.seq);
    } else if (code === ERROR.NOT_FOUND || code === ERROR.UNAUTHORIZED || code === ERROR.FORBIDDEN) {
      this.#forgetSession('UNKNOWN');
    } else {
      this.#reopen(this.backoff.next());
    }
  }

  /**
   * The connector no longer keeps the events after our seq; `oldest` is the oldest it has.
   * Resume from there and load the transcript with `history`.
   * @param {number} oldest
   */
  #onGap(oldest) {
    this.tracker.skipTo(oldest - 1);
    this.needHistory = true;
    this.emitter.emit('gap', { seq: oldest });
    this.#reopen(0);
  }

  #onBound() {
    this.bound = true;
    this.bindId = null;
    const name = this.transport?.name ?? 'websocket';
    this.chooser.bound(name);
    this.backoff.reset();
    this.#setState('online');
    for (const frame of this.commands.pending()) {
      if (frame.type !== 'login') this.#write(frame);
    }
    clearTimeout(this.probeTimer);
    if (name === 'longpoll' && this.factories.websocket && this.chooser.websocketAvailable) {
      this.probeTimer = setTimeout(() => {
        if (this.bound && this.chooser.shouldProbe('longpoll')) {
          this.chooser.probe();
          this.#reopen(0);
        }
      }, this.chooser.probeDelayMs());
    }
    if (this.needHistory) {
      this.needHistory = false;
      this.history().then(
        (answer) => this.emitter.emit('history', { reason: 'gap', messages: answer.messages ?? [] }),
        () => {},
      );
    }
  }

  /** @param {number} code */
  #onClose(code) {
    const transport = this.transport;
    const wasBound = this.bound;
    this.transport = null;
    this.bound = false;
    this.bindId = null;
    clearTimeout(this.probeTimer);
    if (!wasBound && transport) this.chooser.failed(transport.name);
    const action = closeAction(code);
    if (action.rejectLast && this.lastSentId) {
      this.commands.fail(this.lastSentId, new ChatError(ERROR.TOO_LARGE, 'the command was too large'));
    }
    if (action.dropSession && this.session) {
      this.#forgetSession('UNKNOWN');
      return;
    }
    if (!action.reconnect || (!this.session && !this.#loginPending())) {
      this.#setState('idle');
      return;
    }
    this.#setState(this.state === 'connecting' && !wasBound ? 'connecting' : 'offline');
    // Falling back to long polling after a failed WebSocket is no reason to wait.
    const switching = transport?.name === 'websocket' && this.chooser.choose() === 'longpoll';
    const delay = Math.max(action.minDelayMs, switching && !wasBound ? 0 : this.backoff.next());
    this.#scheduleOpen(delay);
  }

  /** @param {number} delay */
  #scheduleOpen(delay) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.transport && !this.closed && this.role === 'leader') this.#open();
    }, delay);
  }

  /**
   * Close the current connection on purpose and open another after `delay` ms.
   * @param {number} delay
   */
  #reopen(delay) {
    this.transport?.close();
    this.transport = null;
    this.bound = false;
    this.bindId = null;
    if (this.state === 'online') this.#setState('offline');
    this.#scheduleOpen(delay);
  }

  /** Close a connection that has nothing to do (no session, no login). */
  #drop() {
    this.transport?.close();
    this.transport = null;
    this.bound = false;
    this.bindId = null;
    this.#setState('idle');
  }

  /** Reconnect at once (network back, page shown again) instead of waiting for the timer. */
  wake() {
    if (this.closed) return;
    if (this.role !== 'leader') return;
    if (this.bound) {
      this.#probeLink();
      return;
    }
    if (this.retryTimer) {
      this.backoff.reset();
      this.#scheduleOpen(0);
    } else {
      this.#ensureConnection();
    }
  }

  /** A link that may have died silently (a sleeping laptop): ping it, reconnect if mute. */
  #probeLink() {
    const ping = this.#command('ping', {});
    const timer = setTimeout(() => {
      if (this.commands.has(ping.id)) this.#reopen(0);
    }, this.pingTimeoutMs);
    ping.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
  }

  #listenToPage() {
    const target = typeof globalThis.addEventListener === 'function' ? globalThis : null;
    if (!target) return;
    const wake = () => this.wake();
    target.addEventListener('online', wake);
    target.addEventListener('pageshow', wake);
    const doc = globalThis.document;
    doc?.addEventListener('visibilitychange', () => {
      if (doc.visibilityState === 'visible') wake();
    });
  }

  // ---- events --------------------------------------------------------------------------

  /**
   * @param {Frame} event
   * @param {boolean} fromConnection true on the leader (then relayed to the other tabs)
   */
  #onEvent(event, fromConnection) {
    const verdict = this.tracker.check(event);
    if (verdict === 'duplicate') return;
    if (verdict === 'gap') {
      // Events were skipped on the way: resume from the last one delivered.
      if (fromConnection) this.#reopen(0);
      return;
    }
    if (fromConnection) this.tabs?.post({ kind: 'event', frame: event });
    if (typeof event.seq === 'number') {
      this.log.push(event);
      if (this.log.length > LOG_LIMIT) this.log.shift();
      if (this.session) this.#saveSession({ ...this.session, seq: event.seq });
    }
    if (event.type === 'session.token' && this.session && typeof event.token === 'string') {
      this.#saveSession({
        ...this.session,
        token: event.token,
        expiresAt: typeof event.expiresAt === 'string' ? event.expiresAt : this.session.expiresAt,
      });
    }
    this.emitter.emit(event.type, event);
    if (event.type === 'session.ended') this.#forgetSession(null);
  }

  // ---- session -------------------------------------------------------------------------

  /** @param {SessionRecord} record */
  #saveSession(record) {
    this.session = record;
    this.store.save(record);
  }

  /**
   * The session is over: forget the token, fail what waits, close the connection.
   * @param {string | null} reason emit `session.ended` with this reason (null: already told)
   */
  #forgetSession(reason) {
    const had = this.session !== null;
    this.session = null;
    this.store.clear();
    this.log = [];
    this.tracker = new SeqTracker(0);
    // A logout waiting for its answer got what it asked for; anything else fails.
    for (const frame of this.commands.pending()) {
      if (frame.type === 'logout') this.commands.settle({ type: 'ok', re: frame.id });
    }
    this.commands.failAll(new ChatError(ERROR.NOT_FOUND, 'the session has ended'));
    if (this.role === 'leader') {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.#drop();
    }
    if (had && reason) {
      this.tabs?.post({ kind: 'ended', reason });
      this.emitter.emit('session.ended', { type: 'session.ended', reason });
    }
  }

  /** @param {ConnectionState} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    const transport = this.transport?.name ?? null;
    if (this.role === 'leader') this.tabs?.post({ kind: 'status', state, transport });
    this.emitter.emit('status', { state, transport });
  }

  // ---- tabs ----------------------------------------------------------------------------

  #becomeLeader() {
    const wasFollower = this.role === 'follower';
    this.role = 'leader';
    this.tabs?.post({ kind: 'leader' });
    this.emitter.emit('role', { role: 'leader' });
    if (wasFollower) this.backoff.reset();
    for (const frame of this.commands.pending()) this.#dispatch(frame);
    this.#ensureConnection();
  }

  #becomeFollower() {
    this.role = 'follower';
    this.emitter.emit('role', { role: 'follower' });
    this.tabs?.post({ kind: 'hello', after: this.tracker.last, session: this.session });
    for (const frame of this.commands.pending()) this.tabs?.post({ kind: 'command', frame });
  }

  /** @param {TabMessage} message */
  #onTabMessage(message) {
    switch (message.kind) {
      case 'command':
        if (this.role === 'leader') {
          const frame = /** @type {Frame & {id: string}} */ (message.frame);
          if (frame.type === 'login' && this.session) {
            // That tab did not know the session yet: refuse its login and tell it the session.
            const refusal = { type: 'error', re: frame.id, code: ERROR.INVALID_STATE, message: 'already logged in: logout first', retryable: false };
            this.tabs?.post({ kind: 'answer', frame: refusal });
            this.#welcome({ kind: 'hello', from: message.from, after: 0 });
            break;
          }
          this.commands.adopt(frame);
          this.#dispatch(frame);
        }
        break;
      case 'hello':
        if (this.role === 'leader') this.#welcome(message);
        break;
      case 'welcome':
        if (this.role === 'follower') this.#onWelcome(message);
        break;
      case 'leader':
        if (this.role === 'follower') {
          for (const frame of this.commands.pending()) this.tabs?.post({ kind: 'command', frame });
          if (this.session) this.tabs?.post({ kind: 'hello', after: this.tracker.last, session: this.session });
        }
        break;
      case 'event':
        if (this.role === 'follower') this.#onEvent(/** @type {Frame} */ (message.frame), false);
        break;
      case 'answer':
        if (this.role === 'follower') {
          const answer = /** @type {Answer} */ (message.frame);
          const entry = this.commands.settle(answer);
          // Learn a session opened by another tab's login, too.
          if (answer.type === 'ok' && typeof answer.token === 'string' && typeof answer.sessionId === 'string') {
            this.#afterAnswer('login', answer);
          } else if (entry) {
            this.#afterAnswer(entry.frame.type, answer);
          }
        }
        break;
      case 'status':
        if (this.role === 'follower' && typeof message.state === 'string') {
          this.state = /** @type {ConnectionState} */ (message.state);
          this.emitter.emit('status', { state: message.state, transport: message.transport ?? null });
        }
        break;
      case 'ended':
        if (this.role === 'follower') this.#forgetSession(typeof message.reason === 'string' ? message.reason : 'UNKNOWN');
        break;
      default:
        break;
    }
  }

  /** @param {TabMessage} message a follower's hello */
  #welcome(message) {
    const theirs = /** @type {SessionRecord | null} */ (message.session ?? null);
    if (!this.session && theirs && typeof theirs.token === 'string') {
      // A tab that already had the session (reloaded while another tab led): adopt it.
      this.#saveSession({ ...theirs, seq: this.tracker.last });
      this.emitter.emit('session', { sessionId: theirs.sessionId });
      this.#ensureConnection();
    }
    const after = typeof message.after === 'number' ? message.after : 0;
    const sameSession = theirs?.sessionId === this.session?.sessionId;
    this.tabs?.post({
      kind: 'welcome',
      to: message.from,
      session: this.session,
      state: this.state,
      transport: this.transport?.name ?? null,
      events: this.log.filter((event) => Number(event.seq ?? 0) > (sameSession ? after : 0)),
    });
  }

  /** @param {TabMessage} message the leader's answer to our hello */
  #onWelcome(message) {
    const session = /** @type {SessionRecord | null} */ (message.session ?? null);
    if (session && session.sessionId !== this.session?.sessionId) {
      this.tracker = new SeqTracker(0);
      this.log = [];
      this.#saveSession({ ...session, seq: 0 });
      this.emitter.emit('session', { sessionId: session.sessionId });
    } else if (session && this.session) {
      this.#saveSession({ ...this.session, token: session.token, expiresAt: session.expiresAt });
    }
    for (const event of /** @type {Frame[]} */ (message.events ?? [])) this.#onEvent(event, false);
    if (typeof message.state === 'string') {
      this.state = /** @type {ConnectionState} */ (message.state);
      this.emitter.emit('status', { state: message.state, transport: message.transport ?? null });
    }
  }
}

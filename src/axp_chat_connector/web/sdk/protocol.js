// The client side of the chat protocol, for one tab: commands out with their ids (sent again
// after every reconnect until answered), each connection bound to the session (resume) or to a
// new one (login), answers settled, events delivered once by seq, the session forgotten when it
// ends. The connection underneath is connection.js; when this tab leads others, tab_relay.js
// hands them what arrives. ChatClient (client.js) is the public face of it.

import { ChatError, ERROR } from './codes.js';
import { CommandQueue, newId } from './commands.js';
import { Connection } from './connection.js';

/** @typedef {import('./transport.js').Frame} Frame */
/** @typedef {import('./commands.js').Answer} Answer */
/** @typedef {import('./codes.js').CloseAction} CloseAction */
/** @typedef {import('./connection.js').ConnectionHost} ConnectionHost */
/** @typedef {import('./session_keeper.js').SessionKeeper} SessionKeeper */
/** @typedef {import('./emitter.js').Emitter} Emitter */
/** @typedef {import('./tab_relay.js').TabRelay} TabRelay */
/** @typedef {Promise<Answer> & {id: string}} CommandPromise */

/** @param {Answer} answer @returns {boolean} an answer that opens a session (a login's) */
const opensSession = (answer) =>
  answer.type === 'ok' && typeof answer.token === 'string' && typeof answer.sessionId === 'string';

export class ClientProtocol {
  /**
   * @param {SessionKeeper} keeper
   * @param {Emitter} emitter where events, `status`, `session`, `gap` and `history` go
   * @param {ConstructorParameters<typeof Connection>[1]} [options]
   */
  constructor(keeper, emitter, options) {
    this.keeper = keeper;
    this.emitter = emitter;
    this.commands = new CommandQueue();
    this.needHistory = false;
    /** @type {string | null} the liveness ping waiting for its answer */
    this.pingId = null;
    /** @type {TabRelay | null} set while this tab leads other tabs */
    this.relay = null;
    this.connection = new Connection(this.#connectionHost(), options);
  }

  /** @returns {import('./storage.js').SessionRecord | null} */
  get session() {
    return this.keeper.record;
  }

  // ---- commands ------------------------------------------------------------------------

  /**
   * @param {string} type
   * @param {Record<string, unknown>} fields
   * @returns {CommandPromise}
   */
  command(type, fields) {
    const { frame, promise } = this.commands.create(type, fields);
    const result = Object.assign(promise, { id: frame.id });
    if (type !== 'login' && !this.session && !this.#pendingLogin()) {
      this.commands.fail(frame.id, new ChatError(ERROR.INVALID_STATE, 'not logged in'));
    } else if (type === 'login' && this.session) {
      this.commands.fail(frame.id, alreadyLoggedIn());
    } else {
      this.#dispatch(frame);
    }
    return result;
  }

  /** @returns {(Frame & {id: string}) | undefined} */
  #pendingLogin() {
    return this.commands.pending().find((frame) => frame.type === 'login');
  }

  /**
   * Send now if the connection is bound, else make sure one is coming (it sends the
   * unanswered commands once bound).
   * @param {Frame & {id: string}} frame
   */
  #dispatch(frame) {
    if (this.connection.bound) this.connection.write(frame);
    else this.connection.ensure();
  }

  #ping() {
    if (this.pingId && this.commands.has(this.pingId)) return;
    const ping = this.command('ping', {});
    this.pingId = ping.id;
    ping.catch(() => {});
  }

  // ---- binding a connection ------------------------------------------------------------

  /** @returns {ConnectionHost} */
  #connectionHost() {
    return {
      context: {
        getToken: () => this.session?.token ?? null,
        getAfter: () => this.keeper.last,
        getSession: () => this.session,
      },
      wantsConnection: () => this.session !== null || this.#pendingLogin() !== undefined,
      onOpen: () => this.#bind(),
      onFrame: (frame) => this.#onFrame(frame),
      onClosed: (action, lastSentId) => this.#onClosed(action, lastSentId),
      ping: () => this.#ping(),
      onState: (state, transport) => {
        this.relay?.status({ state, transport });
        this.emitter.emit('status', { state, transport });
      },
    };
  }

  /** A transport opened: bind it to the session (resume) or open one (login). */
  #bind() {
    // A follower's link to the leading tab always resumes: the answer tells it the session.
    if (this.session || this.connection.route?.alwaysOpen) {
      // resume is internal: its answer is handled here, never by a caller's promise.
      const token = this.session?.token ?? null;
      this.connection.bind({ type: 'resume', id: newId(), token, after: this.keeper.last });
      return;
    }
    const login = this.#pendingLogin();
    if (login) this.connection.bind(login);
    else this.connection.drop();
  }

  /** @param {Frame} frame */
  #onFrame(frame) {
    if (frame.type === 'error' && frame.re === undefined && frame.code === ERROR.GAP) {
      // Long polling's and SSE's way of saying that events after our seq are no longer kept.
      this.#onGap(typeof frame.seq === 'number' ? frame.seq : this.keeper.last + 1);
    } else if (frame.type === 'ok' || frame.type === 'error') {
      this.#onAnswer(/** @type {Answer} */ (frame));
    } else {
      this.#onEvent(frame);
    }
  }

  /** @param {Answer} answer */
  #onAnswer(answer) {
    const bindId = this.connection.bindId;
    if (answer.re !== undefined && answer.re === bindId && !this.commands.has(answer.re)) {
      this.#onResumeAnswer(answer);
      return;
    }
    const entry = this.commands.settle(answer);
    this.relay?.forward(answer);
    // A follower learns a session opened by another tab's login, too.
    const type = opensSession(answer) ? 'login' : entry?.frame.type;
    if (type) this.#afterAnswer(type, answer);
    if (!entry || entry.frame.id !== bindId) return;
    if (answer.type === 'ok') this.#onBound();
    else if (!this.session) this.#bind(); // the login failed: the next one, or drop
  }

  /**
   * What any tab learns from an answer to a command (its own or another tab's).
   * @param {string} type
   * @param {Answer} answer
   */
  #afterAnswer(type, answer) {
    if (answer.type !== 'ok') return;
    if (type === 'login' && opensSession(answer)) {
      this.#joinSession(answer, typeof answer.seq === 'number' ? answer.seq : 0);
    } else if (type === 'logout') {
      // The connector's own `session.ended` may be lost with the connection closing: say it
      // here unless it came already.
      this.#forgetSession('USER_CLOSED');
    }
  }

  /** @param {Answer} answer */
  #onResumeAnswer(answer) {
    if (answer.type === 'ok') {
      if (opensSession(answer) && answer.sessionId !== this.session?.sessionId) {
        // The leading tab's session, new to this tab: its events follow from the first.
        this.#joinSession(answer, 0);
      } else {
        this.keeper.renew(answer);
      }
      this.#onBound();
      return;
    }
    if (answer.code === ERROR.GAP && typeof answer.seq === 'number') {
      this.#onGap(answer.seq);
    } else if (answer.code === ERROR.NOT_FOUND || answer.code === ERROR.UNAUTHORIZED || answer.code === ERROR.FORBIDDEN) {
      this.#forgetSession('UNKNOWN');
    } else {
      this.connection.reopen(this.connection.backoff.next());
    }
  }

  #onBound() {
    const bindId = this.connection.bindId;
    this.connection.markBound();
    for (const frame of this.commands.pending()) {
      if (frame.type !== 'login') this.connection.write(frame);
      else if (this.session) this.commands.fail(frame.id, alreadyLoggedIn());
      else if (frame.id !== bindId) this.connection.write(frame);
    }
    if (this.needHistory) {
      this.needHistory = false;
      this.command('history', {}).then(
        (answer) => this.emitter.emit('history', { reason: 'gap', messages: answer.messages ?? [] }),
        () => {},
      );
    }
  }

  /**
   * @param {CloseAction} action
   * @param {string | null} lastSentId
   * @returns {boolean} whether to reconnect
   */
  #onClosed(action, lastSentId) {
    if (action.rejectLast && lastSentId) {
      this.commands.fail(lastSentId, new ChatError(ERROR.TOO_LARGE, 'the command was too large'));
    }
    if (action.dropSession && this.session) {
      this.#forgetSession('UNKNOWN');
      return false;
    }
    return action.reconnect;
  }

  /**
   * The connector no longer keeps the events after our seq; `oldest` is the oldest it has.
   * Resume from there and load the transcript with `history`.
   * @param {number} oldest
   */
  #onGap(oldest) {
    this.keeper.skipTo(oldest - 1);
    this.needHistory = true;
    this.emitter.emit('gap', { seq: oldest });
    this.connection.reopen(0);
  }

  // ---- events --------------------------------------------------------------------------

  /** @param {Frame} event */
  #onEvent(event) {
    if (event.type === 'session.ended' && !this.session) return; // said already
    const verdict = this.keeper.deliver(event);
    if (verdict === 'duplicate') return;
    if (verdict === 'gap') {
      // Events were skipped on the way: resume from the last one delivered.
      this.connection.reopen(0);
      return;
    }
    this.relay?.forward(event);
    this.emitter.emit(event.type, event);
    if (event.type === 'session.ended') this.#forgetSession(null);
  }

  // ---- session -------------------------------------------------------------------------

  /**
   * Take the session a login or a leading tab's answer names.
   * @param {Answer} answer
   * @param {number} from the last seq already past, if the session is new to this tab
   */
  #joinSession(answer, from) {
    this.keeper.join(answer, from);
    this.emitter.emit('session', { sessionId: answer.sessionId });
  }

  /**
   * The session is over: forget the token, fail what waits, close the connection.
   * @param {string | null} reason emit `session.ended` with this reason (null: already told)
   */
  #forgetSession(reason) {
    const had = this.session !== null;
    this.keeper.forget();
    // A logout waiting for its answer got what it asked for; anything else fails.
    for (const frame of this.commands.pending()) {
      if (frame.type === 'logout') this.commands.settle({ type: 'ok', re: frame.id });
    }
    this.commands.failAll(new ChatError(ERROR.NOT_FOUND, 'the session has ended'));
    this.connection.release();
    if (had && reason) {
      const ended = { type: 'session.ended', reason };
      this.relay?.forward(ended);
      this.emitter.emit('session.ended', ended);
    }
  }

  /** @returns {import('./tab_relay.js').RelayHost} */
  relayHost() {
    return {
      keeper: this.keeper,
      status: () => ({ state: this.connection.state, transport: this.connection.transport?.name ?? null }),
      adopt: (record) => {
        // A tab that already had the session (reloaded while another tab led).
        this.keeper.adopt(record);
        this.emitter.emit('session', { sessionId: record.sessionId });
        this.connection.ensure();
      },
      dispatch: (frame) => {
        this.commands.adopt(frame);
        this.#dispatch(frame);
      },
    };
  }
}


/** @returns {ChatError} */
function alreadyLoggedIn() {
  return new ChatError(ERROR.INVALID_STATE, 'already logged in: logout first');
}

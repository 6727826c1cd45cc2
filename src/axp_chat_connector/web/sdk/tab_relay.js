// The leading tab's side of the tab link: it carries the following tabs' commands on its own
// connection and hands them every event and answer it gets, and the state of its link. A
// follower binds its link (transport_tab.js) with `resume`; the leader answers it from what it
// knows (the session, the events so far) without a word to the connector.

import { ERROR } from './codes.js';

/** @typedef {import('./tabs.js').TabLink} TabLink */
/** @typedef {import('./tabs.js').TabMessage} TabMessage */
/** @typedef {import('./transport.js').Frame} Frame */
/** @typedef {import('./storage.js').SessionRecord} SessionRecord */

/**
 * @typedef {object} RelayHost what the relay needs from the leading tab's client
 * @property {import('./session_keeper.js').SessionKeeper} keeper the session and its events
 * @property {() => import('./transport.js').LinkStatus} status
 * @property {(record: SessionRecord) => void} adopt  take a session a follower already had
 * @property {(frame: Frame & {id: string}) => void} dispatch  carry a follower's command
 */

/**
 * @param {unknown} value
 * @returns {value is SessionRecord}
 */
function isSession(value) {
  const record = /** @type {Partial<SessionRecord> | null} */ (value);
  return typeof record?.token === 'string' && typeof record.sessionId === 'string';
}

export class TabRelay {
  /**
   * Start relaying, and tell the other tabs that this one leads now.
   * @param {TabLink} link
   * @param {RelayHost} host
   */
  constructor(link, host) {
    this.link = link;
    this.host = host;
    this.stop = link.onMessage((message) => this.#receive(message));
    link.post({ kind: 'leader' });
  }

  /**
   * Hand an event or an answer to every following tab.
   * @param {Frame} frame
   */
  forward(frame) {
    this.link.post({ kind: 'frame', frame });
  }

  /** @param {import('./transport.js').LinkStatus} status */
  status(status) {
    this.link.post({ kind: 'status', ...status });
  }

  close() {
    this.stop();
  }

  /** @param {TabMessage} message */
  #receive(message) {
    if (message.kind !== 'command' || !message.frame || typeof message.from !== 'string') return;
    const frame = /** @type {Frame & {id: string}} */ (message.frame);
    if (frame.type === 'resume') {
      this.#welcome(frame, message.from);
    } else if (frame.type === 'login' && this.host.keeper.record) {
      // That tab did not know the session yet; its resume will tell it.
      const refusal = { type: 'error', re: frame.id, code: ERROR.INVALID_STATE, message: 'already logged in: logout first', retryable: false };
      this.link.post({ kind: 'frame', frame: refusal, to: message.from });
    } else {
      this.host.dispatch(frame);
    }
  }

  /**
   * Answer a follower's resume: the session (adopting the follower's if this tab has none),
   * then the state of the link, then the events it lacks.
   * @param {Frame & {id: string}} resume
   * @param {string} to
   */
  #welcome(resume, to) {
    const theirs = isSession(resume.session) ? resume.session : null;
    if (!this.host.keeper.record && theirs) this.host.adopt(theirs);
    const session = this.host.keeper.record;
    const post = (/** @type {Frame} */ frame) => this.link.post({ kind: 'frame', frame, to });
    this.link.post({ kind: 'status', ...this.host.status(), to });
    if (session) {
      const { sessionId, token, expiresAt } = session;
      post({ type: 'ok', re: resume.id, sessionId, token, expiresAt, seq: this.host.keeper.last });
    } else {
      post({ type: 'ok', re: resume.id });
    }
    const after = theirs?.sessionId === session?.sessionId && typeof resume.after === 'number' ? resume.after : 0;
    for (const event of this.host.keeper.log) {
      if (Number(event.seq ?? 0) > after) post(event);
    }
  }
}

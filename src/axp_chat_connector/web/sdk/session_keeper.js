// What a tab knows of its session: the record (id, token, expiry, last seq) kept in the site's
// storage, and the events delivered so far, each seq once and in order (for tabs that join
// later). No I/O but the store it is given.

import { SeqTracker } from './seq.js';

/** @typedef {import('./transport.js').Frame} Frame */
/** @typedef {import('./storage.js').SessionRecord} SessionRecord */
/** @typedef {import('./storage.js').SessionStore} SessionStore */

const LOG_LIMIT = 1000;

/** @param {unknown} value @returns {string | undefined} */
const text = (value) => (typeof value === 'string' ? value : undefined);

export class SessionKeeper {
  /**
   * @param {SessionStore} store
   * @param {boolean} replay a stored session is resumed from seq 0 (the page redraws the chat)
   */
  constructor(store, replay) {
    this.store = store;
    /** @type {SessionRecord | null} */
    this.record = store.load();
    this.tracker = new SeqTracker(replay ? 0 : this.record?.seq ?? 0);
    /** @type {Frame[]} durable events delivered, oldest first */
    this.log = [];
  }

  /** The last seq delivered. */
  get last() {
    return this.tracker.last;
  }

  /**
   * Whether `event` should reach the page; a delivered durable event moves the stored seq,
   * a `session.token` renews the token.
   * @param {Frame} event
   * @returns {'deliver' | 'duplicate' | 'gap'}
   */
  deliver(event) {
    const verdict = this.tracker.check(event);
    if (verdict !== 'deliver') return verdict;
    if (typeof event.seq === 'number') {
      this.log.push(event);
      if (this.log.length > LOG_LIMIT) this.log.shift();
      if (this.record) this.#save({ ...this.record, seq: event.seq });
    }
    if (event.type === 'session.token' && typeof event.token === 'string') this.renew(event);
    return 'deliver';
  }

  /**
   * A fresh token (a resume's answer, `session.token`).
   * @param {Record<string, unknown>} fields with `token`, maybe `expiresAt`
   */
  renew(fields) {
    if (!this.record || typeof fields.token !== 'string') return;
    this.#save({ ...this.record, token: fields.token, expiresAt: text(fields.expiresAt) ?? this.record.expiresAt });
  }

  /**
   * Take the session an answer names (a login's, or a leading tab's).
   * @param {Record<string, unknown>} answer with `sessionId`, `token`, maybe `expiresAt`
   * @param {number} from the last seq of a session new to this tab (its events follow)
   */
  join(answer, from) {
    const sessionId = String(answer.sessionId);
    if (this.record?.sessionId !== sessionId) {
      this.tracker = new SeqTracker(from);
      this.log = [];
    }
    this.#save({ sessionId, token: String(answer.token), expiresAt: text(answer.expiresAt), seq: this.tracker.last });
  }

  /**
   * Take a session another tab already had.
   * @param {SessionRecord} record
   */
  adopt(record) {
    this.#save({ ...record, seq: this.tracker.last });
  }

  /**
   * The connector no longer has the events after our seq: go on from `seq`.
   * @param {number} seq
   */
  skipTo(seq) {
    this.tracker.skipTo(seq);
  }

  forget() {
    this.record = null;
    this.store.clear();
    this.log = [];
    this.tracker = new SeqTracker(0);
  }

  /** @param {SessionRecord} record */
  #save(record) {
    this.record = record;
    this.store.save(record);
  }
}

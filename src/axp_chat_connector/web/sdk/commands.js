// Commands waiting for their answer. A command keeps its id until it is answered, so sending
// it again after a reconnect never executes it twice (PROTOCOL.md §2). Pure.

import { ChatError } from './codes.js';

/** @typedef {{type: string, id?: string, [key: string]: unknown}} Command */
/** @typedef {{type: string, re?: string, [key: string]: unknown}} Answer */

/**
 * @typedef {object} Entry
 * @property {Command & {id: string}} frame
 * @property {((answer: Answer) => void) | null} resolve  null for another tab's command
 * @property {((error: ChatError) => void) | null} reject
 */

/** @returns {string} a fresh command id */
export function newId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

export class CommandQueue {
  /** @param {() => string} [makeId] */
  constructor(makeId = newId) {
    this.makeId = makeId;
    /** @type {Map<string, Entry>} */
    this.entries = new Map();
  }

  /**
   * Register a command of this tab; the promise settles with its answer.
   * @param {string} type
   * @param {Record<string, unknown>} [fields]
   * @returns {{frame: Command & {id: string}, promise: Promise<Answer>}}
   */
  create(type, fields = {}) {
    const frame = { ...fields, type, id: this.makeId() };
    /** @type {Promise<Answer>} */
    const promise = new Promise((resolve, reject) => {
      this.entries.set(frame.id, { frame, resolve, reject });
    });
    return { frame, promise };
  }

  /**
   * Register a command another tab sent through this one (its answer goes back to that tab).
   * A command already known (sent again by its tab) is kept once.
   * @param {Command & {id: string}} frame
   */
  adopt(frame) {
    if (!this.entries.has(frame.id)) {
      this.entries.set(frame.id, { frame, resolve: null, reject: null });
    }
  }

  /** @param {string} id */
  has(id) {
    return this.entries.has(id);
  }

  /** @returns {(Command & {id: string})[]} the unanswered commands, oldest first */
  pending() {
    return [...this.entries.values()].map((entry) => entry.frame);
  }

  /**
   * Settle the command an `ok`/`error` answers. Returns its entry, or undefined if the answer
   * is for no command waiting here (answered already, or another tab's).
   * @param {Answer} answer
   * @returns {Entry | undefined}
   */
  settle(answer) {
    const id = answer.re;
    if (typeof id !== 'string') return undefined;
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    if (answer.type === 'ok') {
      entry.resolve?.(answer);
    } else {
      entry.reject?.(errorFromAnswer(answer));
    }
    return entry;
  }

  /**
   * Fail one waiting command (e.g. one the connector refused as too large).
   * @param {string} id
   * @param {ChatError} error
   */
  fail(id, error) {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    entry.reject?.(error);
  }

  /**
   * Fail every waiting command (the session is gone).
   * @param {ChatError} error
   */
  failAll(error) {
    for (const id of [...this.entries.keys()]) this.fail(id, error);
  }
}

/**
 * @param {Answer} answer
 * @returns {ChatError}
 */
export function errorFromAnswer(answer) {
  const code = typeof answer.code === 'string' ? answer.code : 'internal';
  const message = typeof answer.message === 'string' ? answer.message : code;
  return new ChatError(code, message, {
    retryable: answer.retryable === true,
    detail: answer.detail,
    retryAfter: typeof answer.retryAfter === 'number' ? answer.retryAfter : undefined,
    seq: typeof answer.seq === 'number' ? answer.seq : undefined,
  });
}

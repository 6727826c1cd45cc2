// The transports without a socket (long polling, SSE) share their shell: commands in batches
// of up to 20 by `POST /v1/poll/commands`, the answers in the same order (PROTOCOL.md §6), and
// the events read by the transport's own loop once there is a token.

import { closeCodeForStatus } from './codes.js';

/** @typedef {import('./transport.js').Frame} Frame */
/** @typedef {import('./transport.js').TransportContext} TransportContext */
/** @typedef {import('./transport.js').TransportHandlers} TransportHandlers */
/** @typedef {import('./transport.js').Transport} Transport */

const MAX_BATCH = 20;

/**
 * @param {TransportContext} context
 * @param {Record<string, string>} [extra]
 * @returns {Record<string, string>} the bearer token, once there is one
 */
export function authHeaders(context, extra = {}) {
  /** @type {Record<string, string>} */
  const headers = { ...extra };
  const token = context.getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}

/**
 * @typedef {object} CommandPoster
 * @property {(frame: Frame) => void} send  queue a command; batches go out one at a time
 */

/**
 * @param {object} options
 * @param {typeof fetch} options.fetch
 * @param {string} options.baseUrl      without a trailing slash
 * @param {TransportContext} options.context
 * @param {AbortSignal} options.signal
 * @param {() => boolean} options.active the transport is still open
 * @param {(answer: Frame) => void} options.onAnswer
 * @param {(code: number, reason: string) => void} options.onFail
 * @param {() => void} options.onBatchDone after each answered batch (a login may have given a token)
 * @returns {CommandPoster}
 */
function commandPoster(options) {
  /** @type {Frame[]} */
  let outbox = [];
  let flushing = false;

  /** @param {Frame[]} batch @returns {Promise<boolean>} whether to go on */
  const post = async (batch) => {
    const response = await options.fetch(`${options.baseUrl}/v1/poll/commands`, {
      method: 'POST',
      headers: authHeaders(options.context, { 'Content-Type': 'application/json' }),
      body: JSON.stringify(batch),
      signal: options.signal,
    });
    if (!response.ok) {
      options.onFail(closeCodeForStatus(response.status), `commands: HTTP ${response.status}`);
      return false;
    }
    const answers = await response.json();
    if (!options.active()) return false;
    for (const answer of Array.isArray(answers) ? answers : []) {
      // An `ack` without id is answered without `re`, to keep the positions: not passed on.
      if (answer && typeof answer.type === 'string' && answer.re !== undefined) options.onAnswer(answer);
    }
    options.onBatchDone();
    return true;
  };

  const flush = async () => {
    if (flushing) return;
    flushing = true;
    try {
      while (options.active() && outbox.length > 0) {
        const batch = outbox.slice(0, MAX_BATCH);
        outbox = outbox.slice(MAX_BATCH);
        if (!(await post(batch))) return;
      }
    } catch (err) {
      options.onFail(1006, `commands: ${String(err)}`);
    } finally {
      flushing = false;
    }
  };

  return {
    send(frame) {
      outbox.push(frame);
      queueMicrotask(() => void flush());
    },
  };
}

/**
 * @typedef {object} EventsLink what an HTTP transport's event loop works with
 * @property {TransportHandlers} handlers
 * @property {TransportContext} context
 * @property {typeof fetch} fetch
 * @property {AbortSignal} signal
 * @property {() => boolean} active  false once the transport is closed: stop reading
 * @property {(code: number, reason: string, unusable?: boolean) => void} fail  close it, and say why
 * @property {() => void} stop        close it without a word (the loop reports what happened)
 */

/**
 * @param {object} options
 * @param {string} options.name       the transport's name
 * @param {string} options.baseUrl    the connector's http(s) base URL
 * @param {typeof fetch} [options.fetch]
 * @param {(link: EventsLink) => Promise<void>} options.readEvents  runs while the transport is
 *   open, from the moment there is a token (at once for a resume, after a login's answer)
 * @returns {import('./transport.js').TransportFactory}
 */
export function httpTransport(options) {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  return (handlers, context) => {
    let active = false;
    let reading = false;
    const aborter = new AbortController();
    const stop = () => {
      active = false;
      aborter.abort();
    };
    /** @type {EventsLink['fail']} */
    const fail = (code, reason, unusable = false) => {
      if (!active) return;
      stop();
      handlers.onClose(unusable ? { code, reason, unusable } : { code, reason });
    };
    const link = { handlers, context, fetch: doFetch, signal: aborter.signal, active: () => active, fail, stop };
    const startEvents = () => {
      if (reading || !active || !context.getToken()) return;
      reading = true;
      void options.readEvents(link);
    };
    const commands = commandPoster({
      fetch: doFetch,
      baseUrl,
      context,
      signal: aborter.signal,
      active: () => active,
      onAnswer: (answer) => handlers.onFrame(answer),
      onFail: fail,
      onBatchDone: startEvents,
    });
    return {
      name: options.name,
      open() {
        active = true;
        queueMicrotask(() => {
          if (!active) return;
          handlers.onOpen();
          startEvents();
        });
      },
      send(frame) {
        if (active) commands.send(frame);
      },
      close: stop,
    };
  };
}

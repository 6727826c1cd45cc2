// Long-polling transport: commands by `POST /v1/poll/commands`, events by
// `GET /v1/poll/events?after=N&wait=25`, with the bearer token (PROTOCOL.md §6).

import { closeCodeForStatus } from './codes.js';

/** @typedef {import('./transport.js').TransportFactory} TransportFactory */
/** @typedef {import('./transport.js').Frame} Frame */

const MAX_BATCH = 20;

/**
 * @param {object} options
 * @param {string} options.baseUrl  the connector's http(s) base URL
 * @param {number} [options.waitSeconds] how long the connector may hold a poll (default 25)
 * @param {typeof fetch} [options.fetch]
 * @returns {TransportFactory}
 */
export function longpollTransport(options) {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = options.baseUrl.replace(/\/+$/, '');
  const wait = options.waitSeconds ?? 25;
  return (handlers, context) => {
    let active = false;
    let polling = false;
    let flushing = false;
    /** @type {Frame[]} */
    let outbox = [];
    const aborter = new AbortController();

    /** @param {number} code @param {string} reason */
    const fail = (code, reason) => {
      if (!active) return;
      active = false;
      aborter.abort();
      handlers.onClose({ code, reason });
    };

    /** @returns {Record<string, string>} */
    const headers = () => {
      /** @type {Record<string, string>} */
      const result = { 'Content-Type': 'application/json' };
      const token = context.getToken();
      if (token) result.Authorization = `Bearer ${token}`;
      return result;
    };

    const flush = async () => {
      if (flushing) return;
      flushing = true;
      try {
        while (active && outbox.length > 0) {
          const batch = outbox.slice(0, MAX_BATCH);
          outbox = outbox.slice(MAX_BATCH);
          const response = await doFetch(`${base}/v1/poll/commands`, {
            method: 'POST',
            headers: headers(),
            body: JSON.stringify(batch),
            signal: aborter.signal,
          });
          if (!response.ok) {
            fail(closeCodeForStatus(response.status), `commands: HTTP ${response.status}`);
            return;
          }
          const answers = await response.json();
          if (!active) return;
          for (const answer of Array.isArray(answers) ? answers : []) {
            if (answer && typeof answer.type === 'string' && answer.re !== undefined) {
              handlers.onFrame(answer);
            }
          }
          startPolling();
        }
      } catch (err) {
        fail(1006, `commands: ${String(err)}`);
      } finally {
        flushing = false;
      }
    };

    const poll = async () => {
      let after = context.getAfter();
      try {
        while (active) {
          const url = `${base}/v1/poll/events?after=${after}&wait=${wait}`;
          const response = await doFetch(url, { headers: headers(), signal: aborter.signal });
          if (response.status === 410) {
            // Events no longer kept: the problem body says from which seq (code `gap`). Tell
            // the client as the WebSocket would (an `error` with code gap), and stop here.
            const problem = await response.json().catch(() => ({}));
            if (!active) return;
            active = false;
            aborter.abort();
            handlers.onFrame({ type: 'error', code: 'gap', seq: problem?.seq, message: 'gap' });
            return;
          }
          if (!response.ok) {
            fail(closeCodeForStatus(response.status), `events: HTTP ${response.status}`);
            return;
          }
          const body = await response.json();
          if (!active) return;
          for (const event of Array.isArray(body?.events) ? body.events : []) {
            if (!event || typeof event.type !== 'string') continue;
            if (typeof event.seq === 'number') after = Math.max(after, event.seq);
            handlers.onFrame(event);
          }
        }
      } catch (err) {
        fail(1006, `events: ${String(err)}`);
      }
    };

    const startPolling = () => {
      if (polling || !active || !context.getToken()) return;
      polling = true;
      void poll();
    };

    return {
      name: 'longpoll',
      open() {
        active = true;
        queueMicrotask(() => {
          if (!active) return;
          handlers.onOpen();
          startPolling();
        });
      },
      send(frame) {
        if (!active) return;
        outbox.push(frame);
        queueMicrotask(() => void flush());
      },
      close() {
        active = false;
        aborter.abort();
      },
    };
  };
}

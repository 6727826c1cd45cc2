// Long-polling transport: commands by `POST /v1/poll/commands`, events by
// `GET /v1/poll/events?after=N&wait=25`, with the bearer token (PROTOCOL.md §6).

import { closeCodeForStatus } from './codes.js';
import { authHeaders, httpTransport } from './http_transport.js';

/** @typedef {import('./transport.js').TransportFactory} TransportFactory */
/** @typedef {import('./http_transport.js').EventsLink} EventsLink */

/**
 * @param {object} options
 * @param {string} options.baseUrl  the connector's http(s) base URL
 * @param {number} [options.waitSeconds] how long the connector may hold a poll (default 25)
 * @param {typeof fetch} [options.fetch]
 * @returns {TransportFactory}
 */
export function longpollTransport(options) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const wait = options.waitSeconds ?? 25;

  /** @param {EventsLink} link */
  const poll = async (link) => {
    let after = link.context.getAfter();
    try {
      while (link.active()) {
        const url = `${base}/v1/poll/events?after=${after}&wait=${wait}`;
        const response = await link.fetch(url, { headers: authHeaders(link.context), signal: link.signal });
        if (response.status === 410) return await gap(link, response);
        if (!response.ok) return link.fail(closeCodeForStatus(response.status), `events: HTTP ${response.status}`);
        const body = await response.json();
        if (!link.active()) return;
        link.handlers.onAlive?.();
        for (const event of Array.isArray(body?.events) ? body.events : []) {
          if (!event || typeof event.type !== 'string') continue;
          if (typeof event.seq === 'number') after = Math.max(after, event.seq);
          link.handlers.onFrame(event);
        }
      }
    } catch (err) {
      link.fail(1006, `events: ${String(err)}`);
    }
  };

  return httpTransport({ name: 'longpoll', baseUrl: base, fetch: options.fetch, readEvents: poll });
}

/**
 * The poll's 410: events no longer kept. The problem body says from which seq (code `gap`).
 * Tell the client as the WebSocket would (an `error` with code gap), and stop here.
 * @param {EventsLink} link
 * @param {Response} response
 */
async function gap(link, response) {
  const problem = await response.json().catch(() => ({}));
  if (!link.active()) return;
  link.stop();
  link.handlers.onFrame({ type: 'error', code: 'gap', seq: problem?.seq, message: 'gap' });
}

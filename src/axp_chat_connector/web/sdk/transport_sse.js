// Server-Sent Events transport: commands by `POST /v1/poll/commands` (as long polling), events
// from one held `GET /v1/sse?after=N` read as a stream (PROTOCOL.md §6). It uses fetch, not
// EventSource: the token goes in the Authorization header instead of the URL (where access logs
// keep it), an HTTP status tells 401 from 404 from a network failure, and the client, not the
// browser, decides when and from which seq to reconnect.

import { CLOSE, closeCodeForStatus } from './codes.js';
import { authHeaders, httpTransport } from './http_transport.js';

/** @typedef {import('./transport.js').TransportFactory} TransportFactory */
/** @typedef {import('./http_transport.js').EventsLink} EventsLink */

/**
 * Splits an event stream into the `data` of its events (the SSE format of the HTML standard,
 * reduced to what the connector sends: `data`, `id`, `retry` and comment lines). Pure.
 */
export class SseParser {
  constructor() {
    this.buffer = '';
    /** @type {string[]} data lines of the event being read */
    this.data = [];
  }

  /**
   * @param {string} chunk text as it arrived (lines may be cut anywhere)
   * @returns {string[]} the data of each event completed by this chunk
   */
  push(chunk) {
    this.buffer += chunk;
    /** @type {string[]} */
    const events = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r' && i + 1 === this.buffer.length) break; // a CRLF cut in two: wait
      const line = this.buffer.slice(start, i);
      if (c === '\r' && this.buffer[i + 1] === '\n') i++;
      start = i + 1;
      const data = this.#line(line);
      if (data !== null) events.push(data);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** @param {string} line @returns {string | null} an event's data when the line ends it */
  #line(line) {
    if (line === '') {
      if (this.data.length === 0) return null;
      const data = this.data.join('\n');
      this.data = [];
      return data;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return null; // a comment (the connector's `: ping`)
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field === 'data') {
      const value = colon < 0 ? '' : line.slice(colon + 1);
      this.data.push(value.startsWith(' ') ? value.slice(1) : value);
    }
    return null; // `id` (the seq is in the event too), `retry` (the client decides)
  }
}

/**
 * @param {string} data one event's data
 * @returns {import('./transport.js').Frame | null}
 */
function parseFrame(data) {
  try {
    const frame = JSON.parse(data);
    return frame && typeof frame === 'object' && typeof frame.type === 'string' ? frame : null;
  } catch {
    return null;
  }
}

/**
 * Read one response to its end.
 * @param {EventsLink} link
 * @param {ReadableStreamDefaultReader<Uint8Array>} reader
 * @param {number} silentMs
 * @returns {Promise<number | null>} the last seq seen (0: none), null if the stream failed
 */
async function readStream(link, reader, silentMs) {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const silent = setTimeout(() => link.fail(1006, 'sse: no data', true), silentMs);
  let last = 0;
  let empty = true;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (!link.active()) return null;
      if (done && empty) link.fail(1006, 'sse: the stream ended empty');
      if (done) return empty ? null : last;
      empty = false;
      clearTimeout(silent);
      link.handlers.onAlive?.();
      for (const data of parser.push(decoder.decode(value, { stream: true }))) {
        const frame = parseFrame(data);
        if (!frame) continue;
        if (typeof frame.seq === 'number') last = frame.seq;
        link.handlers.onFrame(frame);
        if (!link.active()) return null;
      }
    }
  } finally {
    clearTimeout(silent);
  }
}

/**
 * The stream was refused. Before any stream was served, anything but a bad token or a rate
 * limit (a 404 from a connector without SSE, a proxy's 502) says that SSE does not get through
 * here: unusable. After, the status means what it means for long polling (404: session ended).
 * @param {EventsLink} link
 * @param {number} status
 * @param {boolean} served
 */
function refused(link, status, served) {
  const code = closeCodeForStatus(status);
  const unusable = !served && code !== CLOSE.UNAUTHORIZED && code !== CLOSE.RATE_LIMITED;
  link.fail(unusable ? 1006 : code, `sse: HTTP ${status}`, unusable);
}

/**
 * @param {object} options
 * @param {string} options.baseUrl  the connector's http(s) base URL
 * @param {number} [options.firstDataTimeoutMs] a stream that sends nothing this long is
 *   taken for a proxy that buffers it: the transport says it is unusable here (default 8000;
 *   the connector writes `retry:` at once)
 * @param {typeof fetch} [options.fetch]
 * @returns {TransportFactory}
 */
export function sseTransport(options) {
  const base = options.baseUrl.replace(/\/+$/, '');
  const silentMs = options.firstDataTimeoutMs ?? 8000;

  /** @param {EventsLink} link */
  const stream = async (link) => {
    let after = link.context.getAfter();
    let served = false;
    try {
      while (link.active()) {
        const response = await link.fetch(`${base}/v1/sse?after=${after}`, {
          headers: authHeaders(link.context, { Accept: 'text/event-stream' }),
          cache: 'no-store',
          signal: link.signal,
        });
        if (!response.ok || !response.body) return refused(link, response.status, served);
        served = true;
        // The stream ends after session.ended, or when a proxy cuts it: go on from the last seq.
        const last = await readStream(link, response.body.getReader(), silentMs);
        if (last === null) return;
        after = Math.max(after, last);
      }
    } catch (err) {
      link.fail(1006, `sse: ${String(err)}`, !served);
    }
  };

  return httpTransport({ name: 'sse', baseUrl: base, fetch: options.fetch, readEvents: stream });
}

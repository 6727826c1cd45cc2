// The transports a client uses unless it is given others: those this browser has.

import { longpollTransport } from './transport_longpoll.js';
import { sseTransport } from './transport_sse.js';
import { websocketTransport } from './transport_websocket.js';

/** @typedef {import('./transport.js').TransportFactory} TransportFactory */

/**
 * @param {string} connector the connector's http(s) base URL, without a trailing slash
 * @returns {Record<import('./fallback.js').TransportName, TransportFactory | undefined>}
 */
export function defaultTransports(connector) {
  const canFetch = typeof globalThis.fetch === 'function';
  const canStream = canFetch && typeof globalThis.ReadableStream === 'function';
  return {
    websocket: globalThis.WebSocket ? websocketTransport({ url: `${connector.replace(/^http/, 'ws')}/v1/ws` }) : undefined,
    sse: canStream ? sseTransport({ baseUrl: connector }) : undefined,
    longpoll: canFetch ? longpollTransport({ baseUrl: connector }) : undefined,
  };
}

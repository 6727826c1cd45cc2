// The one shape every transport has: a dumb pipe of JSON frames. Reconnecting, backoff,
// resuming and retrying live in the client, once. A following tab's link to the leading tab
// (transport_tab.js) has this shape too.

/** @typedef {{type: string, [key: string]: unknown}} Frame */

/**
 * @typedef {object} CloseInfo
 * @property {number} code   a WebSocket close code (1006 for a network failure; the HTTP
 *   transports map HTTP statuses to the connector's close codes)
 * @property {string} reason
 * @property {boolean} [unusable] the transport cannot work on this network (a proxy buffers
 *   the event stream, say): the client moves to the next one even after it was bound
 */

/**
 * @typedef {object} LinkStatus the state of the far end's own link (a leading tab's connection)
 * @property {string} state
 * @property {string | null} transport
 */

/**
 * @typedef {object} TransportHandlers
 * @property {() => void} onOpen           the pipe can carry frames
 * @property {(frame: Frame) => void} onFrame  an answer or event arrived
 * @property {(info: CloseInfo) => void} onClose  the pipe is gone (not called after close())
 * @property {() => void} [onAlive]        the link showed life without a frame (an empty poll,
 *   an SSE comment): it is not quiet
 * @property {(status: LinkStatus) => void} [onStatus] the far end's link changed state
 */

/**
 * @typedef {object} Transport
 * @property {string} name  'websocket', 'sse', 'longpoll' or 'tab'
 * @property {() => void} open
 * @property {(frame: Frame) => void} send
 * @property {() => void} close
 */

/**
 * @typedef {object} TransportContext
 * @property {() => string | null} getToken the session token, once there is one
 * @property {() => number} getAfter       the last seq the client has
 * @property {() => import('./storage.js').SessionRecord | null} getSession the whole record
 */

/** @typedef {(handlers: TransportHandlers, context: TransportContext) => Transport} TransportFactory */

export {};

// The one shape every transport has: a dumb pipe of JSON frames. Reconnecting, backoff,
// resuming and retrying live in the client, once.

/** @typedef {{type: string, [key: string]: unknown}} Frame */

/**
 * @typedef {object} CloseInfo
 * @property {number} code   a WebSocket close code (1006 for a network failure; long polling
 *   maps HTTP statuses to the connector's close codes)
 * @property {string} reason
 */

/**
 * @typedef {object} TransportHandlers
 * @property {() => void} onOpen           the pipe can carry frames
 * @property {(frame: Frame) => void} onFrame  an answer or event arrived
 * @property {(info: CloseInfo) => void} onClose  the pipe is gone (not called after close())
 */

/**
 * @typedef {object} Transport
 * @property {'websocket' | 'longpoll'} name
 * @property {() => void} open
 * @property {(frame: Frame) => void} send
 * @property {() => void} close
 */

/**
 * @typedef {object} TransportContext
 * @property {() => string | null} getToken the session token, once there is one
 * @property {() => number} getAfter       the last seq the client has
 */

/** @typedef {(handlers: TransportHandlers, context: TransportContext) => Transport} TransportFactory */

export {};

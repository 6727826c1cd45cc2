// Close codes and error codes of the client protocol (PROTOCOL.md §4, §6), and what the client
// does about each. Pure: no I/O.

/** WebSocket close codes the connector uses. */
export const CLOSE = Object.freeze({
  UNAUTHORIZED: 4401,
  LOGIN_TIMEOUT: 4408,
  SESSION_ENDED: 4409,
  TOO_LARGE: 4413,
  RATE_LIMITED: 4429,
});

/** Error codes of `error` answers. */
export const ERROR = Object.freeze({
  BAD_REQUEST: 'bad_request',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  INVALID_STATE: 'invalid_state',
  TOO_LARGE: 'too_large',
  RATE_LIMITED: 'rate_limited',
  GAP: 'gap',
  UPSTREAM_UNAVAILABLE: 'upstream_unavailable',
  UPSTREAM_REJECTED: 'upstream_rejected',
  INTERNAL: 'internal',
  // Made by the SDK itself, never sent by the connector:
  DISCONNECTED: 'disconnected',
});

/**
 * @typedef {object} CloseAction
 * @property {boolean} reconnect   open a new connection (after a backoff delay)
 * @property {boolean} dropSession the session token is no longer good: forget it
 * @property {number} minDelayMs   wait at least this long before reconnecting
 * @property {string} [rejectLast] reject the last command sent with this error code
 */

/**
 * What to do when a connection closes with `code` (a WebSocket close code, or the code a
 * long-polling transport maps an HTTP status to).
 * @param {number} code
 * @returns {CloseAction}
 */
export function closeAction(code) {
  switch (code) {
    case CLOSE.UNAUTHORIZED:
    case CLOSE.SESSION_ENDED:
      return { reconnect: false, dropSession: true, minDelayMs: 0 };
    case CLOSE.LOGIN_TIMEOUT:
      return { reconnect: true, dropSession: false, minDelayMs: 0 };
    case CLOSE.TOO_LARGE:
      return { reconnect: true, dropSession: false, minDelayMs: 0, rejectLast: ERROR.TOO_LARGE };
    case CLOSE.RATE_LIMITED:
      return { reconnect: true, dropSession: false, minDelayMs: 5000 };
    default:
      return { reconnect: true, dropSession: false, minDelayMs: 0 };
  }
}

/**
 * The close code a long-polling transport reports for an HTTP status it cannot go on after.
 * @param {number} status
 * @returns {number}
 */
export function closeCodeForStatus(status) {
  if (status === 401 || status === 403) return CLOSE.UNAUTHORIZED;
  if (status === 404 || status === 410) return CLOSE.SESSION_ENDED;
  if (status === 413) return CLOSE.TOO_LARGE;
  if (status === 429) return CLOSE.RATE_LIMITED;
  return 1006;
}

/** An `error` answer (or an SDK-made failure) as a JavaScript error. */
export class ChatError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{retryable?: boolean, detail?: unknown, retryAfter?: number, seq?: number}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message);
    this.name = 'ChatError';
    this.code = code;
    this.retryable = extra.retryable ?? false;
    this.detail = extra.detail;
    this.retryAfter = extra.retryAfter;
    this.seq = extra.seq;
  }
}

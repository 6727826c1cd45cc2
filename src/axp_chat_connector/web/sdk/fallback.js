// Which transport to use next: WebSocket first; long polling after WebSocket fails; WebSocket
// again later. Pure: the clock is passed in.

/** @typedef {'websocket' | 'longpoll'} TransportName */

/**
 * @typedef {object} FallbackOptions
 * @property {number} [failuresBeforeFallback] WebSocket attempts that never got bound before
 *   long polling is used (default 1: a blocked WebSocket costs one attempt)
 * @property {number} [retryWebSocketAfterMs] how long to long-poll before trying WebSocket
 *   again (default 60000; doubled after each failed retry, up to 16 times that)
 * @property {boolean} [websocketAvailable] false where there is no WebSocket at all
 * @property {() => boolean} [offline] whether the device is offline now (default:
 *   `navigator.onLine === false`); a WebSocket failing while offline says nothing about
 *   WebSocket being blocked, so it does not count towards the fallback
 * @property {() => number} [now]
 */

export class TransportChooser {
  /** @param {FallbackOptions} [options] */
  constructor(options = {}) {
    this.failuresBeforeFallback = options.failuresBeforeFallback ?? 1;
    this.retryAfterMs = options.retryWebSocketAfterMs ?? 60000;
    this.websocketAvailable = options.websocketAvailable ?? true;
    this.now = options.now ?? Date.now;
    this.offline = options.offline ?? (() => globalThis.navigator?.onLine === false);
    this.wsFailures = 0;
    this.retries = 0;
    this.probing = false;
    /** @type {TransportName} */
    this.current = this.websocketAvailable ? 'websocket' : 'longpoll';
    /** @type {number} when long polling started */
    this.fallbackAt = this.now();
  }

  /** @returns {TransportName} the transport for the next connection */
  choose() {
    return this.current;
  }

  /** Milliseconds of long polling before WebSocket is tried again. */
  probeDelayMs() {
    return this.retryAfterMs * 2 ** Math.min(this.retries, 4);
  }

  /**
   * Whether a client long polling since the fallback should now try WebSocket again.
   * @param {TransportName} current
   */
  shouldProbe(current) {
    return (
      this.websocketAvailable &&
      current === 'longpoll' &&
      this.current === 'longpoll' &&
      this.now() - this.fallbackAt >= this.probeDelayMs()
    );
  }

  /** The next connection tries WebSocket again (after shouldProbe said so). */
  probe() {
    if (!this.websocketAvailable) return;
    this.current = 'websocket';
    this.probing = true;
  }

  /**
   * A connection over `name` was bound to the session (login or resume answered).
   * @param {TransportName} name
   */
  bound(name) {
    if (name === 'websocket') {
      this.wsFailures = 0;
      this.retries = 0;
      this.probing = false;
    }
  }

  /**
   * A connection over `name` closed before it was bound (blocked, refused, cut by a proxy).
   * @param {TransportName} name
   */
  failed(name) {
    if (name !== 'websocket' || this.current !== 'websocket' || this.offline()) return;
    this.wsFailures += 1;
    if (this.probing) {
      // A retry of WebSocket after falling back failed: long-poll again, retry later still.
      this.retries += 1;
      this.probing = false;
      this.fall();
    } else if (this.wsFailures >= this.failuresBeforeFallback) {
      this.fall();
    }
  }

  /** @private */
  fall() {
    this.current = 'longpoll';
    this.fallbackAt = this.now();
  }
}

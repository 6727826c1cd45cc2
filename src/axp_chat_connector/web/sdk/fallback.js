// Which transport to use next: WebSocket first; Server-Sent Events after WebSocket fails; long
// polling after SSE fails too; WebSocket again later. Pure: the clock is passed in.

/** @typedef {'websocket' | 'sse' | 'longpoll'} TransportName */

/** @type {readonly TransportName[]} best first */
export const TRANSPORT_ORDER = Object.freeze(['websocket', 'sse', 'longpoll']);

/**
 * @typedef {object} FallbackOptions
 * @property {number} [failuresBeforeFallback] WebSocket attempts that never got bound before
 *   the next transport is used (default 1: a blocked WebSocket costs one attempt)
 * @property {number} [retryWebSocketAfterMs] how long to use SSE or long polling before trying
 *   WebSocket again (default 60000; doubled after each failed retry, up to 16 times that)
 * @property {boolean} [websocketAvailable] false where there is no WebSocket at all
 * @property {readonly TransportName[]} [available] the transports this client has (default all)
 * @property {() => boolean} [offline] whether the device is offline now (default:
 *   `navigator.onLine === false`); a transport failing while offline says nothing about it
 *   being blocked, so it does not count towards the fallback
 * @property {() => number} [now]
 */

export class TransportChooser {
  /** @param {FallbackOptions} [options] */
  constructor(options = {}) {
    this.failuresBeforeFallback = options.failuresBeforeFallback ?? 1;
    this.retryAfterMs = options.retryWebSocketAfterMs ?? 60000;
    const available = options.available ?? TRANSPORT_ORDER;
    /** @type {TransportName[]} the usable transports, best first */
    this.order = TRANSPORT_ORDER.filter(
      (name) => available.includes(name) && (name !== 'websocket' || options.websocketAvailable !== false),
    );
    if (this.order.length === 0) this.order = ['longpoll'];
    this.websocketAvailable = this.order[0] === 'websocket';
    this.now = options.now ?? Date.now;
    this.offline = options.offline ?? (() => globalThis.navigator?.onLine === false);
    this.wsFailures = 0;
    this.retries = 0;
    /** @type {number | null} the level to go back to if a WebSocket retry fails */
    this.probingFrom = null;
    /** index in `order` of the transport in use */
    this.level = 0;
    /** @type {number} when the current fallback started */
    this.fallbackAt = this.now();
  }

  /** @returns {TransportName} the transport for the next connection */
  choose() {
    return this.order[this.level] ?? 'longpoll';
  }

  /** Milliseconds on a fallback transport before WebSocket is tried again. */
  probeDelayMs() {
    return this.retryAfterMs * 2 ** Math.min(this.retries, 4);
  }

  /**
   * Whether a client bound over `current` (a fallback) should now try WebSocket again.
   * @param {string} current
   */
  shouldProbe(current) {
    return (
      this.websocketAvailable &&
      current !== 'websocket' &&
      this.choose() === current &&
      this.now() - this.fallbackAt >= this.probeDelayMs()
    );
  }

  /** The next connection tries WebSocket again (after shouldProbe said so). */
  probe() {
    if (!this.websocketAvailable || this.level === 0) return;
    this.probingFrom = this.level;
    this.level = 0;
  }

  /**
   * A connection over `name` was bound to the session (login or resume answered).
   * @param {string} name
   */
  bound(name) {
    if (name === 'websocket') {
      this.wsFailures = 0;
      this.retries = 0;
      this.probingFrom = null;
    }
  }

  /**
   * A connection over `name` closed before it was bound (blocked, refused, cut by a proxy), or
   * said it cannot work here.
   * @param {string} name
   */
  failed(name) {
    if (name !== this.choose() || this.offline()) return;
    if (name !== 'websocket') {
      this.#fallTo(this.level + 1);
      return;
    }
    this.wsFailures += 1;
    if (this.probingFrom !== null) {
      // A retry of WebSocket after falling back failed: back to where we were, retry later still.
      this.retries += 1;
      const level = this.probingFrom;
      this.probingFrom = null;
      this.#fallTo(level);
    } else if (this.wsFailures >= this.failuresBeforeFallback) {
      this.#fallTo(1);
    }
  }

  /** @param {number} level */
  #fallTo(level) {
    this.level = Math.min(level, this.order.length - 1);
    this.fallbackAt = this.now();
  }
}

/** @typedef {import('./transport.js').TransportFactory} TransportFactory */

/**
 * @typedef {object} Route where a client's connections go: the network (the leading tab) or
 *   the leading tab (a following tab). The connection asks it which transport to open next and
 *   tells it how each one fared.
 * @property {() => string} choose            the transport for the next connection
 * @property {(name: string) => TransportFactory | undefined} factory
 * @property {(name: string) => void} failed  a connection over `name` never worked
 * @property {(name: string) => void} bound   a connection over `name` was bound
 * @property {(name: string) => number | null} probeDelayMs when to try a better transport
 *   while bound over `name` (null: never)
 * @property {(name: string) => boolean} shouldProbe
 * @property {() => void} probe
 * @property {boolean} alwaysOpen keep a connection open without a session (to learn one)
 * @property {boolean} watch      detect a link that went quiet (ping it)
 */

/**
 * The network: the given transports, best first, as the chooser says.
 * @param {Partial<Record<TransportName, TransportFactory>>} factories
 * @param {FallbackOptions} [options]
 * @returns {Route}
 */
export function networkRoute(factories, options = {}) {
  const available = TRANSPORT_ORDER.filter((name) => factories[name]);
  const chooser = new TransportChooser({ ...options, available });
  return {
    choose: () => chooser.choose(),
    factory: (name) => factories[/** @type {TransportName} */ (name)],
    failed: (name) => chooser.failed(name),
    bound: (name) => chooser.bound(name),
    probeDelayMs: (name) => (name !== 'websocket' && chooser.websocketAvailable ? chooser.probeDelayMs() : null),
    shouldProbe: (name) => chooser.shouldProbe(name),
    probe: () => chooser.probe(),
    alwaysOpen: false,
    watch: true,
  };
}

// One client's connection, whichever transport carries it: opening it over the route's next
// transport, reconnecting with backoff, falling back and trying the better transport again,
// telling a dead link from a quiet one, and the state the page sees ('status'). What the
// frames mean (binding, answers, events) is the client's business (client.js).

import { Backoff } from './backoff.js';
import { closeAction } from './codes.js';
import { Liveness } from './liveness.js';

/** @typedef {import('./transport.js').Frame} Frame */
/** @typedef {import('./transport.js').Transport} Transport */
/** @typedef {import('./transport.js').TransportContext} TransportContext */
/** @typedef {import('./transport.js').LinkStatus} LinkStatus */
/** @typedef {import('./codes.js').CloseAction} CloseAction */
/** @typedef {import('./fallback.js').Route} Route */

/** @typedef {'idle' | 'connecting' | 'online' | 'offline'} ConnectionState */

/**
 * @typedef {object} ConnectionHost what the connection needs from the client
 * @property {TransportContext} context
 * @property {() => boolean} wantsConnection  a session, or a login waiting to be sent
 * @property {() => void} onOpen              send the frame that binds (or call drop())
 * @property {(frame: Frame) => void} onFrame
 * @property {(action: CloseAction, lastSentId: string | null) => boolean} onClosed
 *   handle a close; false: do not reconnect
 * @property {() => void} ping                ask the link for a sign of life
 * @property {(state: ConnectionState, transport: string | null) => void} onState
 */

export class Connection {
  /**
   * @param {ConnectionHost} host
   * @param {{backoff?: import('./backoff.js').BackoffOptions, liveness?: import('./liveness.js').LivenessOptions}} [options]
   */
  constructor(host, options = {}) {
    this.host = host;
    this.backoff = new Backoff(options.backoff);
    this.liveness = new Liveness({
      ...options.liveness,
      onProbe: () => host.ping(),
      onDead: () => this.reopen(0),
    });
    /** @type {Route | null} null until the tab knows whether it leads */
    this.route = null;
    /** @type {ConnectionState} */
    this.state = 'idle';
    /** @type {Transport | null} */
    this.transport = null;
    this.bound = false;
    /** @type {string | null} id of the resume or login that binds the current transport */
    this.bindId = null;
    /** @type {string | null} */
    this.lastSentId = null;
    /** @type {LinkStatus | null} the far end's link, when the transport reports one */
    this.remote = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.probeTimer = undefined;
    this.closed = false;
  }

  /**
   * Go over `route` from now on (the network when this tab leads, the leading tab when it
   * follows): the current transport is closed, and a connection opened if one is wanted.
   * @param {Route} route
   */
  use(route) {
    this.route = route;
    this.#detach();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.backoff.reset();
    this.ensure();
  }

  /** Open a connection unless there is one, one is coming, or none is wanted. */
  ensure() {
    if (this.closed || !this.route || this.transport || this.retryTimer) return;
    if (!this.route.alwaysOpen && !this.host.wantsConnection()) return;
    this.#open();
  }

  #open() {
    this.retryTimer = undefined;
    const route = /** @type {Route} */ (this.route);
    const name = route.choose();
    const factory = route.factory(name);
    if (!factory) return;
    this.bound = false;
    this.bindId = null;
    this.#setState(this.state === 'online' || this.state === 'offline' ? 'offline' : 'connecting');
    /** @type {Transport | null} */
    let transport = null;
    const current = () => transport !== null && transport === this.transport;
    transport = factory(
      {
        onOpen: () => current() && this.host.onOpen(),
        onFrame: (frame) => current() && this.#onFrame(frame),
        onClose: (info) => current() && this.#onClose(info.code, info.unusable === true),
        onAlive: () => current() && this.liveness.heard(),
        onStatus: (status) => current() && this.#onRemote(status),
      },
      this.host.context,
    );
    this.transport = transport;
    transport.open();
  }

  /**
   * Send the frame that binds the transport (resume or login).
   * @param {Frame & {id: string}} frame
   */
  bind(frame) {
    this.bindId = frame.id;
    this.write(frame);
    if (!this.route?.watch) return;
    // Its answer should come soon too: a link that opens and then stays mute is dead as well.
    this.liveness.start();
    this.liveness.sent();
  }

  /** @param {Frame} frame */
  write(frame) {
    if (!this.transport) return;
    if (typeof frame.id === 'string') this.lastSentId = frame.id;
    this.transport.send(frame);
    if (this.bound) this.liveness.sent();
  }

  /** @param {Frame} frame */
  #onFrame(frame) {
    this.liveness.heard();
    if (this.bound && this.state === 'offline' && !this.remote) this.#setState('online');
    this.host.onFrame(frame);
  }

  /** @param {LinkStatus} status */
  #onRemote(status) {
    this.remote = status;
    if (this.bound) this.#setState(/** @type {ConnectionState} */ (status.state));
  }

  /** The bind frame was answered: the connection carries the session's commands now. */
  markBound() {
    const route = /** @type {Route} */ (this.route);
    this.bound = true;
    this.bindId = null;
    const name = this.transport?.name ?? '';
    route.bound(name);
    this.backoff.reset();
    this.#setState(/** @type {ConnectionState} */ (this.remote?.state ?? 'online'));
    if (route.watch) this.liveness.start();
    clearTimeout(this.probeTimer);
    const delay = route.probeDelayMs(name);
    if (delay === null) return;
    this.probeTimer = setTimeout(() => {
      if (this.bound && route.shouldProbe(name)) {
        route.probe();
        this.reopen(0);
      }
    }, delay);
  }

  /**
   * @param {number} code
   * @param {boolean} unusable
   */
  #onClose(code, unusable) {
    const route = /** @type {Route} */ (this.route);
    const transport = this.transport;
    const wasBound = this.bound;
    this.#detach();
    if (transport && (!wasBound || unusable)) route.failed(transport.name);
    const action = closeAction(code);
    const reconnect = this.host.onClosed(action, this.lastSentId);
    if (!reconnect || (!route.alwaysOpen && !this.host.wantsConnection())) {
      this.#setState('idle');
      return;
    }
    this.#setState(this.state === 'connecting' && !wasBound ? 'connecting' : 'offline');
    // Falling back to another transport after one that never worked is no reason to wait.
    const switching = transport !== null && route.choose() !== transport.name;
    const delay = Math.max(action.minDelayMs, switching && (!wasBound || unusable) ? 0 : this.backoff.next());
    this.#scheduleOpen(delay);
  }

  /** Forget the transport (closing it) without a word to anyone. */
  #detach() {
    this.transport?.close();
    this.transport = null;
    this.bound = false;
    this.bindId = null;
    this.remote = null;
    clearTimeout(this.probeTimer);
    this.liveness.stop();
  }

  /** @param {number} delay */
  #scheduleOpen(delay) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.transport && !this.closed) this.#open();
    }, delay);
  }

  /**
   * Close the current connection on purpose and open another after `delay` ms.
   * @param {number} delay
   */
  reopen(delay) {
    this.#detach();
    if (this.state === 'online') this.#setState('offline');
    this.#scheduleOpen(delay);
  }

  /** Close a connection that has nothing to do (no session, no login). */
  drop() {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.#detach();
    this.#setState('idle');
  }

  /** The session is gone: close the connection, unless the route keeps one open anyway. */
  release() {
    if (this.route?.alwaysOpen) return;
    this.drop();
  }

  /** Reconnect at once (network back, page shown again) instead of waiting for the timer. */
  wake() {
    if (this.closed || !this.route?.watch) return;
    if (this.bound) {
      this.liveness.probeNow();
    } else if (this.retryTimer) {
      this.backoff.reset();
      this.#scheduleOpen(0);
    } else {
      this.ensure();
    }
  }

  /** The browser says the network is gone: say so at once, and ping to be sure. */
  suspect() {
    if (this.closed || !this.route?.watch || !this.bound) return;
    this.#setState('offline');
    this.liveness.probeNow();
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.#detach();
    this.#setState('idle');
  }

  /** @param {ConnectionState} state */
  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    const transport = this.remote ? this.remote.transport : this.transport?.name ?? null;
    this.host.onState(state, transport);
  }
}

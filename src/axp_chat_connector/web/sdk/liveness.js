// Telling a dead link from a quiet one. A link that dies silently (Wi-Fi gone, a laptop
// asleep, a proxy that drops the connection without closing it) looks like a quiet one: no
// frames. So when nothing was heard for `quietMs` — or for `answerMs` after a command went
// out — the client pings, and a link that then stays mute for `answerMs` is dead. Only the
// clock is I/O here: the ping and what to do about a dead link are the caller's.

/**
 * @typedef {object} LivenessOptions
 * @property {number} [quietMs]  ping after this long without hearing anything (default 10000)
 * @property {number} [answerMs] a link mute this long after a command or a ping is dead (5000)
 */

export class Liveness {
  /**
   * @param {LivenessOptions & {onProbe: () => void, onDead: () => void, now?: () => number}} options
   */
  constructor(options) {
    this.quietMs = options.quietMs ?? 10000;
    this.answerMs = options.answerMs ?? 5000;
    this.onProbe = options.onProbe;
    this.onDead = options.onDead;
    this.now = options.now ?? Date.now;
    this.running = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} fires the next probe */
    this.quietTimer = undefined;
    /** when the quiet timer fires */
    this.probeAt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} set while a probe waits for life */
    this.deadTimer = undefined;
  }

  /** Watch a link that was just bound. */
  start() {
    this.running = true;
    this.heard();
  }

  stop() {
    this.running = false;
    clearTimeout(this.quietTimer);
    clearTimeout(this.deadTimer);
    this.quietTimer = this.deadTimer = undefined;
  }

  /** Something arrived: the link lives. */
  heard() {
    if (!this.running) return;
    clearTimeout(this.deadTimer);
    this.deadTimer = undefined;
    this.#probeIn(this.quietMs);
  }

  /** A command went out: its answer should come soon. */
  sent() {
    if (!this.running || this.deadTimer) return;
    if (this.probeAt - this.now() > this.answerMs) this.#probeIn(this.answerMs);
  }

  /** Probe now (the browser said it went offline, or the page woke up). */
  probeNow() {
    if (this.running) this.#probe();
  }

  /** @param {number} ms */
  #probeIn(ms) {
    clearTimeout(this.quietTimer);
    this.probeAt = this.now() + ms;
    this.quietTimer = setTimeout(() => this.#probe(), ms);
  }

  #probe() {
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    if (this.deadTimer) return;
    this.deadTimer = setTimeout(() => {
      this.stop();
      this.onDead();
    }, this.answerMs);
    this.onProbe();
  }
}

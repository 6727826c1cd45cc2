// Reconnect delays: exponential with full jitter, capped. Pure apart from the random source,
// which is passed in.

/**
 * @typedef {object} BackoffOptions
 * @property {number} [baseMs]   first delay's upper bound (default 500)
 * @property {number} [maxMs]    cap of any delay (default 30000)
 * @property {number} [factor]   growth per attempt (default 2)
 * @property {() => number} [random] a number in [0, 1) (default Math.random)
 */

export class Backoff {
  /** @param {BackoffOptions} [options] */
  constructor(options = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.maxMs = options.maxMs ?? 30000;
    this.factor = options.factor ?? 2;
    this.random = options.random ?? Math.random;
    this.attempt = 0;
  }

  /**
   * The delay before the next attempt: uniformly random in [ceiling/2, ceiling], where the
   * ceiling grows by `factor` per attempt up to `maxMs`. Half the ceiling stays fixed so that a
   * crowd of clients spreads out without any of them hammering the server at once.
   * @returns {number}
   */
  next() {
    const ceiling = Math.min(this.maxMs, this.baseMs * this.factor ** this.attempt);
    this.attempt += 1;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** After a connection that worked: start small again. */
  reset() {
    this.attempt = 0;
  }
}

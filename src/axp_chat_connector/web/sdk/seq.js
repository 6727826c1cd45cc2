// Durable events carry a seq (1, 2, 3… per session). The tracker delivers each seq once, in
// order, and says when events are missing. Pure.

/** @typedef {{type: string, seq?: number, [key: string]: unknown}} Frame */

export class SeqTracker {
  /** @param {number} [last] the last seq already delivered */
  constructor(last = 0) {
    this.last = last;
  }

  /**
   * Whether `event` should reach the application: ephemeral events (no seq) always do; a
   * durable event only if its seq is the next one. An older seq is a duplicate; a newer one
   * means events were skipped (`gap`).
   * @param {Frame} event
   * @returns {'deliver' | 'duplicate' | 'gap'}
   */
  check(event) {
    if (typeof event.seq !== 'number') return 'deliver';
    if (event.seq <= this.last) return 'duplicate';
    if (event.seq !== this.last + 1) return 'gap';
    this.last = event.seq;
    return 'deliver';
  }

  /**
   * Accept a seq told by the connector (a `gap` answer) as the new starting point.
   * @param {number} seq
   */
  skipTo(seq) {
    this.last = Math.max(this.last, seq);
  }
}

// A minimal event emitter: on(type, fn) returns a function that removes the listener; the
// type '*' receives every event.

/** @typedef {(event: any) => void} Listener */

export class Emitter {
  constructor() {
    /** @type {Map<string, Set<Listener>>} */
    this.listeners = new Map();
  }

  /**
   * @param {string} type
   * @param {Listener} fn
   * @returns {() => void} unsubscribe
   */
  on(type, fn) {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(fn);
    return () => this.off(type, fn);
  }

  /**
   * @param {string} type
   * @param {Listener} fn
   */
  off(type, fn) {
    this.listeners.get(type)?.delete(fn);
  }

  /**
   * Call the listeners of `type`, then those of '*'. A listener that throws does not stop the
   * others; its error is reported on the console.
   * @param {string} type
   * @param {any} event
   */
  emit(type, event) {
    for (const key of [type, '*']) {
      for (const fn of [...(this.listeners.get(key) ?? [])]) {
        try {
          fn(event);
        } catch (err) {
          console.error('axp-chat: listener for', type, 'failed', err);
        }
      }
    }
  }
}

// Tabs of one site share one connection: the tab holding a Web Lock is the leader and owns the
// connection; the others talk to it over a BroadcastChannel (tab_relay.js on the leader's side,
// transport_tab.js on a follower's). When the leader tab closes the browser releases its lock
// and the next waiting tab takes over.

/** @typedef {{kind: string, from?: string, to?: string, [key: string]: unknown}} TabMessage */

/**
 * @typedef {object} TabLink
 * @property {string} tabId
 * @property {(onLeader: () => void, onFollower: () => void) => void} elect
 *   calls onFollower at once if another tab leads, and onLeader when this tab leads (maybe later)
 * @property {(message: TabMessage) => void} post
 * @property {(fn: (message: TabMessage) => void) => () => void} onMessage  listen (for this
 *   tab or for all); returns the function that stops listening
 * @property {() => void} close
 */

/**
 * A link between the tabs of this origin for `name`, or null where the browser lacks Web Locks
 * or BroadcastChannel (then each tab keeps its own connection, which the connector allows).
 * @param {string} name
 * @param {{locks?: LockManager | null, BroadcastChannel?: typeof BroadcastChannel | null}} [deps]
 * @returns {TabLink | null}
 */
export function createTabLink(name, deps = {}) {
  const locks = deps.locks === undefined ? globalThis.navigator?.locks ?? null : deps.locks;
  const Channel =
    deps.BroadcastChannel === undefined ? globalThis.BroadcastChannel ?? null : deps.BroadcastChannel;
  if (!locks || !Channel) return null;
  const channel = new Channel(name);
  const tabId = `t${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`;
  /** @type {() => void} */
  let release = () => {};
  let closed = false;
  /** @type {Set<(message: TabMessage) => void>} */
  const listeners = new Set();
  channel.onmessage = (event) => {
    const data = event.data;
    if (data && typeof data === 'object' && typeof data.kind === 'string') {
      if (data.to === undefined || data.to === tabId) for (const fn of [...listeners]) fn(data);
    }
  };
  return {
    tabId,
    elect(onLeader, onFollower) {
      const hold = () => {
        if (closed) return Promise.resolve();
        onLeader();
        return new Promise((resolve) => {
          release = () => resolve(undefined);
        });
      };
      void locks.request(name, { ifAvailable: true }, (lock) => {
        if (lock) return hold();
        onFollower();
        // Wait in line; the browser grants the lock when the leader tab goes away.
        void locks.request(name, hold);
        return undefined;
      });
    },
    post(message) {
      if (!closed) channel.postMessage({ ...message, from: tabId });
    },
    onMessage(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    close() {
      closed = true;
      release();
      channel.close();
    },
  };
}

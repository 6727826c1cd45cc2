// A following tab's link to the leading tab, as a transport: commands go to the leader over the
// BroadcastChannel, and the leader's connection's events and answers come back (tab_relay.js
// is the other end). The client drives it like any other transport: it binds it with `resume`
// (answered by the leader with the session it has, then the events so far), resends unanswered
// commands after a new leader took over, and dedupes by seq.

/** @typedef {import('./tabs.js').TabLink} TabLink */
/** @typedef {import('./tabs.js').TabMessage} TabMessage */
/** @typedef {import('./transport.js').TransportFactory} TransportFactory */
/** @typedef {import('./fallback.js').Route} Route */

/** Close code of a tab link whose leader went away: the client reconnects to the next one. */
export const LEADER_CHANGED = 4000;

/**
 * @param {TabLink} link
 * @returns {TransportFactory}
 */
export function tabTransport(link) {
  return (handlers, context) => {
    let active = false;
    /** @type {() => void} */
    let stop = () => {};

    /** @param {TabMessage} message */
    const receive = (message) => {
      if (!active) return;
      if (message.kind === 'frame' && message.frame && typeof message.frame === 'object') {
        handlers.onFrame(/** @type {import('./transport.js').Frame} */ (message.frame));
      } else if (message.kind === 'status' && typeof message.state === 'string') {
        handlers.onStatus?.({ state: message.state, transport: typeof message.transport === 'string' ? message.transport : null });
      } else if (message.kind === 'leader') {
        active = false;
        stop();
        handlers.onClose({ code: LEADER_CHANGED, reason: 'another tab leads now' });
      }
    };

    return {
      name: 'tab',
      open() {
        active = true;
        stop = link.onMessage(receive);
        queueMicrotask(() => active && handlers.onOpen());
      },
      send(frame) {
        if (!active) return;
        // The leader may not know the session yet (this tab reloaded while it led): tell it.
        const sent = frame.type === 'resume' ? { ...frame, session: context.getSession() } : frame;
        link.post({ kind: 'command', frame: sent });
      },
      close() {
        active = false;
        stop();
      },
    };
  };
}

/**
 * A following tab's route: always the leading tab, kept open without a session (to learn one
 * made in another tab), never pinged (the leader watches the network link and reports it).
 * @param {TabLink} link
 * @returns {Route}
 */
export function tabRoute(link) {
  const factory = tabTransport(link);
  return {
    choose: () => 'tab',
    factory: () => factory,
    failed: () => {},
    bound: () => {},
    probeDelayMs: () => null,
    shouldProbe: () => false,
    probe: () => {},
    alwaysOpen: true,
    watch: false,
  };
}

// WebSocket transport: one JSON object per text frame, to `{connector}/v1/ws`.

/** @typedef {import('./transport.js').TransportFactory} TransportFactory */

/**
 * @param {object} options
 * @param {string} options.url               ws:// or wss:// URL of /v1/ws
 * @param {number} [options.connectTimeoutMs] give up opening after this long (default 8000)
 * @param {typeof WebSocket} [options.WebSocket]
 * @returns {TransportFactory}
 */
export function websocketTransport(options) {
  const Socket = options.WebSocket ?? globalThis.WebSocket;
  const connectTimeoutMs = options.connectTimeoutMs ?? 8000;
  return (handlers) => {
    /** @type {WebSocket | null} */
    let socket = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    let done = false;

    /** @param {number} code @param {string} reason */
    const finish = (code, reason) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (socket) {
        socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
        if (socket.readyState <= 1) socket.close(1000);
      }
      handlers.onClose({ code, reason });
    };

    return {
      name: 'websocket',
      open() {
        try {
          socket = new Socket(options.url);
        } catch (err) {
          queueMicrotask(() => finish(1006, String(err)));
          return;
        }
        timer = setTimeout(() => finish(1006, 'connect timeout'), connectTimeoutMs);
        socket.onopen = () => {
          clearTimeout(timer);
          handlers.onOpen();
        };
        socket.onmessage = (message) => {
          if (typeof message.data !== 'string') return;
          let frame;
          try {
            frame = JSON.parse(message.data);
          } catch {
            return;
          }
          if (frame && typeof frame === 'object' && typeof frame.type === 'string') {
            handlers.onFrame(frame);
          }
        };
        socket.onclose = (event) => finish(event.code || 1006, event.reason || '');
        socket.onerror = () => finish(1006, 'error');
      },
      send(frame) {
        if (socket && socket.readyState === 1) socket.send(JSON.stringify(frame));
      },
      close() {
        done = true;
        clearTimeout(timer);
        if (socket) {
          socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
          if (socket.readyState <= 1) socket.close(1000);
        }
      },
    };
  };
}

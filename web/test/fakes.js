// Test doubles for the SDK: fake transports that record frames, a fake Web Locks manager.

/** A queue whose `next()` waits for the next pushed item. */
export class Queue {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next() {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Transports that do nothing by themselves: the test plays the connector. */
export class FakeNetwork {
  constructor() {
    this.opened = new Queue();
    this.all = [];
  }

  factory(name) {
    return (handlers, context) => {
      const transport = {
        name,
        handlers,
        context,
        sent: new Queue(),
        frames: [],
        closed: false,
        open: () => {
          this.all.push(transport);
          this.opened.push(transport);
        },
        send: (frame) => {
          transport.frames.push(frame);
          transport.sent.push(frame);
        },
        close: () => {
          transport.closed = true;
        },
      };
      return transport;
    };
  }

  transports(names = ['websocket', 'longpoll']) {
    return Object.fromEntries(names.map((name) => [name, this.factory(name)]));
  }
}

/** A LockManager with the two calls the SDK makes: request(name, [options], callback). */
export class FakeLocks {
  constructor() {
    this.held = new Map();
    this.queues = new Map();
  }

  request(name, optionsOrCallback, maybeCallback) {
    const callback = maybeCallback ?? optionsOrCallback;
    const options = maybeCallback ? optionsOrCallback : {};
    if (!this.held.get(name)) return this.#grant(name, callback);
    if (options.ifAvailable) return Promise.resolve(callback(null));
    return new Promise((resolve) => {
      const queue = this.queues.get(name) ?? [];
      queue.push(() => resolve(this.#grant(name, callback)));
      this.queues.set(name, queue);
    });
  }

  #grant(name, callback) {
    this.held.set(name, true);
    return Promise.resolve(callback({ name })).finally(() => {
      this.held.set(name, false);
      this.queues.get(name)?.shift()?.();
    });
  }
}

export function loginAnswer(re, extra = {}) {
  return {
    type: 'ok',
    re,
    sessionId: 'S1',
    token: 'token-1',
    expiresAt: '2099-01-01T00:00:00Z',
    seq: 0,
    heartbeat: 25,
    ...extra,
  };
}

export const guest = { customer: { displayName: 'Ana', identifiers: { emailAddresses: ['ana@example.com'] } } };

/** Resolve when `emitter.on(type)` fires with an event matching `predicate`. */
export function once(client, type, predicate = () => true) {
  return new Promise((resolve) => {
    const off = client.on(type, (event) => {
      if (predicate(event)) {
        off();
        resolve(event);
      }
    });
  });
}

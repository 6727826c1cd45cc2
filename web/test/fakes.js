// Test doubles for the SDK: fake transports that record frames, a fake fetch, a fake Web Locks
// manager; and the steps most tests begin with.

import assert from 'node:assert/strict';

import { ChatClient } from '../../src/axp_chat_connector/web/sdk/client.js';
import { memorySessionStore } from '../../src/axp_chat_connector/web/sdk/storage.js';

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

/** A fetch that hands each request to the test, which answers it (resolve/reject). */
export function fakeFetch() {
  const requests = new Queue();
  const fetch = (url, init = {}) =>
    new Promise((resolve, reject) => {
      init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      requests.push({ url: String(url), init, resolve, reject });
    });
  return { fetch, requests };
}

/** A client on the fake network, alone (no tabs), with tiny backoff; `names`: its transports. */
export function makeClient(network, options = {}) {
  return new ChatClient({
    connector: 'http://connector.test',
    transports: network.transports(options.names),
    storage: memorySessionStore(),
    tabs: null,
    pageEvents: false,
    backoff: { baseMs: 1, maxMs: 4 },
    ...options,
  });
}

/** Log in through the next transport; returns it, bound. */
export async function loggedIn(network, client) {
  const login = client.login(guest);
  const transport = await network.opened.next();
  transport.handlers.onOpen();
  const frame = await transport.sent.next();
  assert.equal(frame.type, 'login');
  assert.equal(frame.id, login.id);
  transport.handlers.onFrame(loginAnswer(frame.id));
  await login;
  return transport;
}

/** Accept the next connection's resume; returns [transport, resume frame]. */
export async function resumed(network, extra = {}) {
  const transport = await network.opened.next();
  transport.handlers.onOpen();
  const resume = await transport.sent.next();
  assert.equal(resume.type, 'resume');
  transport.handlers.onFrame({ type: 'ok', re: resume.id, sessionId: 'S1', seq: 0, token: 'token-1', ...extra });
  return [transport, resume];
}

// AXP Chat Connector browser SDK: `import { ChatClient } from '…/sdk/index.js'`.

export { ChatClient } from './client.js';
export { Backoff } from './backoff.js';
export { CLOSE, ERROR, ChatError, closeAction } from './codes.js';
export { TRANSPORT_ORDER, TransportChooser } from './fallback.js';
export { Liveness } from './liveness.js';
export { SeqTracker } from './seq.js';
export { browserSessionStore, memorySessionStore } from './storage.js';
export { createTabLink } from './tabs.js';
export { longpollTransport } from './transport_longpoll.js';
export { sseTransport } from './transport_sse.js';
export { websocketTransport } from './transport_websocket.js';

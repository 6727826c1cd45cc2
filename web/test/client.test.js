import assert from 'node:assert/strict';
import { test } from 'node:test';

import { memorySessionStore } from '../../src/axp_chat_connector/web/sdk/storage.js';
import { FakeNetwork, guest, loggedIn, loginAnswer, makeClient, once, resumed } from './fakes.js';

test('opens no connection before there is a session or a login to send', () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  assert.equal(network.all.length, 0);
  assert.equal(client.state, 'idle');
  client.close();
});

test('a command before login is refused without a connection', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  await assert.rejects(client.send('hi'), { code: 'invalid_state' });
  assert.equal(network.all.length, 0);
  client.close();
});

test('a send unanswered when the connection drops is sent again with the same id', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const first = await loggedIn(network, client);
  const sending = client.send('Hello');
  const sent = await first.sent.next();
  assert.deepEqual({ type: sent.type, text: sent.text }, { type: 'send', text: 'Hello' });

  first.handlers.onClose({ code: 1006, reason: '' });
  const [second, resume] = await resumed(network);
  assert.equal(resume.token, 'token-1');
  assert.equal(resume.after, 0);
  const again = await second.sent.next();
  assert.equal(again.id, sent.id);
  assert.equal(again.text, 'Hello');
  second.handlers.onFrame({ type: 'ok', re: sent.id, status: 'accepted' });
  assert.equal((await sending).status, 'accepted');
  client.close();
});

test('an answered command is not sent again after a reconnect', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const first = await loggedIn(network, client);
  const starting = client.start();
  const start = await first.sent.next();
  first.handlers.onFrame({ type: 'ok', re: start.id, engagementId: 'E', dialogId: 'D' });
  await starting;
  first.handlers.onClose({ code: 1001, reason: '' });
  const [second] = await resumed(network);
  const ping = client.history();
  const next = await second.sent.next();
  assert.equal(next.id, ping.id, 'only the new command follows the resume');
  client.close();
});

test('events are delivered once by seq, also when a resume replays them', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const seen = [];
  client.on('message', (event) => seen.push(event.seq));
  const first = await loggedIn(network, client);
  first.handlers.onFrame({ type: 'message', seq: 1, text: 'a' });
  first.handlers.onFrame({ type: 'message', seq: 2, text: 'b' });
  first.handlers.onFrame({ type: 'message', seq: 2, text: 'b' });
  first.handlers.onClose({ code: 1006, reason: '' });
  const [second, resume] = await resumed(network);
  assert.equal(resume.after, 2);
  second.handlers.onFrame({ type: 'message', seq: 2, text: 'b' });
  second.handlers.onFrame({ type: 'message', seq: 3, text: 'c' });
  assert.deepEqual(seen, [1, 2, 3]);
  client.close();
});

test('a seq skipped on the live stream makes the client resume after the last one it has', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const seen = [];
  client.on('message', (event) => seen.push(event.seq));
  const first = await loggedIn(network, client);
  first.handlers.onFrame({ type: 'message', seq: 1 });
  first.handlers.onFrame({ type: 'message', seq: 3 });
  assert.equal(first.closed, true);
  const [second, resume] = await resumed(network);
  assert.equal(resume.after, 1);
  second.handlers.onFrame({ type: 'message', seq: 2 });
  second.handlers.onFrame({ type: 'message', seq: 3 });
  assert.deepEqual(seen, [1, 2, 3]);
  client.close();
});

test('a gap on resume skips to the oldest kept event and loads the history', async () => {
  const network = new FakeNetwork();
  const storage = memorySessionStore();
  storage.save({ sessionId: 'S1', token: 'token-1', seq: 3 });
  const client = makeClient(network, { storage, replay: false });
  const first = await network.opened.next();
  first.handlers.onOpen();
  const resume = await first.sent.next();
  assert.equal(resume.after, 3);
  const gap = once(client, 'gap');
  first.handlers.onFrame({ type: 'error', re: resume.id, code: 'gap', message: 'gone', retryable: false, seq: 40 });
  assert.equal((await gap).seq, 40);
  const second = await network.opened.next();
  second.handlers.onOpen();
  const again = await second.sent.next();
  assert.equal(again.type, 'resume');
  assert.equal(again.after, 39);
  second.handlers.onFrame({ type: 'ok', re: again.id, sessionId: 'S1', seq: 41, token: 'token-1' });
  const history = await second.sent.next();
  assert.equal(history.type, 'history');
  const loaded = once(client, 'history');
  second.handlers.onFrame({ type: 'ok', re: history.id, messages: [{ type: 'message', text: 'old' }] });
  assert.equal((await loaded).messages[0].text, 'old');
  client.close();
});

test('a stored session is resumed from seq 0 by default, so a fresh page can redraw the chat', async () => {
  const network = new FakeNetwork();
  const storage = memorySessionStore();
  storage.save({ sessionId: 'S1', token: 'token-1', seq: 7 });
  const client = makeClient(network, { storage });
  assert.equal(client.hasSession, true);
  const [, resume] = await resumed(network, { token: 'token-2', expiresAt: '2099-01-02T00:00:00Z' });
  assert.equal(resume.after, 0);
  assert.equal(storage.load().token, 'token-2');
  client.close();
});

test('session.token renews the token silently; the next resume uses it', async () => {
  const network = new FakeNetwork();
  const storage = memorySessionStore();
  const client = makeClient(network, { storage });
  const first = await loggedIn(network, client);
  first.handlers.onFrame({ type: 'session.token', seq: 1, token: 'token-9', expiresAt: '2099-02-01T00:00:00Z' });
  assert.equal(storage.load().token, 'token-9');
  first.handlers.onClose({ code: 1006, reason: '' });
  const [, resume] = await resumed(network);
  assert.equal(resume.token, 'token-9');
  client.close();
});

test('close code 4409 forgets the session, fails waiting commands and does not reconnect', async () => {
  const network = new FakeNetwork();
  const storage = memorySessionStore();
  const client = makeClient(network, { storage });
  const first = await loggedIn(network, client);
  const sending = client.send('anyone?');
  await first.sent.next();
  const ended = once(client, 'session.ended');
  first.handlers.onClose({ code: 4409, reason: 'session ended' });
  assert.equal((await ended).reason, 'UNKNOWN');
  await assert.rejects(sending, { code: 'not_found' });
  assert.equal(storage.load(), null);
  assert.equal(client.state, 'idle');
  assert.equal(network.all.length, 1);
  client.close();
});

test('close code 4413 fails the command that was too large and reconnects', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const first = await loggedIn(network, client);
  const big = client.send('x'.repeat(4000));
  await first.sent.next();
  first.handlers.onClose({ code: 4413, reason: '' });
  await assert.rejects(big, { code: 'too_large' });
  await resumed(network);
  client.close();
});

test('session.ended from the connector forgets the session', async () => {
  const network = new FakeNetwork();
  const storage = memorySessionStore();
  const client = makeClient(network, { storage });
  const first = await loggedIn(network, client);
  const ended = once(client, 'session.ended');
  first.handlers.onFrame({ type: 'session.ended', seq: 1, reason: 'USER_INACTIVE' });
  assert.equal((await ended).reason, 'USER_INACTIVE');
  assert.equal(client.hasSession, false);
  assert.equal(storage.load(), null);
  client.close();
});

test('falls back to long polling when the WebSocket never opens, and tries it again later', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { fallback: { retryWebSocketAfterMs: 5 } });
  const login = client.login(guest);
  const ws = await network.opened.next();
  assert.equal(ws.name, 'websocket');
  ws.handlers.onClose({ code: 1006, reason: 'blocked' });
  const poll = await network.opened.next();
  assert.equal(poll.name, 'longpoll');
  poll.handlers.onOpen();
  const frame = await poll.sent.next();
  assert.equal(frame.id, login.id, 'the same login, sent again');
  poll.handlers.onFrame(loginAnswer(frame.id));
  await login;
  assert.equal(poll.context.getToken(), 'token-1');
  const retry = await network.opened.next();
  assert.equal(retry.name, 'websocket');
  assert.equal(poll.closed, true);
  retry.handlers.onOpen();
  const resume = await retry.sent.next();
  assert.equal(resume.type, 'resume');
  client.close();
});

test('a command error rejects with the connector code and detail', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const first = await loggedIn(network, client);
  const sending = client.send('too early');
  const frame = await first.sent.next();
  first.handlers.onFrame({ type: 'error', re: frame.id, code: 'invalid_state', message: 'no chat', retryable: false });
  await assert.rejects(sending, (err) => err.code === 'invalid_state' && err.retryable === false);
  client.close();
});

test('status events tell when the link is online and when it is reconnecting', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const states = [];
  client.on('status', (event) => states.push(event.state));
  const first = await loggedIn(network, client);
  first.handlers.onClose({ code: 1006, reason: '' });
  await resumed(network);
  assert.deepEqual(states, ['connecting', 'online', 'offline', 'online']);
  client.close();
});

test('a gap reported by the long-polling transport resumes from the oldest kept event', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const first = await loggedIn(network, client);
  const gap = once(client, 'gap');
  first.handlers.onFrame({ type: 'error', code: 'gap', seq: 40, message: 'gap' });
  assert.equal((await gap).seq, 40);
  const [, resume] = await resumed(network);
  assert.equal(resume.after, 39);
  client.close();
});

test('wake() reconnects at once instead of waiting out a long backoff', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { backoff: { baseMs: 60000, maxMs: 60000 } });
  const login = client.login(guest);
  const first = await network.opened.next();
  first.handlers.onOpen();
  first.handlers.onFrame(loginAnswer((await first.sent.next()).id));
  await login;
  first.handlers.onClose({ code: 1006, reason: '' }); // the next try would be in 30-60 s
  client.wake(); // as on `online`, `pageshow` or the tab becoming visible
  const [, resume] = await resumed(network);
  assert.equal(resume.type, 'resume');
  client.close();
});

test('wake() on a link that died silently: an unanswered ping makes the client reconnect', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { pingTimeoutMs: 5 });
  const first = await loggedIn(network, client);
  client.wake();
  const ping = await first.sent.next();
  assert.equal(ping.type, 'ping');
  const [second, resume] = await resumed(network); // no answer came: a new connection
  assert.equal(first.closed, true);
  assert.equal(resume.type, 'resume');
  const again = await second.sent.next();
  assert.equal(again.id, ping.id, 'the ping is sent again, and answered this time');
  second.handlers.onFrame({ type: 'ok', re: ping.id });
  client.close();
});

test('verified mode: login sends the idToken as it is', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  const login = client.login({ idToken: 'header.claims.signature' });
  const transport = await network.opened.next();
  transport.handlers.onOpen();
  const frame = await transport.sent.next();
  assert.equal(frame.idToken, 'header.claims.signature');
  assert.equal(frame.customer, undefined);
  transport.handlers.onFrame(loginAnswer(frame.id));
  await login;
  client.close();
});

test('a second login while a session exists is refused locally', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network);
  await loggedIn(network, client);
  await assert.rejects(client.login(guest), { code: 'invalid_state' });
  client.close();
});

test('logout forgets the session and says session.ended once, whichever comes first', async () => {
  for (const eventFirst of [false, true]) {
    const network = new FakeNetwork();
    const storage = memorySessionStore();
    const client = makeClient(network, { storage });
    const ended = [];
    client.on('session.ended', (event) => ended.push(event.reason));
    const wire = await loggedIn(network, client);
    const logout = client.logout();
    const frame = await wire.sent.next();
    const event = { type: 'session.ended', seq: 1, reason: 'USER_CLOSED' };
    if (eventFirst) wire.handlers.onFrame(event);
    wire.handlers.onFrame({ type: 'ok', re: frame.id });
    if (!eventFirst) wire.handlers.onFrame(event);
    await logout;
    assert.deepEqual(ended, ['USER_CLOSED']);
    assert.equal(storage.load(), null);
    client.close();
  }
});

// The connection under the client: dead links told from quiet ones, and the transport fallback.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FakeNetwork, guest, loggedIn, loginAnswer, makeClient, once, resumed } from './fakes.js';

test('a quiet link is pinged; one that stays mute shows offline at once and is reconnected', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { quietMs: 20, pingTimeoutMs: 20 });
  const first = await loggedIn(network, client);
  const offline = once(client, 'status', (e) => e.state === 'offline');
  const ping = await first.sent.next(); // nothing came for quietMs
  assert.equal(ping.type, 'ping');
  await offline; // and nothing for pingTimeoutMs after it
  assert.equal(first.closed, true);
  const [second] = await resumed(network);
  assert.equal(client.state, 'online');
  assert.equal((await second.sent.next()).id, ping.id, 'the ping goes again on the new link');
  client.close();
});

test('a quiet link that answers the ping stays online on the same transport', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { quietMs: 20, pingTimeoutMs: 200 });
  const states = [];
  client.on('status', (e) => states.push(e.state));
  const first = await loggedIn(network, client);
  for (let i = 0; i < 2; i++) {
    const ping = await first.sent.next();
    assert.equal(ping.type, 'ping');
    first.handlers.onFrame({ type: 'ok', re: ping.id });
  }
  assert.equal(first.closed, false);
  assert.equal(network.all.length, 1);
  assert.deepEqual(states, ['connecting', 'online']);
  client.close();
});

test('a command sent into a dead link: the link is pinged soon, not after quietMs, and declared dead', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { quietMs: 60000, pingTimeoutMs: 20 });
  const first = await loggedIn(network, client);
  const sending = client.send('anyone?');
  const send = await first.sent.next();
  const ping = await first.sent.next();
  assert.equal(ping.type, 'ping', 'no answer within pingTimeoutMs of the send');
  await once(client, 'status', (e) => e.state === 'offline');
  const [second] = await resumed(network);
  const again = await second.sent.next();
  assert.equal(again.id, send.id);
  second.handlers.onFrame({ type: 'ok', re: send.id, status: 'accepted' });
  await sending;
  client.close();
});

test('a link that opens and never answers the resume is given up and opened again', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { pingTimeoutMs: 10 });
  await loggedIn(network, client).then((first) => first.handlers.onClose({ code: 1006, reason: '' }));
  const mute = await network.opened.next();
  mute.handlers.onOpen();
  assert.equal((await mute.sent.next()).type, 'resume'); // and nothing comes back
  const [second] = await resumed(network);
  assert.equal(mute.closed, true);
  assert.equal(client.state, 'online');
  assert.notEqual(second, mute);
  client.close();
});

test('the browser going offline shows offline at once; a ping answered brings online back', async () => {
  const network = new FakeNetwork();
  const page = new EventTarget();
  const client = makeClient(network, { pageEvents: page, quietMs: 60000, pingTimeoutMs: 60000 });
  const first = await loggedIn(network, client);
  const offline = once(client, 'status', (e) => e.state === 'offline');
  page.dispatchEvent(new Event('offline'));
  await offline;
  const ping = await first.sent.next();
  assert.equal(ping.type, 'ping');
  const online = once(client, 'status', (e) => e.state === 'online');
  first.handlers.onFrame({ type: 'ok', re: ping.id });
  await online;
  assert.equal(first.closed, false, 'the link was fine after all');
  client.close();
});

test('the browser coming back online reconnects at once instead of waiting out the backoff', async () => {
  const network = new FakeNetwork();
  const page = new EventTarget();
  const client = makeClient(network, { pageEvents: page, backoff: { baseMs: 60000, maxMs: 60000 } });
  const first = await loggedIn(network, client);
  first.handlers.onClose({ code: 1006, reason: '' });
  page.dispatchEvent(new Event('online'));
  await resumed(network);
  client.close();
});

test('falls back from WebSocket to SSE to long polling, each never bound, without waiting', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { names: ['websocket', 'sse', 'longpoll'], backoff: { baseMs: 60000, maxMs: 60000 } });
  const login = client.login(guest);
  const tried = [];
  for (const code of [1006, 1006]) {
    const transport = await network.opened.next();
    tried.push(transport.name);
    transport.handlers.onClose({ code, reason: 'blocked' });
  }
  const poll = await network.opened.next();
  tried.push(poll.name);
  assert.deepEqual(tried, ['websocket', 'sse', 'longpoll']);
  poll.handlers.onOpen();
  const frame = await poll.sent.next();
  assert.equal(frame.id, login.id);
  poll.handlers.onFrame(loginAnswer(frame.id));
  await login;
  client.close();
});

test('an SSE transport bound but unusable (a buffering proxy) is left for long polling', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { names: ['sse', 'longpoll'], backoff: { baseMs: 60000, maxMs: 60000 } });
  const sse = await loggedIn(network, client);
  assert.equal(sse.name, 'sse');
  sse.handlers.onClose({ code: 1006, reason: 'sse: no data', unusable: true });
  const [poll] = await resumed(network);
  assert.equal(poll.name, 'longpoll');
  client.close();
});

test('an SSE transport that drops after it was bound is reopened, not left', async () => {
  const network = new FakeNetwork();
  const client = makeClient(network, { names: ['sse', 'longpoll'] });
  const sse = await loggedIn(network, client);
  sse.handlers.onClose({ code: 1006, reason: 'network' });
  assert.equal((await resumed(network))[0].name, 'sse');
  client.close();
});

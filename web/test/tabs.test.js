import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ChatClient } from '../../src/axp_chat_connector/web/sdk/client.js';
import { memorySessionStore } from '../../src/axp_chat_connector/web/sdk/storage.js';
import { createTabLink } from '../../src/axp_chat_connector/web/sdk/tabs.js';
import { FakeLocks, FakeNetwork, guest, loginAnswer, once } from './fakes.js';

let counter = 0;

function makeTab(name, locks, network) {
  const client = new ChatClient({
    connector: 'http://connector.test',
    transports: network.transports(),
    storage: memorySessionStore(),
    tabs: createTabLink(name, { locks, BroadcastChannel }),
    pageEvents: false,
    backoff: { baseMs: 1, maxMs: 4 },
  });
  return client;
}

/** A tab that leads and logs in; returns it and its connection. */
async function leaderLoggedIn(name, locks, network) {
  const tab = makeTab(name, locks, network);
  await role(tab, 'leader');
  const login = tab.login(guest);
  const wire = await network.opened.next();
  wire.handlers.onOpen();
  wire.handlers.onFrame(loginAnswer((await wire.sent.next()).id));
  await login;
  return [tab, wire];
}

function role(client, wanted) {
  return client.role === wanted ? Promise.resolve() : once(client, 'role', (e) => e.role === wanted);
}

test('two tabs share one connection; the second takes over when the first closes', async () => {
  const name = `tabs-${++counter}`;
  const locks = new FakeLocks();
  const netA = new FakeNetwork();
  const netB = new FakeNetwork();
  const a = makeTab(name, locks, netA);
  await role(a, 'leader');
  const b = makeTab(name, locks, netB);
  await role(b, 'follower');

  // The follower logs in: the leader's connection carries it.
  const login = b.login(guest);
  const wire = await netA.opened.next();
  wire.handlers.onOpen();
  const frame = await wire.sent.next();
  assert.equal(frame.type, 'login');
  assert.equal(frame.id, login.id);
  const sessionOnA = once(a, 'session');
  wire.handlers.onFrame(loginAnswer(frame.id));
  await login;
  await sessionOnA;
  assert.equal(b.session.token, 'token-1');
  assert.equal(a.session.token, 'token-1');

  // Events reach both tabs once.
  const onB = once(b, 'message');
  wire.handlers.onFrame({ type: 'message', seq: 1, text: 'hello from the agent' });
  assert.equal((await onB).text, 'hello from the agent');

  // A command of the follower goes out on the leader's connection.
  const sending = b.send('hi');
  const send = await wire.sent.next();
  assert.equal(send.id, sending.id);
  wire.handlers.onFrame({ type: 'ok', re: send.id, status: 'accepted' });
  assert.equal((await sending).status, 'accepted');
  assert.equal(netB.all.length, 0, 'the follower opened no connection');

  // The leader tab goes away; the follower leads and resumes after what it has.
  const unanswered = b.send('still there?');
  await wire.sent.next();
  a.close();
  await role(b, 'leader');
  const own = await netB.opened.next();
  own.handlers.onOpen();
  const resume = await own.sent.next();
  assert.equal(resume.type, 'resume');
  assert.equal(resume.token, 'token-1');
  assert.equal(resume.after, 1);
  own.handlers.onFrame({ type: 'ok', re: resume.id, sessionId: 'S1', seq: 1, token: 'token-1' });
  const retried = await own.sent.next();
  assert.equal(retried.id, unanswered.id);
  own.handlers.onFrame({ type: 'ok', re: retried.id, status: 'accepted' });
  await unanswered;
  b.close();
});

test('a tab opened later joins the session and gets the events so far from the leader', async () => {
  const name = `tabs-${++counter}`;
  const locks = new FakeLocks();
  const netA = new FakeNetwork();
  const [a, wire] = await leaderLoggedIn(name, locks, netA);
  wire.handlers.onFrame({ type: 'chat.started', seq: 1, engagementId: 'E', dialogId: 'D' });
  wire.handlers.onFrame({ type: 'message', seq: 2, text: 'welcome' });

  const seen = [];
  const b = new ChatClient({
    connector: 'http://connector.test',
    transports: new FakeNetwork().transports(),
    storage: memorySessionStore(),
    tabs: createTabLink(name, { locks, BroadcastChannel }),
    pageEvents: false,
  });
  b.on('*', (event) => {
    if (typeof event.seq === 'number') seen.push(event.seq);
  });
  await once(b, 'message');
  assert.deepEqual(seen, [1, 2]);
  assert.equal(b.session.sessionId, 'S1');
  a.close();
  b.close();
});

test('a tab that logs in before it learns the shared session is refused and joins it', async () => {
  const name = `tabs-${++counter}`;
  const locks = new FakeLocks();
  const netA = new FakeNetwork();
  const [a, wire] = await leaderLoggedIn(name, locks, netA);

  const b = makeTab(name, locks, new FakeNetwork());
  await assert.rejects(b.login(guest), { code: 'invalid_state' });
  if (!b.hasSession) await once(b, 'session');
  assert.equal(b.session.sessionId, 'S1');
  assert.equal(wire.frames.filter((f) => f.type === 'login').length, 1);
  a.close();
  b.close();
});

test("a follower shows the leader's link state: offline when the leader's link drops, online again after", async () => {
  const name = `tabs-${++counter}`;
  const locks = new FakeLocks();
  const netA = new FakeNetwork();
  const [a, wire] = await leaderLoggedIn(name, locks, netA);

  const b = makeTab(name, locks, new FakeNetwork());
  const online = once(b, 'status', (e) => e.state === 'online');
  await role(b, 'follower');
  assert.equal((await online).transport, 'websocket', "the leader's transport, not the tab link");
  const offline = once(b, 'status', (e) => e.state === 'offline');
  wire.handlers.onClose({ code: 1006, reason: '' });
  await offline;
  const back = once(b, 'status', (e) => e.state === 'online');
  const again = await netA.opened.next();
  again.handlers.onOpen();
  const resume = await again.sent.next();
  again.handlers.onFrame({ type: 'ok', re: resume.id, sessionId: 'S1', seq: 0, token: 'token-1' });
  await back;
  a.close();
  b.close();
});

test('when the leader goes, a follower that does not lead links to the new leader and gets what it missed', async () => {
  const name = `tabs-${++counter}`;
  const locks = new FakeLocks();
  const netA = new FakeNetwork();
  const netB = new FakeNetwork();
  const a = makeTab(name, locks, netA);
  await role(a, 'leader');
  const b = makeTab(name, locks, netB);
  await role(b, 'follower');
  const c = makeTab(name, locks, new FakeNetwork());
  await role(c, 'follower');
  const login = c.login(guest);
  const wire = await netA.opened.next();
  wire.handlers.onOpen();
  wire.handlers.onFrame(loginAnswer((await wire.sent.next()).id));
  await login;
  if (!b.hasSession) await once(b, 'session');

  a.close();
  await role(b, 'leader');
  const own = await netB.opened.next();
  own.handlers.onOpen();
  const resume = await own.sent.next();
  own.handlers.onFrame({ type: 'ok', re: resume.id, sessionId: 'S1', seq: 0, token: 'token-1' });
  const seen = once(c, 'message');
  own.handlers.onFrame({ type: 'message', seq: 1, text: 'from the new leader' });
  assert.equal((await seen).text, 'from the new leader');
  const sending = c.send('still here');
  const send = await own.sent.next();
  assert.equal(send.id, sending.id, "the follower's command goes out on the new leader's link");
  own.handlers.onFrame({ type: 'ok', re: send.id, status: 'accepted' });
  await sending;
  b.close();
  c.close();
});

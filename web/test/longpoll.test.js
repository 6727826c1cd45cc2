import assert from 'node:assert/strict';
import { test } from 'node:test';

import { longpollTransport } from '../../src/axp_chat_connector/web/sdk/transport_longpoll.js';
import { Queue, fakeFetch } from './fakes.js';

function json(body, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function harness(token = null, after = 0) {
  const { fetch, requests } = fakeFetch();
  const frames = new Queue();
  const closes = new Queue();
  const context = { token, after };
  const transport = longpollTransport({ baseUrl: 'http://connector.test/', fetch })(
    { onOpen: () => frames.push({ type: 'open' }), onFrame: (f) => frames.push(f), onClose: (i) => closes.push(i) },
    { getToken: () => context.token, getAfter: () => context.after },
  );
  return { transport, requests, frames, closes, context };
}

test('commands go by POST as a batch; events are polled once there is a token', async () => {
  const h = harness();
  h.transport.open();
  assert.equal((await h.frames.next()).type, 'open');
  h.transport.send({ type: 'login', id: 'a', customer: {} });
  const post = await h.requests.next();
  assert.equal(post.url, 'http://connector.test/v1/poll/commands');
  assert.equal(post.init.method, 'POST');
  assert.deepEqual(JSON.parse(post.init.body), [{ type: 'login', id: 'a', customer: {} }]);
  assert.equal(post.init.headers.Authorization, undefined);
  h.context.token = 'tok';
  post.resolve(json([{ type: 'ok', re: 'a', token: 'tok', sessionId: 'S', seq: 0 }]));
  assert.equal((await h.frames.next()).re, 'a');

  const poll = await h.requests.next();
  assert.equal(poll.url, 'http://connector.test/v1/poll/events?after=0&wait=25');
  assert.equal(poll.init.headers.Authorization, 'Bearer tok');
  poll.resolve(json({ events: [{ type: 'message', seq: 1 }, { type: 'typing' }], seq: 1 }));
  assert.equal((await h.frames.next()).seq, 1);
  assert.equal((await h.frames.next()).type, 'typing');
  const next = await h.requests.next();
  assert.match(next.url, /after=1&/);
  h.transport.close();
});

test('an ack answer without re is not passed on', async () => {
  const h = harness('tok', 3);
  h.transport.open();
  await h.frames.next();
  const poll = await h.requests.next();
  assert.match(poll.url, /after=3/);
  h.transport.send({ type: 'ack', seq: 3 });
  h.transport.send({ type: 'ping', id: 'p' });
  const post = await h.requests.next();
  assert.equal(JSON.parse(post.init.body).length, 2);
  post.resolve(json([{ type: 'ok' }, { type: 'ok', re: 'p' }]));
  assert.equal((await h.frames.next()).re, 'p');
  h.transport.close();
});

test('HTTP statuses become the close codes of the WebSocket', async () => {
  for (const [status, code] of [[401, 4401], [404, 4409], [429, 4429], [502, 1006]]) {
    const h = harness('tok');
    h.transport.open();
    await h.frames.next();
    (await h.requests.next()).resolve(json({ title: 'no' }, status));
    assert.equal((await h.closes.next()).code, code);
  }
});

test('a network failure closes with 1006', async () => {
  const h = harness('tok');
  h.transport.open();
  await h.frames.next();
  (await h.requests.next()).reject(new TypeError('Failed to fetch'));
  assert.equal((await h.closes.next()).code, 1006);
});

test('410 from the events poll is a gap, reported like the WebSocket reports it', async () => {
  const h = harness('tok', 5);
  h.transport.open();
  await h.frames.next();
  (await h.requests.next()).resolve(json({ code: 'gap', seq: 40, status: 410 }, 410));
  const frame = await h.frames.next();
  assert.deepEqual({ type: frame.type, code: frame.code, seq: frame.seq }, { type: 'error', code: 'gap', seq: 40 });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SseParser, sseTransport } from '../../src/axp_chat_connector/web/sdk/transport_sse.js';
import { Queue, fakeFetch } from './fakes.js';

test('the SSE parser joins lines cut anywhere, skips comments and ids, and ends events on blank lines', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('retry: 2000\n\nid: 1\nda'), []);
  assert.deepEqual(parser.push('ta: {"seq":1}\n'), []);
  assert.deepEqual(parser.push('\n: ping\n\ndata: {"type":"typing"}\r'), ['{"seq":1}']);
  assert.deepEqual(parser.push('\n\r\n'), ['{"type":"typing"}'], 'a CRLF cut in two is one line end');
  assert.deepEqual(parser.push('data:a\ndata:b\r\rdata\n\n'), ['a\nb', '']);
});

/** A response body the test writes to. */
function streamBody() {
  const encoder = new TextEncoder();
  let controller;
  const body = new ReadableStream({ start: (c) => (controller = c) });
  return {
    body,
    write: (text) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
  };
}

function harness({ token = null, after = 0, firstDataTimeoutMs } = {}) {
  const { fetch, requests } = fakeFetch();
  const frames = new Queue();
  const closes = new Queue();
  const context = { token, after, alive: 0 };
  const transport = sseTransport({ baseUrl: 'http://connector.test/', fetch, firstDataTimeoutMs })(
    {
      onOpen: () => frames.push({ type: 'open' }),
      onFrame: (f) => frames.push(f),
      onClose: (i) => closes.push(i),
      onAlive: () => (context.alive += 1),
    },
    { getToken: () => context.token, getAfter: () => context.after, getSession: () => null },
  );
  return { transport, requests, frames, closes, context };
}

const json = (body, status = 200) => new Response(JSON.stringify(body), { status });

test('SSE: a login goes by POST; the stream opens with the bearer token once the answer gave one', async () => {
  const h = harness();
  h.transport.open();
  assert.equal((await h.frames.next()).type, 'open');
  h.transport.send({ type: 'login', id: 'a', customer: {} });
  const post = await h.requests.next();
  assert.equal(post.url, 'http://connector.test/v1/poll/commands');
  h.context.token = 'tok';
  post.resolve(json([{ type: 'ok', re: 'a', token: 'tok', sessionId: 'S', seq: 0 }]));
  assert.equal((await h.frames.next()).re, 'a');

  const get = await h.requests.next();
  assert.equal(get.url, 'http://connector.test/v1/sse?after=0');
  assert.equal(get.init.headers.Authorization, 'Bearer tok');
  assert.equal(get.init.headers.Accept, 'text/event-stream');
  const stream = streamBody();
  get.resolve(new Response(stream.body, { headers: { 'Content-Type': 'text/event-stream' } }));
  stream.write('retry: 2000\n\nid: 1\ndata: {"type":"message","seq":1}\n\ndata: {"type":"typing"}\n\n');
  assert.equal((await h.frames.next()).seq, 1);
  assert.equal((await h.frames.next()).type, 'typing');
  stream.write(': ping\n\n');
  stream.end(); // a proxy's time limit: the stream goes on after the last seq
  const again = await h.requests.next();
  assert.equal(again.url, 'http://connector.test/v1/sse?after=1');
  assert.ok(h.context.alive >= 2, 'data and comments are signs of life');
  h.transport.close();
});

test('SSE: a gap comes as an error frame on the stream, passed on as it is', async () => {
  const h = harness({ token: 'tok', after: 5 });
  h.transport.open();
  await h.frames.next();
  const get = await h.requests.next();
  assert.match(get.url, /after=5$/);
  const stream = streamBody();
  get.resolve(new Response(stream.body));
  stream.write('data: {"type":"error","code":"gap","seq":40,"message":"gone"}\n\n');
  const frame = await h.frames.next();
  assert.deepEqual({ type: frame.type, code: frame.code, seq: frame.seq }, { type: 'error', code: 'gap', seq: 40 });
  h.transport.close();
});

test('SSE: before any stream was served, a refusal other than 401 or 429 means SSE does not get through', async () => {
  for (const [status, code, unusable] of [[401, 4401, undefined], [404, 1006, true], [429, 4429, undefined], [502, 1006, true]]) {
    const h = harness({ token: 'tok' });
    h.transport.open();
    await h.frames.next();
    (await h.requests.next()).resolve(json({ title: 'no' }, status));
    const info = await h.closes.next();
    assert.deepEqual([info.code, info.unusable], [code, unusable], `HTTP ${status}`);
  }
});

test('SSE: 404 after a stream was served means the session ended', async () => {
  const h = harness({ token: 'tok' });
  h.transport.open();
  await h.frames.next();
  const stream = streamBody();
  (await h.requests.next()).resolve(new Response(stream.body));
  stream.write('data: {"type":"session.ended","seq":1,"reason":"USER_CLOSED"}\n\n');
  assert.equal((await h.frames.next()).type, 'session.ended');
  stream.end();
  (await h.requests.next()).resolve(json({ title: 'gone' }, 404));
  assert.equal((await h.closes.next()).code, 4409);
});

test('SSE: a stream that stays silent is taken for a buffering proxy: unusable here', async () => {
  const h = harness({ token: 'tok', firstDataTimeoutMs: 5 });
  h.transport.open();
  await h.frames.next();
  (await h.requests.next()).resolve(new Response(streamBody().body));
  const info = await h.closes.next();
  assert.equal(info.code, 1006);
  assert.equal(info.unusable, true);
});

test('SSE: a stream that ends empty, or a network failure after a stream was served, closes with 1006', async () => {
  const empty = harness({ token: 'tok' });
  empty.transport.open();
  await empty.frames.next();
  const stream = streamBody();
  (await empty.requests.next()).resolve(new Response(stream.body));
  stream.end();
  assert.equal((await empty.closes.next()).code, 1006);

  const broken = harness({ token: 'tok' });
  broken.transport.open();
  await broken.frames.next();
  const served = streamBody();
  (await broken.requests.next()).resolve(new Response(served.body));
  served.write(': ping\n\n');
  served.end();
  (await broken.requests.next()).reject(new TypeError('Failed to fetch'));
  assert.deepEqual(await broken.closes.next(), { code: 1006, reason: 'sse: TypeError: Failed to fetch' });
});

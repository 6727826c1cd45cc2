import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Backoff } from '../../src/axp_chat_connector/web/sdk/backoff.js';
import { CLOSE, closeAction, closeCodeForStatus } from '../../src/axp_chat_connector/web/sdk/codes.js';
import { CommandQueue } from '../../src/axp_chat_connector/web/sdk/commands.js';
import { TransportChooser } from '../../src/axp_chat_connector/web/sdk/fallback.js';
import { SeqTracker } from '../../src/axp_chat_connector/web/sdk/seq.js';

test('backoff grows by the factor, is jittered within [ceiling/2, ceiling], and is capped', () => {
  const low = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
  const high = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => low.next()), [50, 100, 200, 400, 500]);
  assert.deepEqual([1, 2, 3, 4, 5].map(() => high.next()), [100, 200, 400, 800, 1000]);
});

test('backoff starts small again after reset', () => {
  const backoff = new Backoff({ baseMs: 100, random: () => 0 });
  backoff.next();
  backoff.next();
  backoff.reset();
  assert.equal(backoff.next(), 50);
});

test('seq tracker delivers each seq once and in order', () => {
  const tracker = new SeqTracker();
  assert.equal(tracker.check({ type: 'message', seq: 1 }), 'deliver');
  assert.equal(tracker.check({ type: 'message', seq: 1 }), 'duplicate');
  assert.equal(tracker.check({ type: 'message', seq: 3 }), 'gap');
  assert.equal(tracker.last, 1);
  assert.equal(tracker.check({ type: 'message', seq: 2 }), 'deliver');
  assert.equal(tracker.check({ type: 'typing' }), 'deliver');
  assert.equal(tracker.check({ type: 'typing' }), 'deliver');
  assert.equal(tracker.last, 2);
});

test('seq tracker skips forward to a seq the connector names, never back', () => {
  const tracker = new SeqTracker(10);
  tracker.skipTo(4);
  assert.equal(tracker.last, 10);
  tracker.skipTo(41);
  assert.equal(tracker.check({ type: 'message', seq: 42 }), 'deliver');
});

test('command queue keeps ids until answered and settles each once', async () => {
  let n = 0;
  const queue = new CommandQueue(() => `id-${++n}`);
  const a = queue.create('send', { text: 'a' });
  const b = queue.create('end');
  assert.deepEqual(queue.pending().map((f) => f.id), ['id-1', 'id-2']);
  assert.ok(queue.settle({ type: 'ok', re: 'id-1', status: 'accepted' }));
  assert.equal(queue.settle({ type: 'ok', re: 'id-1' }), undefined);
  queue.settle({ type: 'error', re: 'id-2', code: 'invalid_state', message: 'no chat' });
  assert.equal((await a.promise).status, 'accepted');
  await assert.rejects(b.promise, { name: 'ChatError', code: 'invalid_state' });
  assert.deepEqual(queue.pending(), []);
});

test('close codes: 4401 and 4409 drop the session, 4429 waits, others reconnect', () => {
  assert.deepEqual(closeAction(CLOSE.UNAUTHORIZED), { reconnect: false, dropSession: true, minDelayMs: 0 });
  assert.equal(closeAction(CLOSE.SESSION_ENDED).dropSession, true);
  assert.equal(closeAction(CLOSE.LOGIN_TIMEOUT).reconnect, true);
  assert.equal(closeAction(CLOSE.TOO_LARGE).rejectLast, 'too_large');
  assert.ok(closeAction(CLOSE.RATE_LIMITED).minDelayMs >= 1000);
  assert.deepEqual(closeAction(1006), { reconnect: true, dropSession: false, minDelayMs: 0 });
  assert.equal(closeCodeForStatus(401), CLOSE.UNAUTHORIZED);
  assert.equal(closeCodeForStatus(404), CLOSE.SESSION_ENDED);
  assert.equal(closeCodeForStatus(429), CLOSE.RATE_LIMITED);
  assert.equal(closeCodeForStatus(502), 1006);
});

test('fallback: WebSocket first, long polling after it fails, WebSocket again later', () => {
  let now = 0;
  const chooser = new TransportChooser({ available: ['websocket', 'longpoll'], retryWebSocketAfterMs: 1000, now: () => now });
  assert.equal(chooser.choose(), 'websocket');
  chooser.failed('websocket');
  assert.equal(chooser.choose(), 'longpoll');
  now = 5000;
  assert.equal(chooser.choose(), 'longpoll', 'time alone does not switch back');
  now = 999;
  assert.equal(chooser.shouldProbe('longpoll'), false);
  now = 1000;
  assert.equal(chooser.shouldProbe('longpoll'), true);
  chooser.probe();
  assert.equal(chooser.choose(), 'websocket');
  chooser.failed('websocket'); // the retry failed: long-poll again, wait twice as long
  assert.equal(chooser.choose(), 'longpoll');
  now = 2999;
  assert.equal(chooser.shouldProbe('longpoll'), false);
  now = 3000;
  assert.equal(chooser.shouldProbe('longpoll'), true);
  chooser.probe();
  chooser.bound('websocket');
  assert.equal(chooser.choose(), 'websocket');
  assert.equal(chooser.probeDelayMs(), 1000);
});

test('fallback: failures of a WebSocket fall back only after the threshold', () => {
  const chooser = new TransportChooser({ available: ['websocket', 'longpoll'], failuresBeforeFallback: 2 });
  chooser.failed('websocket');
  assert.equal(chooser.choose(), 'websocket');
  chooser.failed('websocket');
  assert.equal(chooser.choose(), 'longpoll');
  chooser.failed('longpoll');
  assert.equal(chooser.choose(), 'longpoll');
});

test('fallback: a WebSocket failing while the device is offline does not count', () => {
  let offline = true;
  const chooser = new TransportChooser({ available: ['websocket', 'longpoll'], offline: () => offline });
  chooser.failed('websocket');
  assert.equal(chooser.choose(), 'websocket', 'an outage is not a blocked WebSocket');
  offline = false;
  chooser.failed('websocket');
  assert.equal(chooser.choose(), 'longpoll');
});

test('fallback: without WebSocket support, SSE then long polling, and no going back', () => {
  const chooser = new TransportChooser({ websocketAvailable: false, now: () => 1e12 });
  assert.equal(chooser.choose(), 'sse');
  chooser.failed('sse');
  assert.equal(chooser.choose(), 'longpoll');
  assert.equal(chooser.shouldProbe('longpoll'), false);
  chooser.probe();
  assert.equal(chooser.choose(), 'longpoll');
});

test('fallback: WebSocket, then SSE, then long polling; a failed WebSocket retry goes back down', () => {
  let now = 0;
  const chooser = new TransportChooser({ retryWebSocketAfterMs: 1000, now: () => now });
  assert.equal(chooser.choose(), 'websocket');
  chooser.failed('websocket');
  assert.equal(chooser.choose(), 'sse');
  chooser.failed('websocket'); // a late report about a transport no longer in use
  assert.equal(chooser.choose(), 'sse');
  now = 1000;
  assert.equal(chooser.shouldProbe('sse'), true);
  chooser.probe();
  assert.equal(chooser.choose(), 'websocket');
  chooser.failed('websocket');
  assert.equal(chooser.choose(), 'sse', 'back to the transport that worked');
  assert.equal(chooser.probeDelayMs(), 2000);
  chooser.failed('sse');
  assert.equal(chooser.choose(), 'longpoll');
  chooser.failed('longpoll');
  assert.equal(chooser.choose(), 'longpoll', 'the last resort stays');
  now = 4000;
  assert.equal(chooser.shouldProbe('longpoll'), true);
  chooser.probe();
  chooser.bound('websocket');
  assert.equal(chooser.choose(), 'websocket');
  assert.equal(chooser.probeDelayMs(), 1000);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IdTokenError, IdTokenSource, claimsOf, providerFromUrl } from '../../src/axp_chat_connector/web/widget/identity.js';

/** @param {Record<string, unknown>} claims */
function jwt(claims) {
  const part = (/** @type {unknown} */ value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.signature`;
}

const inSeconds = (/** @type {number} */ s) => Math.floor(Date.now() / 1000) + s;

test('the claims are read (unchecked) for the name, base64url and UTF-8 included', () => {
  assert.deepEqual(claimsOf(jwt({ name: 'Zoë Ådne', exp: 5 })), { name: 'Zoë Ådne', exp: 5 });
  assert.deepEqual(claimsOf('not a token'), {});
});

test('a token with more than a minute to live is reused; a staler one is asked for again', async () => {
  let asked = 0;
  const source = new IdTokenSource(async () => {
    asked += 1;
    return { idToken: jwt({ name: 'Ada', exp: inSeconds(asked === 1 ? 300 : 30) }), expiresIn: 300 };
  });
  const first = await source.token();
  assert.equal(first?.name, 'Ada');
  assert.equal(await source.token(), first);
  assert.equal(asked, 1);
  source.forget();
  await source.token(); // lives 30 s (its exp wins over expiresIn): not reused
  await source.token();
  assert.equal(asked, 3);
});

test('a provider may answer the bare token, null for nobody, or fail', async () => {
  const bare = new IdTokenSource(() => jwt({ email: 'ada@example.com' }));
  assert.equal((await bare.token())?.name, 'ada@example.com');
  assert.equal(await new IdTokenSource(() => null).token(), null);
  await assert.rejects(new IdTokenSource(() => ({ idToken: 'nope' })).token(), IdTokenError);
  await assert.rejects(
    new IdTokenSource(() => {
      throw new Error('backend down');
    }).token(),
    (err) => err instanceof IdTokenError && err.message === 'backend down',
  );
});

test('the site URL: JSON with the cookies; 401, 403, 204 mean nobody; 5xx and non-JSON fail', async () => {
  const original = globalThis.fetch;
  /** @type {RequestInit | undefined} */
  let init;
  try {
    for (const [status, body, expected] of [
      [200, JSON.stringify({ idToken: 'a.b.c', expiresIn: 60 }), { idToken: 'a.b.c', expiresIn: 60 }],
      [401, '', null],
      [403, '', null],
      [204, null, null],
    ]) {
      globalThis.fetch = async (_url, options) => {
        init = options;
        return new Response(/** @type {string | null} */ (body), { status: /** @type {number} */ (status) });
      };
      assert.deepEqual(await providerFromUrl('https://shop.example/id-token')(), expected);
      assert.equal(init?.credentials, 'include');
    }
    globalThis.fetch = async () => new Response('oops', { status: 502 });
    await assert.rejects(providerFromUrl('/t')(), /answered 502/);
    globalThis.fetch = async () => new Response('<html>', { status: 200 });
    await assert.rejects(providerFromUrl('/t')(), /did not answer JSON/);
    globalThis.fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    await assert.rejects(providerFromUrl('/t')(), IdTokenError);
  } finally {
    globalThis.fetch = original;
  }
});

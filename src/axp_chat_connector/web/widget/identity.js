// Verified customers: where the widget gets the site's id token (a JWT its backend signs after
// its own login, docs/web.md "Verified customers"). Either a URL on the site's backend
// (`data-id-token-url`, fetched with the site's cookies) answering JSON
// `{"idToken": "…", "expiresIn": 300}` (401, 403 or 204: nobody is signed in), or a function
// (`data-id-token-provider` naming a global one, or `widget.setIdTokenProvider(fn)`) resolving
// to the token, to `{idToken, expiresIn?}`, or to null when nobody is signed in.
// A token is asked for when a login needs one and reused only while it has a minute to live.

/** @typedef {{idToken: string, expiresIn?: number} | string | null} ProviderAnswer */
/** @typedef {() => Promise<ProviderAnswer> | ProviderAnswer} IdTokenProvider */
/** @typedef {{idToken: string, expiresAt: number, name: string}} IdToken */

const FRESH_FOR_MS = 60_000;
const FETCH_TIMEOUT_MS = 10_000;

/** The provider failed (a network error, a 5xx, an answer that is not a token). */
export class IdTokenError extends Error {}

/**
 * A provider that asks the site's backend.
 * @param {string} url
 * @returns {IdTokenProvider}
 */
export function providerFromUrl(url) {
  return async () => {
    let answer;
    try {
      answer = await fetch(url, {
        credentials: 'include',
        headers: { Accept: 'application/json' },
        cache: 'no-store',
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (err) {
      throw new IdTokenError(`${url} did not answer (${err instanceof Error ? err.message : err})`);
    }
    if (answer.status === 401 || answer.status === 403 || answer.status === 204) return null;
    if (!answer.ok) throw new IdTokenError(`${url} answered ${answer.status}`);
    try {
      return /** @type {ProviderAnswer} */ (await answer.json());
    } catch {
      throw new IdTokenError(`${url} did not answer JSON`);
    }
  };
}

/**
 * The claims of a JWT, unchecked (the connector checks it; the widget only shows the name).
 * @param {string} token
 * @returns {Record<string, unknown>}
 */
export function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : {};
  } catch {
    return {};
  }
}

/**
 * @param {ProviderAnswer} answer
 * @param {number} now
 * @returns {IdToken | null}
 */
function tokenOf(answer, now) {
  if (answer === null || answer === undefined) return null;
  const idToken = typeof answer === 'string' ? answer : answer.idToken;
  if (typeof idToken !== 'string' || idToken.split('.').length !== 3) {
    throw new IdTokenError('the answer is not an id token');
  }
  const claims = claimsOf(idToken);
  const expiries = [];
  if (typeof answer === 'object' && typeof answer.expiresIn === 'number') expiries.push(now + answer.expiresIn * 1000);
  if (typeof claims.exp === 'number') expiries.push(claims.exp * 1000);
  const name = typeof claims.name === 'string' ? claims.name : typeof claims.email === 'string' ? claims.email : '';
  return { idToken, expiresAt: expiries.length ? Math.min(...expiries) : now, name };
}

/** The site's id tokens, asked for when needed; a fresh one is reused, a stale one never. */
export class IdTokenSource {
  /** @param {IdTokenProvider} provider */
  constructor(provider) {
    this.provider = provider;
    /** @type {IdToken | null} */
    this.last = null;
  }

  /** @param {IdTokenProvider} provider */
  setProvider(provider) {
    this.provider = provider;
    this.last = null;
  }

  /** Drop the token held (the connector refused it). */
  forget() {
    this.last = null;
  }

  /**
   * A token with at least a minute to live, or null when nobody is signed in.
   * @returns {Promise<IdToken | null>}
   */
  async token() {
    const now = Date.now();
    if (this.last && this.last.expiresAt - now > FRESH_FOR_MS) return this.last;
    let answer;
    try {
      answer = await this.provider();
    } catch (err) {
      if (err instanceof IdTokenError) throw err;
      throw new IdTokenError(err instanceof Error ? err.message : String(err));
    }
    this.last = tokenOf(answer, Date.now());
    return this.last;
  }
}

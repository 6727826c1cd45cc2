// What a verified customer sees instead of the pre-chat form: who the site says they are and a
// "Start chat" button; the login sends the site's id token (identity.js), asking for a new one
// once if the connector refuses it as expired or invalid. When nobody is signed in or the site's
// backend fails, the customer is told so, and offered the guest form only where the site says
// its connector allows guests (`data-guest="true"`).

import { el } from './dom.js';
import { errorText } from './i18n.js';
import { IdTokenError } from './identity.js';

/** @typedef {import('./identity.js').IdTokenSource} IdTokenSource */
/** @typedef {import('../sdk/index.js').ChatClient} ChatClient */

/** @param {import('./i18n.js').Translate} t */
export function buildSignedIn(t) {
  const intro = el('p', { class: 'intro', 'aria-live': 'polite' });
  const error = el('p', { class: 'error', role: 'alert' });
  const button = el('button', { type: 'button', class: 'primary', hidden: true }, t('startChat'));
  const box = el('div', { class: 'prechat signed-in', hidden: true }, intro, error, button);
  return { box, intro, error, button };
}

/** @typedef {ReturnType<typeof buildSignedIn>} SignedInUi */

/**
 * @typedef {object} VerifiedHost
 * @property {SignedInUi} ui
 * @property {ChatClient} client
 * @property {import('./i18n.js').Translate} t
 * @property {boolean} guest                  the guest form may be offered
 * @property {(shown: boolean) => void} showGuestForm
 * @property {() => Record<string, string>} parameters  session parameters for the login
 * @property {() => void} notLoggedIn       the login did not happen (the parameters were not sent)
 * @property {() => Promise<void>} loggedIn   the session is open: show the chat, start it
 */

export class VerifiedLogin {
  /**
   * @param {IdTokenSource} source
   * @param {VerifiedHost} host
   */
  constructor(source, host) {
    this.source = source;
    this.host = host;
    this.busy = false;
    host.ui.button.addEventListener('click', () => void this.login());
  }

  /** Show who is signed in (asking the site), or why nobody is. */
  async show() {
    const { ui, t } = this.host;
    ui.box.hidden = false;
    ui.error.textContent = '';
    ui.button.hidden = true;
    ui.intro.textContent = t('checkingSignIn');
    try {
      const token = await this.source.token();
      if (!token) return this.#nobody();
      ui.intro.textContent = token.name ? t('signedInAs', { name: token.name }) : t('signedIn');
      ui.button.hidden = false;
      this.host.showGuestForm(false);
    } catch (err) {
      this.#failed(err);
    }
  }

  hide() {
    this.host.ui.box.hidden = true;
  }

  async login() {
    if (this.busy) return;
    const { ui, t } = this.host;
    this.busy = true;
    ui.button.disabled = true;
    ui.error.textContent = '';
    try {
      if (await this.#loginWithToken(true)) await this.host.loggedIn();
      else this.host.notLoggedIn();
    } catch (err) {
      this.host.notLoggedIn();
      if (err instanceof IdTokenError) this.#failed(err);
      else ui.error.textContent = t('cannotStart', { error: errorText(err) });
    } finally {
      this.busy = false;
      ui.button.disabled = false;
    }
  }

  /**
   * A login with a token from the site.
   * @param {boolean} again  on a refused token, ask for a new one and try once more
   * @returns {Promise<boolean>} whether a session is open (false: nobody is signed in)
   */
  async #loginWithToken(again) {
    const token = await this.source.token();
    if (!token) {
      this.#nobody();
      return false;
    }
    try {
      await this.host.client.login({ idToken: token.idToken, parameters: this.host.parameters() });
      return true;
    } catch (err) {
      // expired on the way (a login queued while offline) or revoked: a new token, once
      if (!again || /** @type {{code?: string}} */ (err).code !== 'unauthorized') throw err;
      this.source.forget();
      return this.#loginWithToken(false);
    }
  }

  #nobody() {
    const { ui, t } = this.host;
    ui.button.hidden = true;
    ui.intro.textContent = this.host.guest ? t('signInOrGuest') : t('signInToChat');
    this.host.showGuestForm(this.host.guest);
  }

  /** @param {unknown} err */
  #failed(err) {
    const { ui, t } = this.host;
    ui.intro.textContent = '';
    ui.error.textContent = t('cannotVerify', { error: errorText(err) });
    ui.button.hidden = this.host.guest;
    this.host.showGuestForm(this.host.guest);
  }
}

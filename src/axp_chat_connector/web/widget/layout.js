// The widget's elements, in a shadow root appended to the page, and its theme (brand colour,
// title, launcher position, logo) set from `data-` attributes or `widget.setTheme({...})`.

import { CHAT_ICON, el, icon } from './dom.js';
import { buildPrechat } from './prechat.js';
import { buildSignedIn } from './verified.js';

/**
 * @typedef {object} Theme
 * @property {string} [color]     brand colour (CSS colour; `#rgb`/`#rrggbb` also pick a readable text colour)
 * @property {string} [title]     launcher and window title
 * @property {'left' | 'right'} [position] the corner of the launcher (default: the end of the line, right in LTR)
 * @property {string} [logo]      URL of a logo shown in the title bar and the launcher
 */

/**
 * Black or white, whichever reads better on a `#rgb`/`#rrggbb` colour (WCAG relative luminance).
 * @param {string} color
 * @returns {string | null} null when the colour is not a hex colour
 */
export function readableOn(color) {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color.trim())?.[1];
  if (!hex) return null;
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(full.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // contrast with white: 1.05 / (L + .05); with near-black #111: (L + .05) / .0556
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0556 ? '#fff' : '#111';
}

/**
 * @param {import('./prechat.js').FieldSpec[]} fields
 * @param {import('./i18n.js').Translate} t
 * @param {{locale: string, dir: 'ltr' | 'rtl', base: string}} where
 */
export function layout(fields, t, where) {
  const host = el('div', { class: 'axp-chat-widget' });
  document.body.append(host);
  const root = host.attachShadow({ mode: 'open' });
  const title = el('h2', { id: 'axpw-title' }, t('title'));
  const launcherLabel = el('span', { class: 'label' }, t('title'));
  const launcherLogo = el('img', { class: 'logo', alt: '', hidden: true });
  const headerLogo = el('img', { class: 'logo', alt: '', hidden: true });
  const launcher = el(
    'button',
    { type: 'button', class: 'launcher', 'aria-expanded': 'false', 'aria-controls': 'axpw-panel' },
    icon(CHAT_ICON),
    launcherLogo,
    launcherLabel,
    el('span', { class: 'unread', hidden: true }, t('unread')),
  );
  const subtitle = el('p', { class: 'subtitle', 'aria-live': 'polite' });
  const endButton = el('button', { type: 'button', class: 'end', hidden: true }, t('endChat'));
  const minimize = el('button', { type: 'button', class: 'minimize', 'aria-label': t('minimize') }, '–');
  const confirmYes = el('button', { type: 'button', class: 'primary danger' }, t('confirmYes'));
  const confirmNo = el('button', { type: 'button', class: 'secondary' }, t('cancel'));
  const confirm = el(
    'div',
    { class: 'confirm', role: 'group', 'aria-labelledby': 'axpw-confirm', hidden: true },
    el('span', { id: 'axpw-confirm' }, t('confirmEnd')),
    confirmYes,
    confirmNo,
  );
  const banner = el('div', { class: 'banner', role: 'status', hidden: true }, t('reconnecting'));
  const signedIn = buildSignedIn(t);
  const form = buildPrechat(fields, 'axpw', t);
  const log = el('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'aria-label': t('messages'), tabindex: '0' });
  const typing = el('div', { class: 'typing', 'aria-live': 'polite', hidden: true });
  const idleButton = el('button', { type: 'button', class: 'primary' }, t('imHere'));
  const idle = el('div', { class: 'idle', role: 'alert', hidden: true }, el('span', {}, t('stillThere')), idleButton);
  const restartButton = el('button', { type: 'button', class: 'primary' }, t('startNew'));
  const download = el('button', { type: 'button', class: 'secondary' }, t('download'));
  const restart = el('div', { class: 'restart', hidden: true }, restartButton, download);
  const input = el('textarea', { rows: '1', 'aria-label': t('message'), placeholder: t('placeholder'), maxlength: '4096' });
  const sendButton = el('button', { type: 'submit', class: 'primary', 'aria-label': t('sendLabel') }, t('send'));
  const composer = el('form', { class: 'composer' }, input, sendButton);
  const chat = el('div', { class: 'chat', hidden: true }, log, typing, idle, restart, composer);
  const panel = el(
    'section',
    { id: 'axpw-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'axpw-title', hidden: true },
    el('header', {}, headerLogo, el('div', { class: 'titles' }, title, subtitle), endButton, minimize),
    confirm,
    banner,
    signedIn.box,
    form,
    chat,
  );
  const frame = el('div', { class: 'frame', lang: where.locale, dir: where.dir }, panel, launcher);
  root.append(el('link', { rel: 'stylesheet', href: new URL('widget.css', where.base).href }), frame);
  return {
    root, frame, launcher, launcherLabel, launcherLogo, headerLogo, title, subtitle, endButton, minimize,
    confirm, confirmYes, confirmNo, banner, signedIn, form, log, typing, idle, idleButton, restart, restartButton,
    download, input, sendButton, composer, chat, panel,
  };
}

/** @typedef {ReturnType<typeof layout>} Ui */

/**
 * Apply the parts of a theme that are set; the others stay as they are.
 * @param {Ui} ui
 * @param {Theme} theme
 */
export function applyTheme(ui, theme) {
  if (theme.title) {
    ui.title.textContent = theme.title;
    ui.launcherLabel.textContent = theme.title;
  }
  if (theme.color) {
    ui.frame.style.setProperty('--accent', theme.color);
    const fg = readableOn(theme.color);
    if (fg) ui.frame.style.setProperty('--accent-fg', fg);
  }
  if (theme.position) {
    ui.frame.classList.toggle('left', theme.position === 'left');
    ui.frame.classList.toggle('right', theme.position === 'right');
  }
  if (theme.logo) {
    for (const logo of [ui.launcherLogo, ui.headerLogo]) {
      logo.src = theme.logo;
      logo.hidden = false;
      logo.addEventListener('error', () => (logo.hidden = true), { once: true });
    }
    ui.launcher.querySelector('.icon')?.setAttribute('hidden', '');
  }
}

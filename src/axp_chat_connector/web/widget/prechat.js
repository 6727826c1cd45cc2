// The pre-chat form: name and email, plus optional fields configured on the script tag
// (`data-fields="phone:Phone number,orderNumber:Order number*"`; `*` makes one required;
// `phone` becomes a phone-number identifier, any other name a session parameter).

import { el } from './dom.js';

/** @typedef {{name: string, label: string, required: boolean}} FieldSpec */

/**
 * @param {string | undefined} spec
 * @returns {FieldSpec[]}
 */
export function parseFields(spec) {
  if (!spec) return [];
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [rawName, rawLabel] = part.split(':');
      const name = rawName.trim().replace(/[^\w.-]/g, '').slice(0, 64);
      let label = (rawLabel ?? rawName).trim();
      const required = label.endsWith('*');
      if (required) label = label.slice(0, -1).trim();
      return { name, label: label || name, required };
    })
    .filter((field) => field.name && field.name !== 'name' && field.name !== 'email');
}

/**
 * @param {FieldSpec[]} fields
 * @param {string} idPrefix
 * @param {import('./i18n.js').Translate} t
 * @returns {HTMLFormElement}
 */
export function buildPrechat(fields, idPrefix, t) {
  /** @param {string} name @param {string} label @param {string} type @param {boolean} required @param {string} [autocomplete] */
  const row = (name, label, type, required, autocomplete) =>
    el(
      'div',
      { class: 'field' },
      el('label', { for: `${idPrefix}-${name}` }, label, required ? el('span', { 'aria-hidden': 'true' }, ' *') : null),
      el('input', {
        id: `${idPrefix}-${name}`,
        name,
        type,
        required,
        maxlength: name === 'displayName' ? '70' : '256',
        autocomplete,
        'aria-describedby': `${idPrefix}-${name}-error`,
      }),
      el('p', { class: 'field-error', id: `${idPrefix}-${name}-error` }),
    );
  return el(
    'form',
    { class: 'prechat', novalidate: true, 'aria-label': t('prechatLabel') },
    el('p', { class: 'intro' }, t('intro')),
    row('displayName', t('name'), 'text', true, 'name'),
    row('email', t('email'), 'email', true, 'email'),
    ...fields.map((f) => row(f.name, f.label, f.name === 'phone' ? 'tel' : 'text', f.required, f.name === 'phone' ? 'tel' : undefined)),
    el('p', { class: 'error', role: 'alert' }),
    el('button', { type: 'submit', class: 'primary' }, t('startChat')),
  );
}

/**
 * What the form holds, checked; `errors` has a message for every field that is wrong.
 * @param {HTMLFormElement} form
 * @param {FieldSpec[]} fields
 * @param {import('./i18n.js').Translate} t
 * @returns {{errors: Record<string, string>, displayName: string, identifiers: Record<string, string[]>, parameters: Record<string, string>}}
 */
export function readPrechat(form, fields, t) {
  const data = new FormData(form);
  const value = (/** @type {string} */ name) => String(data.get(name) ?? '').trim();
  const displayName = value('displayName');
  const email = value('email');
  /** @type {Record<string, string[]>} */
  const identifiers = { emailAddresses: [email] };
  /** @type {Record<string, string>} */
  const parameters = {};
  /** @type {Record<string, string>} */
  const errors = {};
  if (!displayName) errors.displayName = t('needName');
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) errors.email = t('needEmail');
  for (const field of fields) {
    const v = value(field.name);
    if (!v) {
      if (field.required) errors[field.name] = t('needField', { label: field.label });
      continue;
    }
    if (field.name === 'phone') identifiers.phoneNumbers = [v];
    else parameters[field.name] = v.slice(0, 256);
  }
  return { errors, displayName, identifiers, parameters };
}

/**
 * Show each field's error beside it (all at once) and move focus to the first wrong field.
 * @param {HTMLFormElement} form
 * @param {Record<string, string>} errors
 * @param {import('./i18n.js').Translate} t
 * @returns {boolean} whether the form is fine
 */
export function showPrechatErrors(form, errors, t) {
  /** @type {HTMLInputElement | null} */
  let first = null;
  for (const input of form.querySelectorAll('input')) {
    const message = errors[input.name] ?? '';
    const line = input.parentElement?.querySelector('.field-error');
    if (line) line.textContent = message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    if (message && !first) first = input;
  }
  const summary = form.querySelector('.error');
  if (summary) summary.textContent = first ? t('checkFields') : '';
  first?.focus();
  return first === null;
}

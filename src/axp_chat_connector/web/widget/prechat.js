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
 * @returns {HTMLFormElement}
 */
export function buildPrechat(fields, idPrefix) {
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
      }),
    );
  return el(
    'form',
    { class: 'prechat', novalidate: true, 'aria-label': 'Start a chat' },
    el('p', { class: 'intro' }, 'Tell us who you are and an agent will be with you shortly.'),
    row('displayName', 'Name', 'text', true, 'name'),
    row('email', 'Email', 'email', true, 'email'),
    ...fields.map((f) => row(f.name, f.label, f.name === 'phone' ? 'tel' : 'text', f.required, f.name === 'phone' ? 'tel' : undefined)),
    el('p', { class: 'error', role: 'alert' }),
    el('button', { type: 'submit', class: 'primary' }, 'Start chat'),
  );
}

/**
 * What the form holds, checked; `error` names the first problem.
 * @param {HTMLFormElement} form
 * @param {FieldSpec[]} fields
 * @returns {{error: string | null, displayName: string, identifiers: Record<string, string[]>, parameters: Record<string, string>}}
 */
export function readPrechat(form, fields) {
  const data = new FormData(form);
  const value = (/** @type {string} */ name) => String(data.get(name) ?? '').trim();
  const displayName = value('displayName');
  const email = value('email');
  /** @type {Record<string, string[]>} */
  const identifiers = { emailAddresses: [email] };
  /** @type {Record<string, string>} */
  const parameters = {};
  let error = null;
  if (!displayName) error = 'Please enter your name.';
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) error = 'Please enter a valid email address.';
  for (const field of fields) {
    const v = value(field.name);
    if (!v) {
      if (field.required && !error) error = `Please fill in ${field.label}.`;
      continue;
    }
    if (field.name === 'phone') identifiers.phoneNumbers = [v];
    else parameters[field.name] = v.slice(0, 256);
  }
  return { error, displayName, identifiers, parameters };
}

// The work cards of the agent console, one per chat, built once and then updated in place
// (never redrawn on a poll): a focused button or a click in progress survives every update.

import { el } from '../widget/dom.js';
import { agentsOf, currentDialog, customerOf, fieldsOf, waited } from './model.js';

/**
 * @typedef {import('./model.js').Engagement} Engagement
 * @typedef {{root: HTMLElement, name: Text, badge: HTMLElement, details: HTMLElement, signature: string, open: HTMLButtonElement, accept: HTMLButtonElement}} Card
 */

/**
 * Set an attribute only when it changes (no needless DOM mutations on every poll).
 * @param {Element} node
 * @param {string} name
 * @param {string} value
 */
function setAttribute(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/**
 * A work card's elements, built once per chat.
 * @param {string} id engagement id
 * @param {{open: () => void, accept: () => void}} on what its buttons do
 * @returns {Card}
 */
export function newCard(id, on) {
  const name = document.createTextNode('');
  const badge = el('span', { class: 'badge' });
  const details = el('dl');
  const open = el('button', { type: 'button', class: 'secondary' }, 'Open');
  open.addEventListener('click', on.open);
  const accept = el('button', { type: 'button' }, 'Accept');
  accept.addEventListener('click', on.accept);
  const root = el(
    'li',
    { class: 'card', 'data-engagement': id },
    el('h3', {}, el('span', {}, name), badge),
    details,
    el('div', { class: 'row' }, open, accept),
  );
  return { root, name, badge, details, signature: '', open, accept };
}

/**
 * Bring a card up to date, touching only what changed.
 * @param {Card} card
 * @param {Engagement} engagement
 * @param {boolean} selected
 */
export function updateCard(card, engagement, selected) {
  const dialog = currentDialog(engagement);
  const status = dialog?.dialogStatus ?? 'UNKNOWN';
  const name = customerOf(dialog);
  const agents = agentsOf(dialog).map((c) => c.displayName ?? c.participantType).join(', ');
  /** @type {[string, string][]} */
  const fields = [
    ...fieldsOf(dialog?.session?.customerIdentifiers),
    ...fieldsOf(dialog?.session?.sessionParameters),
    ...fieldsOf(dialog?.engagementParameters),
  ];
  if (engagement.conversation) fields.push(['Topic', engagement.conversation]);
  fields.push([status === 'PENDING' ? 'Waiting' : 'Since', waited(dialog?.createdAt)]);
  if (agents) fields.push(['With', agents]);
  const signature = JSON.stringify(fields);
  if (signature !== card.signature) {
    card.signature = signature;
    card.details.replaceChildren(...fields.filter(([, v]) => v).flatMap(([term, value]) => [el('dt', {}, term), el('dd', {}, value)]));
  }
  if (card.name.data !== name) card.name.data = name;
  const badgeText = status === 'PENDING' ? 'waiting' : status.toLowerCase();
  if (card.badge.textContent !== badgeText) {
    card.badge.textContent = badgeText;
    card.badge.className = `badge ${status}`;
  }
  setAttribute(card.open, 'aria-label', `Open chat with ${name}`);
  setAttribute(card.accept, 'aria-label', `Accept chat with ${name}`);
  card.accept.hidden = status !== 'PENDING';
  setAttribute(card.root, 'aria-current', String(selected));
}

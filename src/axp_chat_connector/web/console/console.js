// Agent console of the AXP emulator. It uses only the emulator's agent API (PROTOCOL.md §8),
// same origin, under /emulator/v1: it polls the engagements and the open conversation's
// messages about every second. Every text is put in the page as text, never as HTML.

import { renderMarkdown } from '../widget/markdown.js';
import { el } from '../widget/dom.js';
import { newCard, updateCard } from './cards.js';
import { choiceOf, currentDialog, customerOf, agentsOf } from './model.js';

const API = '/emulator/v1';
const POLL_MS = 1000;
const TYPING_EVERY_MS = 3000;

/**
 * @typedef {import('./model.js').Engagement} Engagement
 * @typedef {import('./model.js').Dialog} Dialog
 * @typedef {import('./model.js').AgentMessage} AgentMessage
 * @typedef {import('./cards.js').Card} Card
 */

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing`);
  return node;
}

/**
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function call(path, body) {
  const response = await fetch(API + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try {
      const problem = await response.json();
      detail = problem.detail || problem.title || detail;
    } catch {
      // not JSON
    }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}


class AgentConsole {
  constructor() {
    /** @type {Engagement[]} */
    this.engagements = [];
    /** @type {string | null} */
    this.selected = null;
    /** @type {AgentMessage[]} */
    this.messages = [];
    this.lastTyping = 0;
    /** @type {Map<string, Card>} work cards by engagement id, updated in place */
    this.cardNodes = new Map();
    /** @type {Set<string>} engagements this console disconnected */
    this.disconnected = new Set();
    this.shownStatus = '';
    this.cards = byId('cards');
    this.transcript = byId('transcript');
    this.agentName = /** @type {HTMLInputElement} */ (byId('agent-name'));
    this.status = byId('link-status');
    this.errorLine = byId('composer-error');
    this.#wire();
    void this.#pollEngagements();
    void this.#pollMessages();
  }

  #wire() {
    byId('accept').addEventListener('click', () => this.#act('accept', { agentName: this.#agent() }));
    byId('disconnect').addEventListener('click', () => {
      if (this.selected) this.disconnected.add(this.selected);
      void this.#act('disconnect', {});
    });
    byId('transfer').addEventListener('click', () => {
      const input = /** @type {HTMLInputElement} */ (byId('transfer-to'));
      void this.#act('transfer', { agentName: input.value.trim() || 'Second Agent' });
    });
    const form = /** @type {HTMLFormElement} */ (byId('composer'));
    const text = /** @type {HTMLTextAreaElement} */ (byId('reply-text'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#sendReply();
    });
    text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    text.addEventListener('input', () => this.#typing());
    byId('send-carousel').addEventListener('click', () => void this.#sendCarousel());
  }

  #agent() {
    return this.agentName.value.trim() || 'Agent';
  }

  async #pollEngagements() {
    try {
      const body = await call('/engagements');
      this.engagements = Array.isArray(body) ? body : body.engagements ?? [];
      this.status.textContent = 'online';
      this.#renderCards();
      this.#renderHead();
    } catch (err) {
      this.status.textContent = `emulator unreachable (${String(err)})`;
    }
    setTimeout(() => void this.#pollEngagements(), POLL_MS);
  }

  async #pollMessages() {
    const id = this.selected;
    if (id) {
      try {
        const body = await call(`/engagements/${encodeURIComponent(id)}/messages`);
        if (id === this.selected) {
          const messages = /** @type {AgentMessage[]} */ (body.messages ?? []);
          if (messages.length !== this.messages.length) {
            this.messages = messages;
            this.#renderTranscript();
          }
        }
      } catch {
        // shown by the engagements poll
      }
    }
    setTimeout(() => void this.#pollMessages(), POLL_MS);
  }

  /** @param {string} id */
  #select(id) {
    if (this.selected !== id) {
      this.selected = id;
      this.shownStatus = '';
      this.messages = [];
      this.transcript.replaceChildren();
    }
    this.#renderCards();
    this.#renderHead();
    void this.#refreshMessages();
  }

  async #refreshMessages() {
    const id = this.selected;
    if (!id) return;
    try {
      const body = await call(`/engagements/${encodeURIComponent(id)}/messages`);
      if (id === this.selected) {
        this.messages = body.messages ?? [];
        this.#renderTranscript();
      }
    } catch {
      // next poll
    }
  }

  /**
   * @param {'accept' | 'transfer' | 'disconnect' | 'typing'} verb
   * @param {Record<string, string>} body
   */
  async #act(verb, body) {
    const id = this.selected;
    if (!id) return;
    this.errorLine.textContent = '';
    try {
      await call(`/engagements/${encodeURIComponent(id)}:${verb}`, body);
      const fresh = await call('/engagements');
      this.engagements = fresh.engagements ?? [];
      this.#renderCards();
      this.#renderHead();
      await this.#refreshMessages();
    } catch (err) {
      this.errorLine.textContent = `${verb} failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  #typing() {
    const now = Date.now();
    if (!this.selected || now - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = now;
    call(`/engagements/${encodeURIComponent(this.selected)}:typing`, {}).catch(() => {});
  }

  async #sendReply() {
    const text = /** @type {HTMLTextAreaElement} */ (byId('reply-text'));
    const format = /** @type {HTMLSelectElement} */ (byId('reply-format'));
    const quick = /** @type {HTMLInputElement} */ (byId('quick-replies'));
    const value = text.value.trim();
    if (!value) return;
    const labels = quick.value
      .split(',')
      .map((label) => label.trim())
      .filter(Boolean)
      .slice(0, 5);
    /** @type {Record<string, unknown>} */
    const body = { text: value, format: format.value };
    if (labels.length > 0) {
      body.richMedia = {
        actions: labels.map((label) => ({ type: 'reply', text: label.slice(0, 50), payload: label })),
      };
    }
    if (await this.#post(body)) {
      text.value = '';
      quick.value = '';
    }
  }

  async #sendCarousel() {
    const input = /** @type {HTMLTextAreaElement} */ (byId('carousel-items'));
    const items = input.value
      .split('\n')
      .map((line) => line.split('|').map((part) => part.trim()))
      .filter((parts) => parts[0])
      .slice(0, 10)
      .map(([title, description, mediaUrl]) => {
        /** @type {Record<string, unknown>} */
        const item = {
          title: title.slice(0, 50),
          actions: [{ type: 'postback', text: 'Choose', payload: title.slice(0, 512) }],
        };
        if (description) item.description = description.slice(0, 256);
        if (mediaUrl) item.mediaUrl = mediaUrl;
        return item;
      });
    if (items.length === 0) {
      this.errorLine.textContent = 'A carousel needs at least one line with a title.';
      return;
    }
    const text = `Options: ${items.map((item) => item.title).join(', ')}`;
    if (await this.#post({ text, richMedia: { items } })) input.value = '';
  }

  /** @param {Record<string, unknown>} body */
  async #post(body) {
    if (!this.selected) return false;
    this.errorLine.textContent = '';
    try {
      await call(`/engagements/${encodeURIComponent(this.selected)}/messages`, body);
      await this.#refreshMessages();
      return true;
    } catch (err) {
      this.errorLine.textContent = `Not sent: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    }
  }

  #renderCards() {
    const shown = this.engagements.filter((e) => {
      const dialog = currentDialog(e);
      return dialog && (dialog.dialogStatus !== 'TERMINATED' || e.engagementId === this.selected);
    });
    byId('no-cards').hidden = shown.length > 0;
    // Waiting chats first, the longest waiting on top.
    shown.sort((a, b) => {
      const da = currentDialog(a);
      const db = currentDialog(b);
      const rank = (/** @type {Dialog | undefined} */ d) => (d?.dialogStatus === 'PENDING' ? 0 : 1);
      return rank(da) - rank(db) || String(da?.createdAt).localeCompare(String(db?.createdAt));
    });
    // Cards are updated in place (never redrawn): a focused button or a click in progress stays.
    const keep = new Set(shown.map((e) => e.engagementId));
    for (const [id, card] of this.cardNodes) {
      if (keep.has(id)) continue;
      card.root.remove();
      this.cardNodes.delete(id);
    }
    shown.forEach((engagement, i) => {
      let card = this.cardNodes.get(engagement.engagementId);
      if (!card) {
        const id = engagement.engagementId;
        card = newCard(id, {
          open: () => this.#select(id),
          accept: () => {
            this.#select(id);
            void this.#act('accept', { agentName: this.#agent() });
          },
        });
        this.cardNodes.set(engagement.engagementId, card);
      }
      updateCard(card, engagement, engagement.engagementId === this.selected);
      const here = this.cards.children[i];
      if (here !== card.root) this.cards.insertBefore(card.root, here ?? null);
    });
  }

  #renderHead() {
    const section = byId('conversation');
    const engagement = this.engagements.find((e) => e.engagementId === this.selected);
    section.hidden = !engagement;
    if (!engagement) return;
    const dialog = currentDialog(engagement);
    const status = dialog?.dialogStatus ?? 'UNKNOWN';
    byId('conversation-title').textContent = `Chat with ${customerOf(dialog)}`;
    const agents = agentsOf(dialog).map((c) => c.displayName ?? c.participantType);
    byId('conversation-meta').textContent =
      `${status}${agents.length ? ` · with ${agents.join(', ')}` : ''} · engagement ${engagement.engagementId}`;
    const closed = status === 'TERMINATED';
    /** @type {HTMLButtonElement} */ (byId('accept')).disabled = status !== 'PENDING';
    /** @type {HTMLButtonElement} */ (byId('transfer')).disabled = status !== 'ACTIVE';
    /** @type {HTMLButtonElement} */ (byId('disconnect')).disabled = closed;
    /** @type {HTMLButtonElement} */ (byId('send')).disabled = closed;
    /** @type {HTMLButtonElement} */ (byId('send-carousel')).disabled = closed;
    if (status !== this.shownStatus) {
      this.shownStatus = status;
      this.#renderTranscript();
    }
  }

  #renderTranscript() {
    const nearBottom =
      this.transcript.scrollHeight - this.transcript.scrollTop - this.transcript.clientHeight < 40;
    const lines = this.messages.map((m, i) => this.#message(m, this.messages.slice(0, i)));
    const engagement = this.engagements.find((e) => e.engagementId === this.selected);
    const dialog = engagement && currentDialog(engagement);
    if (dialog?.dialogStatus === 'TERMINATED') {
      const byUs = this.selected !== null && this.disconnected.has(this.selected);
      const line = byUs ? 'You ended the chat.' : `${customerOf(dialog)} left the chat.`;
      lines.push(el('li', { class: 'system' }, line));
    }
    this.transcript.replaceChildren(...lines);
    if (nearBottom) this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  /**
   * @param {AgentMessage} message
   * @param {AgentMessage[]} earlier the messages before it (to name a carousel choice)
   */
  #message(message, earlier) {
    const type = message.senderParticipantType ?? 'UNKNOWN';
    const body = message.body ?? {};
    const rich = body.richMediaPayload ?? {};
    const who = `${message.senderParticipantName || type} · ${type.toLowerCase()}`;
    const extras = [];
    const text = el('span', { class: 'text' });
    const chose = body.elementType === 'reply' || body.elementType === 'postback';
    const selected = rich.selectedAction ?? (chose ? { text: body.elementText?.text, payload: body.payload } : null);
    if (selected) {
      text.textContent = choiceOf(selected, earlier);
      extras.push(`${body.elementType === 'reply' ? 'quick reply' : 'chose'} · payload ${selected.payload ?? '(none)'}`);
    } else if (body.elementText?.textFormat === 'MARKDOWN') {
      text.innerHTML = renderMarkdown(body.elementText.text ?? '');
    } else {
      text.textContent = body.elementText?.text ?? '';
    }
    if (rich.actions?.length) extras.push(`buttons: ${rich.actions.map((a) => a.text ?? a.type).join(' | ')}`);
    if (rich.items?.length) extras.push(`carousel: ${rich.items.map((i) => i.title ?? '').join(' | ')}`);
    if (body.elementType && !['text', 'reply', 'postback'].includes(body.elementType)) extras.push(`(${body.elementType})`);
    return el(
      'li',
      { class: `msg from-${type}` },
      el('span', { class: 'who' }, who),
      text,
      ...extras.map((extra) => el('span', { class: 'extra' }, extra)),
    );
  }
}

if (typeof document !== 'undefined') {
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', () => new AgentConsole());
  } else {
    new AgentConsole();
  }
}

// What the agent console reads from the emulator's agent API, in words: the dialog that counts,
// who the customer and the agents are, how long a chat waits, labelled identifiers and
// parameters, and what a customer's postback chose. Values in, values out: no DOM.

/**
 * @typedef {{connectionId: string, participantId?: string, participantType: string, connectionState: string, displayName?: string}} Connection
 * @typedef {{customerIdentifiers?: Record<string, string[]>, sessionParameters?: Record<string, string>, displayName?: string}} Session
 * @typedef {{dialogId: string, dialogStatus: string, createdAt?: string, connections?: Connection[], engagementParameters?: Record<string, string>, sessionId?: string, session?: Session, messageCount?: number}} Dialog
 * @typedef {{engagementId: string, conversation?: string, dialogs?: Dialog[], activeDialogId?: string | null}} Engagement
 * @typedef {{type?: string, text?: string, payload?: string, uri?: string}} Action
 * @typedef {{messageId?: string, messageIndex?: number, senderParticipantType?: string, senderParticipantName?: string, receivedAt?: string, body?: {elementType?: string, payload?: string, elementText?: {text?: string, textFormat?: string}, richMediaPayload?: {actions?: Action[], items?: {title?: string, actions?: Action[]}[], selectedAction?: Action}}}} AgentMessage
 */

/** @param {Engagement} engagement */
export function currentDialog(engagement) {
  const dialogs = engagement.dialogs ?? [];
  return dialogs.find((d) => d.dialogId === engagement.activeDialogId) ?? dialogs[dialogs.length - 1];
}

/** @param {Dialog | undefined} dialog */
export function customerOf(dialog) {
  const connection = dialog?.connections?.find((c) => c.participantType === 'CUSTOMER');
  return connection?.displayName ?? dialog?.session?.displayName ?? 'Customer';
}

/** @param {Dialog | undefined} dialog */
export function agentsOf(dialog) {
  return (dialog?.connections ?? []).filter(
    (c) => c.participantType !== 'CUSTOMER' && c.connectionState === 'CONNECTED',
  );
}

/** @param {string | undefined} since */
export function waited(since) {
  const start = since ? Date.parse(since) : NaN;
  if (Number.isNaN(start)) return '';
  const seconds = Math.max(0, Math.floor((Date.now() - start) / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

/** @type {Record<string, string>} */
const LABELS = {
  emailAddresses: 'Email',
  phoneNumbers: 'Phone',
  pageTitle: 'Page',
  pageUrl: 'Page address',
  topic: 'Topic',
};

/**
 * A readable label for an identifier kind or a parameter name: `orderNumber` → `Order number`.
 * @param {string} key
 */
export function labelOf(key) {
  const known = LABELS[key];
  if (known) return known;
  const words = key.replace(/[_-]+/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Labelled fields of identifiers or parameters, in order.
 * @param {Record<string, unknown> | undefined} map
 * @returns {[string, string][]}
 */
export function fieldsOf(map) {
  return Object.entries(map ?? {}).map(([key, value]) => [
    labelOf(key),
    Array.isArray(value) ? value.join(', ') : String(value),
  ]);
}

/**
 * What a customer's postback or reply chose, in words: the action's text, or the title of the
 * carousel card whose button carries the same payload when the text says no more than "Choose".
 * @param {Action} selected
 * @param {AgentMessage[]} earlier
 */
export function choiceOf(selected, earlier) {
  for (const message of [...earlier].reverse()) {
    const items = message.body?.richMediaPayload?.items ?? [];
    const card = items.find((item) => (item.actions ?? []).some((a) => a.payload && a.payload === selected.payload));
    if (card?.title) {
      const text = selected.text ?? '';
      return !text || text === card.actions?.find((a) => a.payload === selected.payload)?.text ? card.title : text;
    }
  }
  return selected.text || selected.payload || '';
}

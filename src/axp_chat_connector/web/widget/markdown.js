// A tiny, safe Markdown subset for chat messages: **bold**, *italics* (or _italics_),
// `code`, [links](https://…) and line breaks. The text is HTML-escaped FIRST; the only tags in
// the result are the ones made here, and links go only to http(s) and mailto addresses.

/** @type {Record<string, string>} */
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * @param {string} text
 * @returns {string} text safe to place in HTML content or a quoted attribute
 */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}

/** @param {string} html */
function unescapeHtml(html) {
  return html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * The URL if it is an absolute http(s) or mailto URL, else null (javascript:, data:, relative…).
 * @param {string} raw
 * @returns {string | null}
 */
export function safeUrl(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  return ['http:', 'https:', 'mailto:'].includes(url.protocol) ? url.href : null;
}

/** @param {string} html escaped text */
function emphasis(html) {
  return html
    .replace(/\*\*(?=\S)([^*\n]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/__(?=\S)([^_\n]*?\S)__/g, '<strong>$1</strong>')
    .replace(/(^|[^*\w])\*(?=\S)([^*\n]*?\S)\*(?![*\w])/g, '$1<em>$2</em>')
    .replace(/(^|[^_\w])_(?=\S)([^_\n]*?\S)_(?![_\w])/g, '$1<em>$2</em>');
}

/**
 * @param {string} text Markdown from an agent or a bot
 * @returns {string} HTML
 */
export function renderMarkdown(text) {
  /** @type {string[]} */
  const kept = [];
  /** @param {string} html */
  const keep = (html) => `\u0000${kept.push(html) - 1}\u0000`;
  // eslint-disable-next-line no-control-regex
  let html = escapeHtml(text.replace(/\u0000/g, ''));
  html = html.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${code}</code>`));
  html = html.replace(/\[([^\]\n]+)\]\(([^()\s]+)\)/g, (whole, label, target) => {
    const href = safeUrl(unescapeHtml(target));
    if (!href) return whole;
    return keep(
      `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${emphasis(label)}</a>`,
    );
  });
  html = emphasis(html).replace(/\n/g, '<br>');
  // Placeholders may nest (a code span inside a link label): restore until none is left.
  for (let round = 0; round < 3 && html.includes('\u0000'); round += 1) {
    html = html.replace(/\u0000(\d+)\u0000/g, (_, i) => kept[Number(i)] ?? '');
  }
  return html;
}

// The transcript a customer can download: the chat as plain text, one line per message or
// system line, with its time and sender, read from what the widget shows.

/**
 * @param {HTMLElement} log the widget's message log
 * @param {{title: string, you: string}} words
 * @returns {string}
 */
export function transcriptText(log, words) {
  const lines = [words.title, ''];
  for (const item of log.children) {
    const node = /** @type {HTMLElement} */ (item);
    if (node.classList.contains('system')) {
      lines.push(`— ${node.textContent ?? ''} —`);
      continue;
    }
    if (!node.classList.contains('msg')) continue;
    const when = node.querySelector('time')?.getAttribute('title') ?? '';
    const who = node.classList.contains('customer') ? words.you : node.dataset.name ?? '';
    const text = node.querySelector('.text')?.textContent ?? '';
    lines.push(`[${when}] ${who}: ${text}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Hand the text to the browser as a file download.
 * @param {string} text
 * @param {string} filename
 */
export function download(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

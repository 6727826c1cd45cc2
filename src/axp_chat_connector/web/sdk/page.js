// The page's hints about the network: `online`, `pageshow` and the tab becoming visible mean
// "try now, and check the link"; `offline` means "the link is probably gone: say so at once".

/**
 * @param {EventTarget | null} target the window (null: listen to nothing)
 * @param {{wake: () => void, suspect: () => void}} link
 */
export function listenToPage(target, link) {
  if (!target || typeof target.addEventListener !== 'function') return;
  const wake = () => link.wake();
  target.addEventListener('online', wake);
  target.addEventListener('pageshow', wake);
  target.addEventListener('offline', () => link.suspect());
  const doc = globalThis.document;
  doc?.addEventListener('visibilitychange', () => {
    if (doc.visibilityState === 'visible') wake();
  });
}

// What the widget knows of the page it is on: the address and title (sent as session
// parameters, so the agent sees where the customer is), and what it keeps in the tab's
// sessionStorage across the site's pages (the window open or closed).

const PAGE_LIMIT = 256;

/** @returns {Record<string, string>} where the customer is, as session parameters */
export function pageContext() {
  return {
    pageUrl: location.href.slice(0, PAGE_LIMIT),
    pageTitle: (document.title || location.pathname).slice(0, PAGE_LIMIT),
  };
}

/** @param {string} key @returns {string | null} */
export function remembered(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

/** @param {string} key @param {string} value */
export function remember(key, value) {
  try {
    sessionStorage.setItem(key, value);
  } catch {
    // not kept: fine
  }
}

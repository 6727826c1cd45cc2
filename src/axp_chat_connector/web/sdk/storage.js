// Where the session token lives between page loads: the site's sessionStorage (one per tab;
// other tabs get it through the leader tab). Storage that throws (private modes, disabled
// cookies) degrades to memory.

/**
 * @typedef {object} SessionRecord
 * @property {string} sessionId
 * @property {string} token
 * @property {string} [expiresAt] ISO-8601
 * @property {number} seq the last seq delivered
 */

/**
 * @typedef {object} SessionStore
 * @property {() => SessionRecord | null} load
 * @property {(record: SessionRecord) => void} save
 * @property {() => void} clear
 */

/**
 * @param {unknown} value
 * @returns {value is SessionRecord}
 */
function isRecord(value) {
  if (!value || typeof value !== 'object') return false;
  const v = /** @type {Record<string, unknown>} */ (value);
  return typeof v.sessionId === 'string' && typeof v.token === 'string' && typeof v.seq === 'number';
}

/**
 * A store in `storage` (default: window.sessionStorage) under `key`; expired tokens are
 * forgotten when loaded.
 * @param {string} key
 * @param {Storage | null} [storage]
 * @param {() => number} [now]
 * @returns {SessionStore}
 */
export function browserSessionStore(key, storage, now = Date.now) {
  /** @type {Storage | null} */
  let backend = null;
  try {
    backend = storage === undefined ? globalThis.sessionStorage ?? null : storage;
  } catch {
    backend = null;
  }
  const memory = memorySessionStore();
  return {
    load() {
      let record = memory.load();
      try {
        const raw = backend?.getItem(key);
        if (raw) {
          const parsed = JSON.parse(raw);
          if (isRecord(parsed)) record = parsed;
        }
      } catch {
        // unreadable: fall back to memory
      }
      if (record?.expiresAt && Date.parse(record.expiresAt) <= now()) return null;
      return record;
    },
    save(record) {
      memory.save(record);
      try {
        backend?.setItem(key, JSON.stringify(record));
      } catch {
        // full or disabled: memory keeps it for this page
      }
    },
    clear() {
      memory.clear();
      try {
        backend?.removeItem(key);
      } catch {
        // nothing to do
      }
    },
  };
}

/** @returns {SessionStore} a store that lasts as long as the page */
export function memorySessionStore() {
  /** @type {SessionRecord | null} */
  let record = null;
  return {
    load: () => (record ? { ...record } : null),
    save(value) {
      record = { ...value };
    },
    clear() {
      record = null;
    },
  };
}

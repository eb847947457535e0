// store.js - the offline cache: one IndexedDB object store of key -> value.
// Keys: 'last' ({accountId, username}), '<account>:mailboxes' ({list, state}),
// '<account>:box:<mailboxId>' ({ids, total, emails, emailState}: the first
// pages of a folder as last seen). Everything is dropped at logout.
// Failures (private mode, quota) only cost the cache, never the app.

const DB = 'jmapgate';
let dbp = null;

function open() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('kv');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbp;
}

async function tx(mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const t = db.transaction('kv', mode);
    const r = fn(t.objectStore('kv'));
    t.oncomplete = () => resolve(r && r.result);
    t.onerror = () => reject(t.error);
  });
}

export async function get(key) {
  try { return await tx('readonly', (s) => s.get(key)); } catch { return undefined; }
}

export async function put(key, value) {
  try { await tx('readwrite', (s) => s.put(value, key)); } catch { /* cache only */ }
}

export async function clear() {
  try { await tx('readwrite', (s) => s.clear()); } catch { /* cache only */ }
}

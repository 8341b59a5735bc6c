// A small state store: one object, changed only through set(), which tells the
// subscribers of the keys that changed and saves the persistent keys to localStorage.

export function createStore(initial, { persist = [], storageKey = "redframe.settings" } = {}) {
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem(storageKey) || "{}") || {}; } catch { saved = {}; }
  const state = { ...initial };
  for (const k of persist) if (k in saved) state[k] = saved[k];
  const subs = new Map(); // key | "*" -> Set(fn)

  function save() {
    const out = {};
    for (const k of persist) out[k] = state[k];
    try { localStorage.setItem(storageKey, JSON.stringify(out)); } catch { /* private mode */ }
  }

  return {
    get state() { return state; },
    get(key) { return state[key]; },
    /** Change keys; subscribers of each changed key (and "*") are called once. */
    set(patch) {
      const changed = [];
      for (const [k, v] of Object.entries(patch)) {
        if (state[k] !== v || (typeof v === "object" && v !== null)) {
          state[k] = v;
          changed.push(k);
        }
      }
      if (!changed.length) return changed;
      if (changed.some((k) => persist.includes(k))) save();
      const called = new Set();
      for (const k of [...changed, "*"]) {
        for (const fn of subs.get(k) || []) {
          if (!called.has(fn)) { called.add(fn); fn(state, changed); }
        }
      }
      return changed;
    },
    /** Call fn(state, changedKeys) when one of keys changes; returns an unsubscribe. */
    on(keys, fn) {
      for (const k of [].concat(keys)) {
        if (!subs.has(k)) subs.set(k, new Set());
        subs.get(k).add(fn);
      }
      return () => { for (const k of [].concat(keys)) subs.get(k).delete(fn); };
    },
  };
}

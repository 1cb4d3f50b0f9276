/* Conversations kept in this browser (localStorage), so a reload or a closed tab loses nothing.
 * A conversation: {id, title, created, updated, scope: {documentId, label} | null,
 *   turns: [{question, filters, status: "pending"|"done"|"stopped"|"error", answer, partial, error}]}.
 * The newest MAX are kept; when the browser's quota is full the oldest go first. */

const KEY = "chidao.conversations.v1";
const CURRENT = "chidao.currentConversation";
const MAX = 50;

function readAll() {
  try {
    const data = JSON.parse(window.localStorage.getItem(KEY) || "[]");
    return Array.isArray(data) ? data.filter((c) => c && typeof c.id === "string" && Array.isArray(c.turns)) : [];
  } catch (_) {
    return [];
  }
}

function writeAll(list) {
  let kept = list.slice(0, MAX);
  for (;;) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify(kept));
      return true;
    } catch (_) {
      if (kept.length <= 1) return false; // even one conversation does not fit: keep the page working
      kept = kept.slice(0, -1);
    }
  }
}

/** All stored conversations, the most recently used first. */
export function conversations() {
  return readAll().sort((a, b) => (b.updated || 0) - (a.updated || 0));
}

export function conversation(id) {
  return readAll().find((c) => c.id === id) || null;
}

export function newConversation() {
  const now = Date.now();
  return { id: `c${now.toString(36)}${Math.random().toString(36).slice(2, 8)}`, title: "", created: now,
    updated: now, scope: null, turns: [] };
}

/** Store (or update) a conversation; empty ones are not kept. */
export function saveConversation(conv) {
  if (!conv.turns.length) return true;
  conv.updated = Date.now();
  if (!conv.title) conv.title = conv.turns[0].question.slice(0, 120);
  const others = readAll().filter((c) => c.id !== conv.id);
  window.localStorage.setItem(CURRENT, conv.id);
  return writeAll([conv, ...others.sort((a, b) => (b.updated || 0) - (a.updated || 0))]);
}

export function deleteConversation(id) {
  writeAll(readAll().filter((c) => c.id !== id));
  if (window.localStorage.getItem(CURRENT) === id) window.localStorage.removeItem(CURRENT);
}

/** The conversation open when the page was last used, if it is still stored. */
export function currentConversation() {
  const id = window.localStorage.getItem(CURRENT);
  return (id && conversation(id)) || null;
}

export function forgetCurrent() {
  window.localStorage.removeItem(CURRENT);
}

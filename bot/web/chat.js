/* The conversation: asking, stopping, regenerating, the document a question is limited to, and
 * keeping every conversation in the browser (store.js) so a reload shows it again. */

import { CONFIG, ChatError, describeFailure, streamChat } from "./api.js";
import { $, announce, el } from "./dom.js";
import { addUserMessage, answerText, botMessage } from "./message.js";
import * as store from "./store.js";
import { loadDocuments } from "./views.js";
import { closePanel } from "./panel.js";

const ui = {
  messages: $("messages"),
  welcome: $("welcome"),
  form: $("composer"),
  question: $("question"),
  send: $("send"),
  stop: $("stop"),
  scope: $("scope"),
  scopeLabel: $("scope-label"),
};
const PLACEHOLDER = ui.question.getAttribute("placeholder");

const state = {
  conv: store.newConversation(),
  busy: false,
  stop: null, // stops the answer in flight, keeping what was shown
  generation: 0, // bumped when another conversation is shown: stale callbacks check it
};

function setBusy(busy) {
  state.busy = busy;
  ui.send.disabled = busy;
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
  ui.form.setAttribute("aria-busy", String(busy));
  if (busy && document.activeElement === ui.send) ui.stop.focus();
}

export function stopAnswer() {
  if (state.stop) state.stop();
}

/** The user/assistant turns before turn ``index`` that were answered, as the API's history. */
function historyBefore(conv, index) {
  const turns = [];
  for (const turn of conv.turns.slice(0, index)) {
    if (turn.status !== "done" || !turn.answer) continue;
    turns.push({ role: "user", content: turn.question }, { role: "assistant", content: turn.answer.answer || "" });
  }
  return turns.slice(-CONFIG.historyTurns).map((t) => ({ role: t.role, content: t.content.slice(0, 20000) }));
}

function answerActions(conv, index) {
  const turn = conv.turns[index];
  return {
    copyText: () => answerText(turn),
    regenerate: index === conv.turns.length - 1 ? () => regenerate(conv, index) : null,
    loadDocuments,
  };
}

/** Ask a new question in this conversation; false when it cannot be asked now. */
export function ask(question) {
  const text = question.trim();
  if (!text || state.busy) return false;
  if (text.length > 2000) {
    announce("Câu hỏi quá dài (tối đa 2000 ký tự).");
    return false;
  }
  const conv = state.conv;
  const turn = { question: text, status: "pending" };
  if (conv.scope) turn.filters = { document_ids: [conv.scope.documentId] };
  conv.turns.push(turn);
  ui.welcome.hidden = true;
  addUserMessage(text);
  answer(conv, conv.turns.length - 1);
  return true;
}

function regenerate(conv, index) {
  if (state.busy || conv !== state.conv) return;
  const articles = ui.messages.querySelectorAll("article.msg.bot");
  const last = articles[articles.length - 1];
  if (last) last.remove();
  conv.turns[index] = { question: conv.turns[index].question, filters: conv.turns[index].filters, status: "pending" };
  answer(conv, index);
}

async function answer(conv, index) {
  const turn = conv.turns[index];
  for (const button of ui.messages.querySelectorAll(".action.regenerate")) button.remove();
  const view = botMessage(answerActions(conv, index));
  const generation = state.generation;
  const stale = () => generation !== state.generation;
  const controller = new AbortController();
  const info = { timedOut: false, stopped: false, received: false };
  state.stop = () => { info.stopped = true; controller.abort(); };
  let timer = 0;
  const arm = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => { info.timedOut = true; controller.abort(); }, CONFIG.timeoutMs);
  };
  store.saveConversation(conv);
  setBusy(true);
  announce("Đang tìm câu trả lời…");
  arm();
  try {
    const request = { message: turn.question, history: historyBefore(conv, index) };
    if (turn.filters) request.filters = turn.filters;
    const result = await streamChat(request, {
      signal: controller.signal, onDelta: (piece) => view.push(piece), onActivity: arm, isStale: stale });
    window.clearTimeout(timer);
    if (result === null) return;
    Object.assign(turn, { status: "done", answer: result });
    if (!stale()) await view.finish(result);
  } catch (err) {
    if (info.stopped) {
      Object.assign(turn, { status: "stopped", partial: view.shown() });
      if (!stale()) view.stop();
      return;
    }
    info.received = info.received || view.received;
    const message = describeFailure(err, info);
    Object.assign(turn, { status: "error", partial: view.shown(), error: message });
    if (stale()) return;
    view.fail(message, { needsKey: err instanceof ChatError && err.needsKey, retry: () => regenerate(conv, index) });
    announce("Lỗi: không nhận được câu trả lời.");
  } finally {
    window.clearTimeout(timer);
    store.saveConversation(conv);
    if (!stale()) {
      state.stop = null;
      setBusy(false);
    }
  }
}

/** Show a stored conversation as it was left. */
function showConversation(conv) {
  state.generation++;
  stopAnswer();
  state.stop = null;
  setBusy(false);
  state.conv = conv;
  for (const node of Array.from(ui.messages.children)) {
    if (node !== ui.welcome) node.remove();
  }
  ui.welcome.hidden = conv.turns.length > 0;
  conv.turns.forEach((turn, index) => {
    addUserMessage(turn.question);
    const view = botMessage(answerActions(conv, index));
    if (turn.status === "done" && turn.answer) view.finish(turn.answer);
    else if (turn.status === "stopped") {
      view.push(turn.partial || "");
      view.stop();
    } else {
      view.push(turn.partial || "");
      view.fail(turn.error || "Câu trả lời bị gián đoạn (trang đã được tải lại).",
        { retry: index === conv.turns.length - 1 ? () => regenerate(conv, index) : null });
    }
  });
  showScope();
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

export function newConversation(scope) {
  showConversation(Object.assign(store.newConversation(), { scope: scope || null }));
  store.forgetCurrent();
  closePanel();
  ui.question.value = "";
  ui.question.focus();
  announce(scope ? `Cuộc trò chuyện mới, chỉ hỏi trong ${scope.label}.` : "Đã bắt đầu cuộc trò chuyện mới.");
}

export function openConversation(id) {
  const conv = store.conversation(id);
  if (!conv) return false;
  showConversation(conv);
  store.saveConversation(conv);
  ui.question.focus();
  return true;
}

/** Limit the questions to one document (from its view): a new conversation unless this one is empty. */
export function askInDocument(scope) {
  if (state.conv.turns.length || state.busy) newConversation(scope);
  else {
    state.conv.scope = scope;
    showScope();
    ui.question.focus();
    announce(`Chỉ hỏi trong ${scope.label}.`);
  }
}

function showScope() {
  const scope = state.conv.scope;
  ui.scope.hidden = !scope;
  ui.scopeLabel.textContent = scope ? scope.label : "";
  ui.question.setAttribute("placeholder", scope ? `Hỏi về ${scope.label}…` : PLACEHOLDER);
}

function clearScope() {
  state.conv.scope = null;
  showScope();
  store.saveConversation(state.conv);
  ui.question.focus();
  announce("Đã bỏ giới hạn: hỏi trong tất cả văn bản.");
}

/** The conversation list (history view). */
export function renderHistory(list, onOpen) {
  const items = store.conversations();
  list.replaceChildren(...items.map((conv) => {
    const when = new Date(conv.updated || conv.created || Date.now());
    const open = el("button", { type: "button", class: "history-open", "aria-current": conv.id === state.conv.id ? "true" : null,
      onclick: () => onOpen(conv.id) },
    el("span", { class: "history-title", text: conv.title || conv.turns[0].question }),
    el("span", { class: "history-meta", text: `${conv.turns.length} câu hỏi · ${when.toLocaleString("vi-VN")}` +
      (conv.scope ? ` · ${conv.scope.label}` : "") }));
    const remove = el("button", { type: "button", class: "icon-btn history-delete", text: "✕",
      "aria-label": `Xóa cuộc trò chuyện: ${conv.title}`,
      onclick: () => { store.deleteConversation(conv.id); renderHistory(list, onOpen); } });
    return el("li", { class: "history-item" }, open, remove);
  }));
  return items.length;
}

export function initChat() {
  ui.stop.addEventListener("click", () => { stopAnswer(); ui.question.focus(); });
  $("scope-clear").addEventListener("click", clearScope);
  const saved = store.currentConversation();
  if (saved) showConversation(saved);
}

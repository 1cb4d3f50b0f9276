/* chidao web chat: streaming answers over SSE, sources one click away, conversations kept in the
 * browser. Plain browser JavaScript modules, no dependencies, no build step; everything is served
 * by chidao itself. The parts: api.js (HTTP, SSE), markdown.js (the answer's text as DOM),
 * message.js (one answer on screen), chat.js (the conversation), store.js (localStorage),
 * panel.js (sources and documents), views.js (documents and agencies lists). */

import { ask, askInDocument, initChat, newConversation, openConversation, renderHistory } from "./chat.js";
import { $, touchScreen } from "./dom.js";
import { initPanel } from "./panel.js";
import { loadAgencies, loadDocuments, renderAgencies } from "./views.js";

const ui = {
  form: $("composer"),
  question: $("question"),
  tabs: Array.from(document.querySelectorAll(".tab")),
  history: $("history-list"),
  historyStatus: $("history-status"),
};

function showView(id) {
  for (const tab of ui.tabs) {
    const active = tab.dataset.view === id;
    tab.setAttribute("aria-pressed", String(active));
    $(tab.dataset.view).hidden = !active;
  }
  if (id === "docs-view") loadDocuments();
  if (id === "agencies-view") loadAgencies();
  if (id === "history-view") showHistory();
}

function showHistory() {
  const count = renderHistory(ui.history, (id) => {
    if (openConversation(id)) showView("chat-view");
  });
  ui.historyStatus.textContent = count
    ? `${count} cuộc trò chuyện, lưu trên trình duyệt này (mới nhất trước).`
    : "Chưa có cuộc trò chuyện nào được lưu trên trình duyệt này.";
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (ask(ui.question.value)) ui.question.value = "";
});
ui.question.addEventListener("keydown", (event) => {
  // On a touch screen Enter starts a new line (its keyboard has no Shift); the Send button sends.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !touchScreen()) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});
$("new-chat").addEventListener("click", () => {
  newConversation(null);
  showView("chat-view");
});
ui.tabs.forEach((tab) => tab.addEventListener("click", () => showView(tab.dataset.view)));
$("docs-reload").addEventListener("click", loadDocuments);
$("agency-filter").addEventListener("input", renderAgencies);
initPanel({ onAskInDocument: (scope) => { showView("chat-view"); askInDocument(scope); } });
initChat();
loadDocuments();
ui.question.focus();

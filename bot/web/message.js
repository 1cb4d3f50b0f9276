/* One question and its answer on screen: the answer grows as it streams, then settles as an
 * answer (citations, sources, copy, regenerate, feedback), a stopped answer, or an error. */

import { apiFetch, describeFailure, httpError, KEY_STORAGE } from "./api.js";
import { $, announce, docLabel, el, scroll, sectionPath } from "./dom.js";
import { markdownText, renderMarkdown } from "./markdown.js";
import { openCitation } from "./panel.js";

const messages = $("messages");
let nextId = 1;

const ICONS = {
  copy: ["M20 9h-9a2 2 0 0 0-2 2v9a2 2 0 0 0 2 2h9a2 2 0 0 0 2-2v-9a2 2 0 0 0-2-2z",
    "M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1"],
  redo: ["M23 4v6h-6", "M20.49 15a9 9 0 1 1-2.12-9.36L23 10"],
  up: ["M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z", "M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3"],
  down: ["M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z", "m17 2h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17"],
};

export function addUserMessage(text) {
  const node = el("div", { class: "msg user" },
    el("div", { class: "bubble" }, el("span", { class: "visually-hidden", text: "Câu hỏi: " }), text));
  messages.append(node);
  scroll(node, "end");
  return node;
}

const pendingCite = (n) => el("span", { class: "cite cite-pending", text: `[${n}]` });

/** An assistant message. ``actions``: {copyText(), regenerate() or null, loadDocuments()}. */
export function botMessage(actions) {
  const id = `m${nextId++}`;
  const article = el("article", { class: "msg bot pending", id, "aria-busy": "true", "aria-label": "Câu trả lời" });
  const bubble = el("div", { class: "bubble" });
  const text = el("div", { class: "answer-text" });
  const working = el("p", { class: "working", role: "status" },
    el("span", { class: "spinner", "aria-hidden": "true" }),
    el("span", { class: "working-label", text: "Đang tìm trong văn bản…" }));
  bubble.append(text, working);
  article.append(bubble);
  messages.append(article);
  scroll(article, "end");

  let shown = "";
  let received = "";
  const queue = [];
  let scheduled = false;
  let renders = 0;
  let drainedResolve = null;

  function draw(partial) {
    text.replaceChildren(renderMarkdown(shown, { cite: pendingCite, partial }));
    if (partial) text.append(el("span", { class: "caret", "aria-hidden": "true" }));
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    if (document.hidden) window.setTimeout(step, 0);
    else window.requestAnimationFrame(step);
  }

  // One render per frame; a burst of pieces drains within a few frames, so the answer
  // visibly grows even when the server sends everything at once.
  function step() {
    scheduled = false;
    if (!queue.length) return;
    const take = document.hidden ? queue.length : Math.max(1, Math.ceil(queue.length / 6));
    shown += queue.splice(0, take).join("");
    article.dataset.renders = String(++renders);
    draw(true);
    const nearBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 120;
    if (nearBottom) messages.scrollTop = messages.scrollHeight;
    if (queue.length) schedule();
    else if (drainedResolve) { drainedResolve(); drainedResolve = null; }
  }

  function drained() {
    if (!queue.length) return Promise.resolve();
    return new Promise((resolve) => { drainedResolve = resolve; });
  }

  function settle() {
    if (queue.length) shown += queue.splice(0).join("");
    article.classList.remove("pending", "streaming");
    article.removeAttribute("aria-busy");
    working.remove();
  }

  return {
    article,
    get received() { return received.length > 0; },
    shown: () => shown,
    push(piece) {
      if (!piece) return;
      received += piece;
      article.classList.add("streaming");
      working.querySelector(".working-label").textContent = "Đang trả lời…";
      queue.push(piece);
      schedule();
    },
    async finish(answer) {
      await drained();
      const nearBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 120;
      settle();
      renderAnswer(article, bubble, text, answer, actions);
      if (nearBottom) messages.scrollTop = messages.scrollHeight;
    },
    /** Stopped by the officer: what was shown stays. */
    stop() {
      settle();
      article.classList.add("stopped");
      article.setAttribute("aria-label", "Câu trả lời đã dừng");
      if (shown.trim()) draw(false);
      else text.remove();
      bubble.append(el("p", { class: "stopped-note", text: shown.trim()
        ? "Đã dừng. Phần câu trả lời đã hiện được giữ lại." : "Đã dừng trước khi có câu trả lời." }),
      actionBar(actions, shown.trim() !== ""));
      announce("Đã dừng câu trả lời.");
    },
    fail(message, options) {
      settle();
      article.classList.add("error");
      article.setAttribute("aria-label", "Lỗi");
      if (!shown.trim()) text.remove();
      else {
        draw(false);
        text.classList.add("incomplete");
      }
      bubble.append(errorBox(message, options, actions));
      scroll(article, "end");
    },
  };
}

function renderAnswer(article, bubble, text, answer, actions) {
  const citations = new Map((answer.citations || []).map((c) => [Number(c.n), c]));
  const answered = answer.answered !== false;
  article.classList.add(answered ? "answered" : "notfound");
  article.setAttribute("aria-label", answered ? "Câu trả lời" : "Không tìm thấy câu trả lời");
  text.replaceChildren(renderMarkdown(answer.answer || "", {
    partial: false,
    cite: (n) => {
      const c = citations.get(n);
      if (!c) return null;
      return el("a", { class: "cite", href: `#${article.id}-src-${n}`, "data-n": n,
        "aria-label": `Xem nguồn ${n}: ${docLabel(c)}, mục ${sectionPath(c)}`, text: `[${n}]` });
    },
  }));
  if (answer.note) text.append(el("p", { class: "answer-note", text: answer.note }));
  if (!answered) {
    bubble.prepend(el("p", { class: "notfound-badge" },
      el("span", { class: "notfound-icon", "aria-hidden": "true", text: "!" }),
      "Không tìm thấy trong văn bản đã nạp"));
  }
  if (citations.size) bubble.append(sourceList(article, [...citations.values()]));
  bubble.append(actionBar(actions, true));
  if (answer.answer_id) bubble.append(feedbackBar(answer.answer_id));
  text.addEventListener("click", (event) => {
    const link = event.target.closest("a.cite");
    if (!link) return;
    event.preventDefault();
    openCitation(citations.get(Number(link.dataset.n)), link);
  });
  announce(answered ? `Đã có câu trả lời, ${citations.size} nguồn trích dẫn.` : "Không tìm thấy câu trả lời trong văn bản đã nạp.");
}

function sourceList(article, citations) {
  const list = el("ol", { class: "sources", "aria-label": "Nguồn trích dẫn" });
  for (const c of citations) {
    const link = el("a", { class: "source-link", href: "#", "data-n": c.n },
      el("span", { class: "source-n", text: `[${c.n}]` }),
      el("span", { class: "source-doc" }, el("strong", { text: docLabel(c) }), c.title ? ` – ${c.title}` : ""),
      el("span", { class: "source-section", text: `Mục: ${sectionPath(c)}` }));
    link.addEventListener("click", (event) => { event.preventDefault(); openCitation(c, link); });
    list.append(el("li", { id: `${article.id}-src-${c.n}` }, link));
  }
  return el("div", { class: "sources-wrap" }, el("p", { class: "sources-title", text: "Nguồn" }), list);
}

/** Copy (answer with its sources) and regenerate (the latest answer only). */
function actionBar(actions, canCopy) {
  const status = el("span", { class: "action-status", role: "status" });
  const bar = el("div", { class: "answer-actions", role: "group", "aria-label": "Thao tác với câu trả lời" });
  if (canCopy) {
    bar.append(el("button", { type: "button", class: "action copy", svg: ICONS.copy, title: "Sao chép câu trả lời và nguồn",
      "aria-label": "Sao chép câu trả lời và nguồn",
      onclick: async (event) => {
        const ok = await copyToClipboard(actions.copyText(), event.currentTarget);
        status.textContent = ok ? "Đã sao chép." : "Trình duyệt không cho sao chép; hãy chọn và sao chép thủ công.";
      } }, el("span", { text: "Sao chép" })));
  }
  if (actions.regenerate) {
    bar.append(el("button", { type: "button", class: "action regenerate", svg: ICONS.redo, title: "Tạo lại câu trả lời",
      "aria-label": "Tạo lại câu trả lời", onclick: actions.regenerate }, el("span", { text: "Tạo lại" })));
  }
  bar.append(status);
  return bar;
}

/** The clipboard API where the page is a secure context (https, localhost); elsewhere (http on
 * the office network) the older copy command, which still works there. */
async function copyToClipboard(text, returnFocus) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_) { /* fall back below */ }
  }
  const area = el("textarea", { class: "clipboard-buffer", readonly: true, "aria-hidden": "true", tabindex: "-1" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
  area.remove();
  if (returnFocus) returnFocus.focus();
  return ok;
}

/** Plain text of an answer (or of what was shown before it stopped) with its numbered sources. */
export function answerText(turn) {
  if (turn.status !== "done" || !turn.answer) {
    return `${markdownText(turn.partial || "")}\n\n(Câu trả lời đã dừng giữa chừng.)`;
  }
  const answer = turn.answer;
  const parts = [markdownText(answer.answer || "")];
  if (answer.note) parts.push(answer.note);
  const cited = [...(answer.citations || [])].sort((a, b) => a.n - b.n);
  if (cited.length) {
    parts.push(["Nguồn:", ...cited.map((c) =>
      `[${c.n}] ${docLabel(c)}${c.title ? ` – ${c.title}` : ""}, mục ${sectionPath(c)}`)].join("\n"));
  }
  return parts.join("\n\n");
}

function errorBox(message, options, actions) {
  const box = el("div", { class: "error-box", role: "alert" },
    el("p", { class: "error-title", text: "Không nhận được câu trả lời" }),
    el("p", { class: "error-message", text: message }));
  if (options.needsKey) box.append(keyForm(options.retry, actions.loadDocuments));
  else if (options.retry) {
    box.append(el("button", { type: "button", class: "btn btn-small btn-outline", onclick: options.retry, text: "Thử lại" }));
  }
  return box;
}

function keyForm(retry, loadDocuments) {
  const input = el("input", { type: "password", id: `key-${nextId++}`, autocomplete: "off", required: true });
  const form = el("form", { class: "key-form" },
    el("label", { for: input.id, text: "Khóa truy cập" }), input,
    el("button", { type: "submit", class: "btn btn-small", text: "Lưu khóa và thử lại" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    window.localStorage.setItem(KEY_STORAGE, input.value.trim());
    loadDocuments();
    if (retry) retry();
  });
  return form;
}

function feedbackBar(answerId) {
  const status = el("span", { class: "feedback-status", role: "status" });
  const bar = el("div", { class: "feedback", role: "group", "aria-label": "Đánh giá câu trả lời" },
    el("span", { class: "feedback-question", text: "Câu trả lời có hữu ích?" }));
  const buttons = [["up", "Hữu ích"], ["down", "Chưa hữu ích"]].map(([rating, label]) => {
    const button = el("button", { type: "button", class: `thumb thumb-${rating}`, "data-rating": rating,
      "aria-pressed": "false", "aria-label": label, title: label, svg: ICONS[rating] });
    button.addEventListener("click", () => rate(answerId, rating, buttons, status));
    return button;
  });
  bar.append(...buttons, status);
  return bar;
}

async function rate(answerId, rating, buttons, status) {
  buttons.forEach((b) => { b.disabled = true; });
  status.className = "feedback-status";
  status.textContent = "Đang gửi đánh giá…";
  try {
    const response = await apiFetch("/api/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ answer_id: answerId, rating }),
    });
    if (!response.ok) throw await httpError(response);
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.rating === rating)));
    status.textContent = "Cảm ơn, đã ghi nhận đánh giá.";
    status.classList.add("ok");
  } catch (err) {
    status.textContent = `Không gửi được đánh giá: ${describeFailure(err, {})}`;
    status.classList.add("failed");
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

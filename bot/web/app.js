/* chidao web chat: streaming answers over SSE, sources one click away, thumbs up/down.
 * Plain browser JavaScript, no dependencies, no build step; everything is served by chidao itself.
 * Tests may set window.CHIDAO_CONFIG = {timeoutMs} before this script runs. */
(() => {
  "use strict";

  const CONFIG = Object.assign({ timeoutMs: 60000, historyTurns: 20 }, window.CHIDAO_CONFIG || {});
  const KEY_STORAGE = "chidao.apiKey";

  const $ = (id) => document.getElementById(id);
  const ui = {
    layout: $("layout"),
    messages: $("messages"),
    welcome: $("welcome"),
    corpus: $("corpus-status"),
    form: $("composer"),
    question: $("question"),
    send: $("send"),
    newChat: $("new-chat"),
    tabs: Array.from(document.querySelectorAll(".tab")),
    docsList: $("docs-list"),
    docsStatus: $("docs-status"),
    docsReload: $("docs-reload"),
    agenciesList: $("agencies-list"),
    agenciesStatus: $("agencies-status"),
    agencyTasks: $("agency-tasks"),
    agencyFilter: $("agency-filter"),
    panel: $("source-panel"),
    panelTitle: $("source-title"),
    panelBody: $("source-body"),
    closePanel: $("close-source"),
    announcer: $("announcer"),
  };

  const state = {
    history: [], // [{role, content}] of completed turns, sent with each question
    busy: false,
    controller: null, // AbortController of the answer in flight
    generation: 0, // bumped by "new conversation": stale callbacks check it
    nextId: 1,
    documents: new Map(), // id -> Promise of GET /api/documents/{id}
    agencies: [], // GET /api/agencies, filtered in the agencies view
    returnFocus: null,
  };

  /* ---------- small helpers ---------- */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "html") node.innerHTML = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function announce(text) {
    ui.announcer.textContent = "";
    window.setTimeout(() => { ui.announcer.textContent = text; }, 50);
  }

  /** "2025-12-17" → "17/12/2025"; "2026-02" → "tháng 02/2026"; "2026" → "năm 2026". */
  function formatDate(iso) {
    if (!iso) return "";
    const parts = String(iso).split("-");
    if (parts.length === 3) return `${parts[2]}/${parts[1]}/${parts[0]}`;
    if (parts.length === 2) return `tháng ${parts[1]}/${parts[0]}`;
    return `năm ${parts[0]}`;
  }

  function docLabel(d) {
    const number = d.doc_number ? ` ${d.doc_number}` : "";
    return `${d.doc_type || "Văn bản"}${number}`.trim();
  }

  function sectionPath(c) {
    const headings = (c.headings || []).filter(Boolean);
    return headings.length ? headings.join(" › ") : c.section || "";
  }

  function scroll(node, block) {
    node.scrollIntoView({ block: block || "nearest", behavior: "auto" });
  }

  /* ---------- HTTP ---------- */

  class ChatError extends Error {
    constructor(message, options) {
      super(message);
      this.needsKey = Boolean(options && options.needsKey);
    }
  }

  function apiFetch(path, options) {
    const opts = Object.assign({}, options || {});
    const headers = Object.assign({}, opts.headers || {});
    const key = window.localStorage.getItem(KEY_STORAGE);
    if (key) headers["X-API-Key"] = key;
    opts.headers = headers;
    return window.fetch(path, opts);
  }

  async function httpError(response) {
    let detail = "";
    try {
      const body = await response.json();
      if (body && typeof body.detail === "string") detail = body.detail;
    } catch (_) { /* not JSON: keep the status alone */ }
    const code = response.status;
    if (code === 401 || code === 403) {
      return new ChatError(detail || "Máy chủ yêu cầu khóa truy cập.", { needsKey: true });
    }
    if (code === 422) return new ChatError(detail || "Câu hỏi không hợp lệ.");
    if (code === 413) return new ChatError("Câu hỏi hoặc lịch sử trò chuyện quá dài.");
    if (code === 404) return new ChatError(detail || `Không tìm thấy địa chỉ trên máy chủ (mã ${code}).`);
    if (code >= 500) return new ChatError(`Máy chủ gặp lỗi (mã ${code}). Vui lòng thử lại sau.${detail ? " " + detail : ""}`);
    return new ChatError(`Yêu cầu không thành công (mã ${code}).${detail ? " " + detail : ""}`);
  }

  function describeFailure(err, info) {
    if (err instanceof ChatError) return err.message;
    if (info.timedOut) return `Máy chủ không phản hồi sau ${Math.round(CONFIG.timeoutMs / 1000)} giây. Vui lòng thử lại.`;
    if (err && err.name === "AbortError") return "Đã dừng câu trả lời.";
    if (err instanceof SyntaxError) return "Máy chủ trả về dữ liệu không đọc được. Vui lòng thử lại.";
    if (info.received) return "Kết nối tới máy chủ bị ngắt giữa chừng. Vui lòng thử lại.";
    return "Không kết nối được máy chủ chidao. Kiểm tra máy chủ đã chạy và mạng nội bộ, rồi thử lại.";
  }

  /** Server-Sent Events from a fetch response: yields {event, data}; calls onChunk on every read. */
  async function* sseEvents(response, onChunk) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        onChunk();
        buffer += decoder.decode(value, { stream: true });
        let boundary;
        while ((boundary = /\r?\n\r?\n/.exec(buffer))) {
          const block = buffer.slice(0, boundary.index);
          buffer = buffer.slice(boundary.index + boundary[0].length);
          const event = parseSseBlock(block);
          if (event) yield event;
        }
      }
      buffer += decoder.decode();
      const last = parseSseBlock(buffer);
      if (last) yield last;
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  function parseSseBlock(block) {
    let event = "message";
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    return data.length ? { event, data: data.join("\n") } : null;
  }

  /* ---------- light markdown: **bold**, *italic*, “quotes”, paragraphs, [n] ---------- */

  function dropDanglingMarks(text) {
    // While streaming, an opened ** or * whose closing mark has not arrived yet is hidden.
    let s = text;
    if ((s.split("**").length - 1) % 2 === 1) {
      const i = s.lastIndexOf("**");
      s = s.slice(0, i) + s.slice(i + 2);
    }
    const singles = [];
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== "*") continue;
      if (s[i + 1] === "*") { i++; continue; }
      singles.push(i);
    }
    if (singles.length % 2 === 1) {
      const i = singles[singles.length - 1];
      s = s.slice(0, i) + s.slice(i + 1);
    }
    return s;
  }

  function markQuotes(html) {
    // Outermost “…” only (quotes nest: a quoted passage may itself quote a title).
    let out = "";
    let depth = 0;
    for (const ch of html) {
      if (ch === "“") {
        if (depth === 0) out += '<span class="quoted">';
        depth++;
        out += ch;
      } else if (ch === "”" && depth > 0) {
        out += ch;
        depth--;
        if (depth === 0) out += "</span>";
      } else {
        out += ch;
      }
    }
    if (depth > 0) out += "</span>";
    return out;
  }

  function renderInline(html, cite) {
    return markQuotes(html)
      .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*])\*(?=\S)([^*]*?\S)\*(?!\*)/g, "$1<em>$2</em>")
      .replace(/\[(\d{1,3})\]/g, (match, n) => cite(Number(n)) || match)
      .replace(/\n/g, "<br>");
  }

  /** ``cite(n)`` returns the HTML for marker [n], or "" to leave it as text. */
  function renderMarkdown(text, cite, partial) {
    const source = partial ? dropDanglingMarks(text) : text;
    return escapeHtml(source.trim())
      .split(/\n{2,}/)
      .filter((p) => p.trim())
      .map((p) => `<p>${renderInline(p.trim(), cite)}</p>`)
      .join("");
  }

  /* ---------- conversation ---------- */

  function hideWelcome() {
    ui.welcome.hidden = true;
  }

  function addUserMessage(text) {
    const node = el("div", { class: "msg user" },
      el("div", { class: "bubble" }, el("span", { class: "visually-hidden", text: "Câu hỏi: " }), text));
    ui.messages.append(node);
    scroll(node, "end");
  }

  /** An assistant message: shows it is working, renders deltas progressively, then the final answer. */
  function botMessage() {
    const id = `m${state.nextId++}`;
    const article = el("article", { class: "msg bot pending", id, "aria-busy": "true", "aria-label": "Câu trả lời" });
    const bubble = el("div", { class: "bubble" });
    const text = el("div", { class: "answer-text" });
    const working = el("p", { class: "working", role: "status" },
      el("span", { class: "spinner", "aria-hidden": "true" }),
      el("span", { class: "working-label", text: "Đang tìm trong văn bản…" }));
    bubble.append(text, working);
    article.append(bubble);
    ui.messages.append(article);
    scroll(article, "end");

    let shown = "";
    let received = "";
    const queue = [];
    let scheduled = false;
    let renders = 0;
    let drainedResolve = null;

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
      renders++;
      article.dataset.renders = String(renders);
      text.innerHTML = renderMarkdown(shown, (n) => `<span class="cite cite-pending">[${n}]</span>`, true) +
        '<span class="caret" aria-hidden="true"></span>';
      const nearBottom = ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 120;
      if (nearBottom) ui.messages.scrollTop = ui.messages.scrollHeight;
      if (queue.length) schedule();
      else if (drainedResolve) { drainedResolve(); drainedResolve = null; }
    }

    function drained() {
      if (!queue.length) return Promise.resolve();
      return new Promise((resolve) => { drainedResolve = resolve; });
    }

    function settle() {
      article.classList.remove("pending");
      article.removeAttribute("aria-busy");
      working.remove();
      const caret = text.querySelector(".caret");
      if (caret) caret.remove();
    }

    return {
      article,
      get received() { return received.length > 0; },
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
        const box = ui.messages;
        const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
        settle();
        renderAnswer(article, bubble, text, answer);
        if (nearBottom) box.scrollTop = box.scrollHeight;
      },
      fail(message, options) {
        if (queue.length) {
          shown += queue.splice(0).join("");
          text.innerHTML = renderMarkdown(shown, (n) => `<span class="cite cite-pending">[${n}]</span>`, true);
        }
        settle();
        article.classList.add("error");
        article.setAttribute("aria-label", "Lỗi");
        if (!shown.trim()) text.remove();
        else text.classList.add("incomplete");
        bubble.append(errorBox(message, options));
        scroll(article, "end");
      },
    };
  }

  function errorBox(message, options) {
    const box = el("div", { class: "error-box", role: "alert" },
      el("p", { class: "error-title", text: "Không nhận được câu trả lời" }),
      el("p", { class: "error-message", text: message }));
    if (options.needsKey) box.append(keyForm(options.retry));
    else if (options.retry) {
      box.append(el("button", { type: "button", class: "btn btn-small btn-outline", onclick: options.retry, text: "Thử lại" }));
    }
    return box;
  }

  function keyForm(retry) {
    const input = el("input", { type: "password", id: `key-${state.nextId++}`, autocomplete: "off", required: true });
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

  function renderAnswer(article, bubble, text, answer) {
    const citations = new Map((answer.citations || []).map((c) => [Number(c.n), c]));
    const answered = answer.answered !== false;
    article.classList.remove("streaming");
    article.classList.add(answered ? "answered" : "notfound");
    article.setAttribute("aria-label", answered ? "Câu trả lời" : "Không tìm thấy câu trả lời");
    text.innerHTML = renderMarkdown(answer.answer || "", (n) => {
      const c = citations.get(n);
      if (!c) return "";
      const label = `Xem nguồn ${n}: ${docLabel(c)}, mục ${sectionPath(c)}`;
      return `<a class="cite" href="#${article.id}-src-${n}" data-n="${n}" aria-label="${escapeHtml(label)}">[${n}]</a>`;
    }, false);
    if (!answered) {
      bubble.prepend(el("p", { class: "notfound-badge" },
        el("span", { class: "notfound-icon", "aria-hidden": "true", text: "!" }),
        "Không tìm thấy trong văn bản đã nạp"));
    }
    if (citations.size) bubble.append(sourceList(article, [...citations.values()]));
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

  function feedbackBar(answerId) {
    const status = el("span", { class: "feedback-status", role: "status" });
    const bar = el("div", { class: "feedback", role: "group", "aria-label": "Đánh giá câu trả lời" },
      el("span", { class: "feedback-question", text: "Câu trả lời có hữu ích?" }));
    const buttons = [["up", "Hữu ích", THUMB_UP], ["down", "Chưa hữu ích", THUMB_DOWN]].map(([rating, label, icon]) => {
      const button = el("button", {
        type: "button", class: `thumb thumb-${rating}`, "data-rating": rating, "aria-pressed": "false",
        "aria-label": label, title: label, html: icon,
      });
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

  // Thumb icons after Feather Icons (MIT licence), drawn inline: no external files.
  const SVG_OPEN = '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false" ' +
    'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">';
  const THUMB_UP = SVG_OPEN + '<path d="M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3z' +
    'M7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3"/></svg>';
  const THUMB_DOWN = SVG_OPEN + '<path d="M10 15v4a3 3 0 0 0 3 3l4-9V2H5.72a2 2 0 0 0-2 1.7l-1.38 9a2 2 0 0 0 2 2.3z' +
    'm7-13h2.67A2.31 2.31 0 0 1 22 4v7a2.31 2.31 0 0 1-2.33 2H17"/></svg>';

  function setBusy(busy) {
    state.busy = busy;
    ui.send.disabled = busy;
    ui.send.textContent = busy ? "Đang trả lời…" : "Gửi";
    ui.form.setAttribute("aria-busy", String(busy));
  }

  async function ask(question) {
    const text = question.trim();
    if (!text || state.busy) return;
    if (text.length > 2000) {
      announce("Câu hỏi quá dài (tối đa 2000 ký tự).");
      return;
    }
    hideWelcome();
    addUserMessage(text);
    const view = botMessage();
    const history = state.history.slice(-CONFIG.historyTurns)
      .map((t) => ({ role: t.role, content: t.content.slice(0, 20000) }));
    const generation = state.generation;
    const controller = new AbortController();
    state.controller = controller;
    const info = { timedOut: false, received: false };
    let timer = 0;
    const arm = () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => { info.timedOut = true; controller.abort(); }, CONFIG.timeoutMs);
    };
    setBusy(true);
    announce("Đang tìm câu trả lời…");
    arm();
    try {
      const response = await apiFetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({ message: text, history, stream: true }),
        signal: controller.signal,
      });
      if (!response.ok) throw await httpError(response);
      if (!(response.headers.get("content-type") || "").includes("text/event-stream") || !response.body) {
        throw new ChatError("Máy chủ trả về dữ liệu không đúng định dạng. Vui lòng thử lại.");
      }
      let answer = null;
      for await (const event of sseEvents(response, arm)) {
        if (generation !== state.generation) return;
        if (event.event === "delta") {
          info.received = true;
          view.push(JSON.parse(event.data).text || "");
        } else if (event.event === "answer") {
          answer = JSON.parse(event.data);
          break;
        } else if (event.event === "error") {
          let detail = "";
          try { detail = JSON.parse(event.data).detail || ""; } catch (_) { /* keep the default */ }
          throw new ChatError(detail || "Lỗi máy chủ khi tạo câu trả lời. Vui lòng thử lại.");
        }
      }
      window.clearTimeout(timer);
      if (!answer) {
        throw new ChatError("Kết nối tới máy chủ bị ngắt trước khi có câu trả lời đầy đủ. Vui lòng thử lại.");
      }
      await view.finish(answer);
      if (generation !== state.generation) return;
      state.history.push({ role: "user", content: text }, { role: "assistant", content: answer.answer || "" });
    } catch (err) {
      if (generation !== state.generation) return;
      info.received = info.received || view.received;
      view.fail(describeFailure(err, info), {
        needsKey: err instanceof ChatError && err.needsKey,
        retry: () => { if (!state.busy) ask(text); },
      });
      announce("Lỗi: không nhận được câu trả lời.");
    } finally {
      window.clearTimeout(timer);
      if (generation === state.generation) {
        state.controller = null;
        setBusy(false);
      }
    }
  }

  function newConversation() {
    state.generation++;
    if (state.controller) state.controller.abort();
    state.controller = null;
    state.history = [];
    setBusy(false);
    for (const node of Array.from(ui.messages.children)) {
      if (node !== ui.welcome) node.remove();
    }
    ui.welcome.hidden = false;
    closePanel();
    showView("chat-view");
    ui.question.value = "";
    ui.question.focus();
    announce("Đã bắt đầu cuộc trò chuyện mới.");
  }

  /* ---------- source panel ---------- */

  function loadDocument(id) {
    if (!state.documents.has(id)) {
      const promise = apiFetch(`/api/documents/${encodeURIComponent(id)}`).then(async (response) => {
        if (!response.ok) throw await httpError(response);
        return response.json();
      });
      promise.catch(() => state.documents.delete(id));
      state.documents.set(id, promise);
    }
    return state.documents.get(id);
  }

  function openPanel(title, opener) {
    state.returnFocus = opener || null;
    ui.panelTitle.textContent = title;
    ui.panelBody.replaceChildren(el("p", { class: "panel-loading", role: "status", text: "Đang mở văn bản…" }));
    ui.panel.hidden = false;
    ui.layout.classList.add("with-panel");
    document.body.classList.add("panel-open");
    ui.panel.focus({ preventScroll: true });
  }

  function closePanel() {
    if (ui.panel.hidden) return;
    ui.panel.hidden = true;
    ui.layout.classList.remove("with-panel");
    document.body.classList.remove("panel-open");
    if (state.returnFocus && document.contains(state.returnFocus)) state.returnFocus.focus();
    state.returnFocus = null;
  }

  function metaList(rows) {
    const dl = el("dl", { class: "meta" });
    for (const [term, value] of rows) {
      if (!value) continue;
      dl.append(el("dt", { text: term }), el("dd", { text: value }));
    }
    return dl;
  }

  function documentHeader(doc, extraRows) {
    return [
      el("p", { class: "doc-kind", text: docLabel(doc) }),
      el("h3", { class: "doc-title", text: doc.title || doc.source || doc.id }),
      metaList([
        ["Số hiệu", doc.doc_number || "(chưa có số)"],
        ["Ngày ban hành", formatDate(doc.date) || doc.date_text || "(không ghi)"],
        ["Cơ quan ban hành", doc.issuer],
        ["Người ký", doc.signer],
        ...extraRows,
        ["Tệp", doc.source],
      ]),
    ];
  }

  function findQuote(text, quote) {
    if (!quote) return null;
    const at = text.indexOf(quote);
    if (at >= 0) return [at, at + quote.length];
    // Tolerate whitespace differences (line breaks in the passage, spaces in the quote).
    const pattern = quote.trim().split(/\s+/).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s+");
    const match = pattern ? new RegExp(pattern).exec(text) : null;
    return match ? [match.index, match.index + match[0].length] : null;
  }

  function passageNode(passage, quote, cited) {
    const node = el("div", { class: `passage${cited ? " cited" : ""}`, "data-chunk-id": passage.chunk_id });
    const span = cited ? findQuote(passage.text, quote) : null;
    if (span) {
      node.append(
        passage.text.slice(0, span[0]),
        el("mark", { class: "quote-mark", text: passage.text.slice(span[0], span[1]) }),
        passage.text.slice(span[1]));
    } else {
      node.textContent = passage.text;
    }
    return { node, marked: Boolean(span) };
  }

  async function openCitation(citation, opener) {
    if (!citation) return;
    openPanel(`Nguồn [${citation.n}]`, opener);
    const token = Symbol("panel");
    openCitation.token = token;
    let doc;
    try {
      doc = await loadDocument(citation.document_id);
    } catch (err) {
      if (openCitation.token !== token) return;
      ui.panelBody.replaceChildren(
        el("p", { class: "error-box", role: "alert", text: `Không mở được văn bản: ${describeFailure(err, {})}` }),
        el("p", { class: "panel-subtitle", text: "Đoạn được trích:" }),
        el("blockquote", { class: "fallback-quote", text: citation.quote }));
      return;
    }
    if (openCitation.token !== token) return;
    const passages = (doc.passages || []).filter((p) => p.section === citation.section);
    if (!passages.some((p) => p.chunk_id === citation.chunk_id)) {
      const own = (doc.passages || []).find((p) => p.chunk_id === citation.chunk_id);
      if (own) passages.push(own);
    }
    const box = el("div", { class: "section-passages", role: "region", "aria-label": "Nội dung mục được trích" });
    let mark = null;
    for (const passage of passages) {
      const { node, marked } = passageNode(passage, citation.quote, passage.chunk_id === citation.chunk_id);
      box.append(node);
      if (marked && !mark) mark = node.querySelector("mark");
    }
    const parts = [
      ...documentHeader(doc, [["Mục", sectionPath(citation)]]),
      el("h4", { class: "panel-subtitle", text: "Đoạn trích trong mục" }),
      box,
    ];
    if (!mark) {
      parts.push(el("p", { class: "panel-note", text: "Đoạn được trích:" }),
        el("blockquote", { class: "fallback-quote", text: citation.quote }));
    }
    parts.push(fullText(doc));
    ui.panelBody.replaceChildren(...parts);
    ui.panelBody.scrollTop = 0;
    if (mark) revealInPanel(mark);
  }

  /** Scroll the panel only when the quote's start is out of view, keeping the document's header when it fits. */
  function revealInPanel(mark) {
    const body = ui.panelBody.getBoundingClientRect();
    const top = mark.getBoundingClientRect().top;
    if (top < body.top || top > body.bottom - 48) mark.scrollIntoView({ block: "start" });
  }

  function fullText(doc) {
    return el("details", { class: "fulltext" },
      el("summary", { text: "Toàn văn văn bản" }),
      el("div", { class: "fulltext-body", text: doc.text || "" }));
  }

  async function openDocument(summary, opener) {
    openPanel("Văn bản", opener);
    const token = Symbol("panel");
    openCitation.token = token;
    try {
      const doc = await loadDocument(summary.id);
      if (openCitation.token !== token) return;
      const tree = sectionTree(doc.sections || []);
      const body = el("details", { class: "fulltext", open: true },
        el("summary", { text: "Toàn văn văn bản" }),
        el("div", { class: "fulltext-body", text: doc.text || "" }));
      ui.panelBody.replaceChildren(...documentHeader(doc, [["Số đoạn", String((doc.passages || []).length)]]),
        el("h4", { class: "panel-subtitle", text: "Bố cục" }), tree, body);
    } catch (err) {
      if (openCitation.token !== token) return;
      ui.panelBody.replaceChildren(
        el("p", { class: "error-box", role: "alert", text: `Không mở được văn bản: ${describeFailure(err, {})}` }));
    }
  }

  function sectionTree(sections) {
    const list = el("ul", { class: "tree" });
    for (const s of sections) {
      const item = el("li", {}, s.heading || s.section);
      if (s.children && s.children.length) item.append(sectionTree(s.children));
      list.append(item);
    }
    return list;
  }

  /* ---------- documents view ---------- */

  async function loadDocuments() {
    ui.docsStatus.textContent = "Đang tải danh sách văn bản…";
    ui.docsStatus.classList.remove("failed");
    ui.docsList.replaceChildren();
    try {
      const response = await apiFetch("/api/documents");
      if (!response.ok) throw await httpError(response);
      const docs = await response.json();
      ui.corpus.textContent = docs.length
        ? `Đang có ${docs.length} văn bản đã nạp (xem mục “Văn bản đã nạp”).`
        : "Chưa có văn bản nào được nạp. Quản trị viên cần nạp văn bản (chidao ingest THƯ_MỤC).";
      ui.docsStatus.textContent = docs.length ? `${docs.length} văn bản.` : "Chưa có văn bản nào được nạp.";
      for (const d of docs) ui.docsList.append(documentCard(d));
    } catch (err) {
      const message = `Không tải được danh sách văn bản: ${describeFailure(err, {})}`;
      ui.docsStatus.textContent = message;
      ui.docsStatus.classList.add("failed");
      ui.corpus.textContent = message;
    }
  }

  function documentCard(d) {
    const open = el("button", { type: "button", class: "btn btn-small btn-outline", text: "Xem văn bản",
      "aria-label": `Xem văn bản ${docLabel(d)}` });
    open.addEventListener("click", () => openDocument(d, open));
    return el("li", { class: "doc-card" },
      el("p", { class: "doc-kind", text: d.doc_type || "Văn bản" }),
      el("h3", { class: "doc-title", text: d.title || d.source }),
      metaList([
        ["Số hiệu", d.doc_number || "(chưa có số)"],
        ["Ngày", formatDate(d.date) || d.date_text || "(không ghi)"],
        ["Cơ quan ban hành", d.issuer],
      ]),
      open);
  }

  /* ---------- agencies view: who is assigned what, by when ---------- */

  async function loadAgencies() {
    ui.agenciesStatus.textContent = "Đang tải danh mục cơ quan…";
    ui.agenciesStatus.classList.remove("failed");
    try {
      const response = await apiFetch("/api/agencies");
      if (!response.ok) throw await httpError(response);
      state.agencies = await response.json();
      ui.agenciesStatus.textContent = state.agencies.length
        ? `${state.agencies.length} cơ quan, đơn vị được giao nhiệm vụ. Chọn một cơ quan để xem nhiệm vụ và thời hạn.`
        : "Chưa có nhiệm vụ nào được trích từ văn bản đã nạp.";
      renderAgencies();
    } catch (err) {
      ui.agenciesStatus.textContent = `Không tải được danh mục cơ quan: ${describeFailure(err, {})}`;
      ui.agenciesStatus.classList.add("failed");
    }
  }

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  }

  function renderAgencies() {
    const wanted = fold(ui.agencyFilter.value).trim();
    const shown = (state.agencies || []).filter((a) =>
      !wanted || [a.name, a.id, ...(a.aliases || [])].some((name) => fold(name).includes(wanted)));
    ui.agenciesList.replaceChildren(...shown.map((a) => {
      const button = el("button", { type: "button", class: "agency-item",
        "aria-label": `${a.name}: ${a.task_count} nhiệm vụ, ${a.deadline_count} có thời hạn` },
        el("span", { class: "agency-name", text: a.name }),
        el("span", { class: "agency-count", text: `${a.task_count} nhiệm vụ · ${a.deadline_count} có hạn` }));
      button.addEventListener("click", () => showAgency(a.id, button));
      return el("li", {}, button);
    }));
  }

  async function showAgency(id, opener) {
    ui.agencyTasks.replaceChildren(el("p", { class: "docs-status", text: "Đang tải nhiệm vụ…" }));
    for (const item of ui.agenciesList.querySelectorAll(".agency-item")) item.classList.toggle("active", item === opener);
    try {
      const response = await apiFetch(`/api/agencies/${encodeURIComponent(id)}`);
      if (!response.ok) throw await httpError(response);
      const agency = await response.json();
      const tasks = agency.tasks.map((task, i) => taskCard(task, i + 1));
      ui.agencyTasks.replaceChildren(el("h3", { class: "agency-heading", text: agency.name }), el("ol", { class: "task-list" }, ...tasks));
      ui.agencyTasks.querySelector("h3").scrollIntoView({ block: "nearest" });
    } catch (err) {
      ui.agencyTasks.replaceChildren(el("p", { class: "error-box", role: "alert",
        text: `Không tải được nhiệm vụ: ${describeFailure(err, {})}` }));
    }
  }

  function taskCard(task, n) {
    const source = el("button", { type: "button", class: "btn btn-small btn-outline", text: "Xem nguồn",
      "aria-label": `Xem nguồn nhiệm vụ ${n}` });
    source.addEventListener("click", () => openCitation(Object.assign({ n }, task.citation), source));
    const deadlines = task.deadlines.map((d) =>
      el("li", { class: "deadline", text: d.due ? `${d.text} (${formatDate(d.due)}${d.recurrence ? ", hằng năm" : ""})` : d.text }));
    return el("li", { class: "task-card" },
      el("p", { class: `role role-${task.role === "chủ trì" ? "lead" : "support"}`, text: task.role }),
      el("p", { class: "task-text", text: task.text }),
      deadlines.length ? el("ul", { class: "deadlines", "aria-label": "Thời hạn" }, ...deadlines) : "",
      el("p", { class: "task-source", text: `${docLabel(task.citation)} · Mục ${task.citation.section}` }),
      source);
  }

  function showView(id) {
    for (const tab of ui.tabs) {
      const active = tab.dataset.view === id;
      tab.setAttribute("aria-pressed", String(active));
      $(tab.dataset.view).hidden = !active;
    }
    if (id === "docs-view") loadDocuments();
    if (id === "agencies-view") loadAgencies();
  }

  /* ---------- wiring ---------- */

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.question.value;
    if (!text.trim() || state.busy) return;
    ui.question.value = "";
    ask(text);
  });
  ui.question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.form.requestSubmit();
    }
  });
  ui.newChat.addEventListener("click", newConversation);
  ui.tabs.forEach((tab) => tab.addEventListener("click", () => showView(tab.dataset.view)));
  ui.docsReload.addEventListener("click", loadDocuments);
  ui.agencyFilter.addEventListener("input", renderAgencies);
  ui.closePanel.addEventListener("click", closePanel);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ui.panel.hidden) closePanel();
  });

  loadDocuments();
  ui.question.focus();
})();

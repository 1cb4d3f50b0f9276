/* The side panel: a citation's source with the quote highlighted, or a whole document, with
 * "hỏi trong văn bản này" to ask questions limited to that document. */

import { apiFetch, describeFailure, httpError } from "./api.js";
import { $, docLabel, el, formatDate, sectionPath } from "./dom.js";

const ui = {
  layout: $("layout"),
  panel: $("source-panel"),
  title: $("source-title"),
  body: $("source-body"),
  close: $("close-source"),
};
const documents = new Map(); // id -> Promise of GET /api/documents/{id}
let returnFocus = null;
let token = null; // the panel's latest content; older loads drop their result
let askInDocument = () => {};

export function initPanel(options) {
  askInDocument = options.onAskInDocument;
  ui.close.addEventListener("click", closePanel);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ui.panel.hidden) closePanel();
  });
}

export function loadDocument(id) {
  if (!documents.has(id)) {
    const promise = apiFetch(`/api/documents/${encodeURIComponent(id)}`).then(async (response) => {
      if (!response.ok) throw await httpError(response);
      return response.json();
    });
    promise.catch(() => documents.delete(id));
    documents.set(id, promise);
  }
  return documents.get(id);
}

function openPanel(title, opener) {
  returnFocus = opener || null;
  ui.title.textContent = title;
  ui.body.replaceChildren(el("p", { class: "panel-loading", role: "status", text: "Đang mở văn bản…" }));
  ui.panel.hidden = false;
  ui.layout.classList.add("with-panel");
  document.body.classList.add("panel-open");
  ui.panel.focus({ preventScroll: true });
  token = Symbol("panel");
  return token;
}

export function closePanel() {
  if (ui.panel.hidden) return;
  ui.panel.hidden = true;
  ui.layout.classList.remove("with-panel");
  document.body.classList.remove("panel-open");
  if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
  returnFocus = null;
}

export function metaList(rows) {
  const dl = el("dl", { class: "meta" });
  for (const [term, value] of rows) {
    if (!value) continue;
    dl.append(el("dt", { text: term }), el("dd", { text: value }));
  }
  return dl;
}

function documentHeader(doc, extraRows) {
  const label = docLabel(doc);
  return [
    el("p", { class: "doc-kind", text: label }),
    el("h3", { class: "doc-title", text: doc.title || doc.source || doc.id }),
    metaList([
      ["Số hiệu", doc.doc_number || "(chưa có số)"],
      ["Ngày ban hành", formatDate(doc.date) || doc.date_text || "(không ghi)"],
      ["Cơ quan ban hành", doc.issuer],
      ["Người ký", doc.signer],
      ...extraRows,
      ["Tệp", doc.source],
    ]),
    el("button", { type: "button", class: "btn btn-small btn-outline ask-here", text: "Hỏi trong văn bản này",
      "aria-label": `Hỏi trong văn bản này: ${label}`,
      onclick: () => { closePanel(); askInDocument({ documentId: doc.id, label }); } }),
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
    node.append(passage.text.slice(0, span[0]),
      el("mark", { class: "quote-mark", text: passage.text.slice(span[0], span[1]) }),
      passage.text.slice(span[1]));
  } else {
    node.textContent = passage.text;
  }
  return { node, marked: Boolean(span) };
}

function failed(err, citation) {
  const parts = [el("p", { class: "error-box", role: "alert", text: `Không mở được văn bản: ${describeFailure(err, {})}` })];
  if (citation) {
    parts.push(el("p", { class: "panel-subtitle", text: "Đoạn được trích:" }),
      el("blockquote", { class: "fallback-quote", text: citation.quote }));
  }
  ui.body.replaceChildren(...parts);
}

export async function openCitation(citation, opener) {
  if (!citation) return;
  const mine = openPanel(`Nguồn [${citation.n}]`, opener);
  let doc;
  try {
    doc = await loadDocument(citation.document_id);
  } catch (err) {
    if (token === mine) failed(err, citation);
    return;
  }
  if (token !== mine) return;
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
  const parts = [...documentHeader(doc, [["Mục", sectionPath(citation)]]),
    el("h4", { class: "panel-subtitle", text: "Đoạn trích trong mục" }), box];
  if (!mark) {
    parts.push(el("p", { class: "panel-note", text: "Đoạn được trích:" }),
      el("blockquote", { class: "fallback-quote", text: citation.quote }));
  }
  parts.push(fullText(doc, false));
  ui.body.replaceChildren(...parts);
  ui.body.scrollTop = 0;
  if (mark) revealInPanel(mark);
}

/** Scroll the panel only when the quote's start is out of view, keeping the document's header when it fits. */
function revealInPanel(mark) {
  const body = ui.body.getBoundingClientRect();
  const top = mark.getBoundingClientRect().top;
  if (top < body.top || top > body.bottom - 48) mark.scrollIntoView({ block: "start" });
}

function fullText(doc, open) {
  return el("details", { class: "fulltext", open },
    el("summary", { text: "Toàn văn văn bản" }),
    el("div", { class: "fulltext-body", text: doc.text || "" }));
}

export async function openDocument(summary, opener) {
  const mine = openPanel("Văn bản", opener);
  try {
    const doc = await loadDocument(summary.id);
    if (token !== mine) return;
    ui.body.replaceChildren(...documentHeader(doc, [["Số đoạn", String((doc.passages || []).length)]]),
      el("h4", { class: "panel-subtitle", text: "Bố cục" }), sectionTree(doc.sections || []), fullText(doc, true));
  } catch (err) {
    if (token === mine) failed(err, null);
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

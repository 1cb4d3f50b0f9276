/* The documents view (what is ingested) and the agencies view (who is assigned what, by when). */

import { apiFetch, describeFailure, httpError } from "./api.js";
import { $, docLabel, el, fold, formatDate } from "./dom.js";
import { metaList, openCitation, openDocument } from "./panel.js";

const ui = {
  corpus: $("corpus-status"),
  docsList: $("docs-list"),
  docsStatus: $("docs-status"),
  agenciesList: $("agencies-list"),
  agenciesStatus: $("agencies-status"),
  agencyTasks: $("agency-tasks"),
  agencyFilter: $("agency-filter"),
};
let agencies = [];

export async function loadDocuments() {
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

export async function loadAgencies() {
  ui.agenciesStatus.textContent = "Đang tải danh mục cơ quan…";
  ui.agenciesStatus.classList.remove("failed");
  try {
    const response = await apiFetch("/api/agencies");
    if (!response.ok) throw await httpError(response);
    agencies = await response.json();
    ui.agenciesStatus.textContent = agencies.length
      ? `${agencies.length} cơ quan, đơn vị được giao nhiệm vụ. Chọn một cơ quan để xem nhiệm vụ và thời hạn.`
      : "Chưa có nhiệm vụ nào được trích từ văn bản đã nạp.";
    renderAgencies();
  } catch (err) {
    ui.agenciesStatus.textContent = `Không tải được danh mục cơ quan: ${describeFailure(err, {})}`;
    ui.agenciesStatus.classList.add("failed");
  }
}

export function renderAgencies() {
  const wanted = fold(ui.agencyFilter.value).trim();
  const shown = (agencies || []).filter((a) =>
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

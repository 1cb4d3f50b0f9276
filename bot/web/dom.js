/* Small DOM and formatting helpers shared by the page's modules. */

export const $ = (id) => document.getElementById(id);

/** An element: attrs (class, text, on*, anything else as an attribute), then children. No HTML strings
 * except ``svg`` (the page's own icons). */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "svg") node.append(icon(value));
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An inline icon from path data (Feather Icons, MIT licence). */
export function icon(paths) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "18", height: "18", "aria-hidden": "true",
    focusable: "false", fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round",
    "stroke-linejoin": "round" })) svg.setAttribute(k, v);
  for (const d of [].concat(paths)) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export function announce(text) {
  const node = $("announcer");
  node.textContent = "";
  window.setTimeout(() => { node.textContent = text; }, 50);
}

/** "2025-12-17" → "17/12/2025"; "2026-02" → "tháng 02/2026"; "2026" → "năm 2026". */
export function formatDate(iso) {
  if (!iso) return "";
  const parts = String(iso).split("-");
  if (parts.length === 3) return `${parts[2]}/${parts[1]}/${parts[0]}`;
  if (parts.length === 2) return `tháng ${parts[1]}/${parts[0]}`;
  return `năm ${parts[0]}`;
}

export function docLabel(d) {
  const number = d.doc_number ? ` ${d.doc_number}` : "";
  return `${d.doc_type || "Văn bản"}${number}`.trim();
}

export function sectionPath(c) {
  const headings = (c.headings || []).filter(Boolean);
  return headings.length ? headings.join(" › ") : c.section || "";
}

export function fold(text) {
  return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
}

export function scroll(node, block) {
  node.scrollIntoView({ block: block || "nearest", behavior: "auto" });
}

/** Touch screens: Enter makes a new line (the keyboard has no Shift), the Send button sends. */
export function touchScreen() {
  return window.matchMedia("(pointer: coarse)").matches;
}

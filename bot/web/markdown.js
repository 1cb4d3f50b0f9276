/* The answer's light markdown, built as DOM nodes (never innerHTML of the answer's text).
 *
 * Blocks: paragraphs (single line breaks kept), "- " / "* " lists, "1. " lists.
 * Inline: **bold**, *italic*, “quoted document text”, and the answer's own [n] citation markers.
 * Inside “…” everything is the document's own text: no lists, no emphasis, and a "[2]" there is
 * text, never a citation link. While streaming (partial), an emphasis mark whose partner has not
 * arrived yet is hidden rather than shown. */

const BULLET = /^\s{0,3}[-*•+]\s+(.*)$/;
const NUMBERED = /^\s{0,3}(\d{1,3})[.)]\s+(.*)$/;
const INLINE = /“|”|\*\*|\*|\[(\d{1,3})\]|\n/g;

function quoteDepth(depth, line) {
  let d = depth;
  for (const ch of line) {
    if (ch === "“") d++;
    else if (ch === "”" && d > 0) d--;
  }
  return d;
}

/** Blocks of the text: {type: "p", text, depth} or {type: "ul"|"ol", start, items: [{text, depth}]},
 * where depth is how many “ are open where the text starts. */
export function parseBlocks(text) {
  const lines = String(text || "").replace(/\r\n?/g, "\n").trim().split("\n");
  const blocks = [];
  let current = null;
  let depth = 0;
  for (const line of lines) {
    const start = depth;
    depth = quoteDepth(depth, line);
    if (!line.trim() && start === 0) {
      current = null;
      continue;
    }
    const bullet = start === 0 ? BULLET.exec(line) : null;
    const numbered = start === 0 && !bullet ? NUMBERED.exec(line) : null;
    if (bullet || numbered) {
      const type = bullet ? "ul" : "ol";
      if (!current || current.type !== type) {
        current = { type, start: numbered ? Number(numbered[1]) : 1, items: [] };
        blocks.push(current);
      }
      const body = bullet ? bullet[1] : numbered[2];
      current.items.push({ text: body, depth: 0 });
    } else if (current && current.type !== "p" && (start > 0 || /^\s/.test(line))) {
      current.items[current.items.length - 1].text += "\n" + line.trim();
    } else if (current && current.type === "p") {
      current.text += "\n" + line;
    } else {
      current = { type: "p", text: line, depth: start };
      blocks.push(current);
    }
  }
  return blocks;
}

/** Inline tokens of one block's text: {t: "text"|"br"|"open"|"close"|"cite", ...}. */
function tokens(text, depth, partial) {
  const out = [];
  let d = depth;
  if (d > 0) out.push({ t: "open", tag: "quote" });
  let last = 0;
  const marks = { "**": [], "*": [] };
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push({ t: "text", s: text.slice(last, m.index) });
    last = m.index + m[0].length;
    const tok = m[0];
    if (tok === "\n") out.push({ t: "br" });
    else if (tok === "“") {
      if (d === 0) out.push({ t: "open", tag: "quote" });
      d++;
      out.push({ t: "text", s: tok });
    } else if (tok === "”" && d > 0) {
      out.push({ t: "text", s: tok });
      d--;
      if (d === 0) out.push({ t: "close", tag: "quote" });
    } else if (d === 0 && (tok === "**" || tok === "*")) {
      marks[tok].push(out.length);
      out.push({ t: "mark", s: tok });
    } else if (d === 0 && m[1]) out.push({ t: "cite", n: Number(m[1]) });
    else out.push({ t: "text", s: tok });
  }
  if (last < text.length) out.push({ t: "text", s: text.slice(last) });
  for (const [mark, at] of Object.entries(marks)) {
    const tag = mark === "**" ? "strong" : "em";
    for (let i = 0; i + 1 < at.length; i += 2) {
      out[at[i]] = { t: "open", tag };
      out[at[i + 1]] = { t: "close", tag };
    }
    if (at.length % 2 === 1) out[at[at.length - 1]] = partial ? { t: "text", s: "" } : { t: "text", s: mark };
  }
  return out;
}

/** DOM nodes for one block's inline text. ``cite(n)`` returns the node for marker [n], or null. */
function inlineNodes(text, depth, options) {
  const root = document.createDocumentFragment();
  const stack = [root];
  for (const tok of tokens(text, depth, options.partial)) {
    const top = stack[stack.length - 1];
    if (tok.t === "text") {
      if (tok.s) top.append(tok.s);
    } else if (tok.t === "br") top.append(document.createElement("br"));
    else if (tok.t === "cite") top.append(options.cite(tok.n) || `[${tok.n}]`);
    else if (tok.t === "open") {
      const node = document.createElement(tok.tag === "quote" ? "span" : tok.tag);
      if (tok.tag === "quote") node.className = "quoted";
      node.dataset.tag = tok.tag;
      top.append(node);
      stack.push(node);
    } else if (tok.t === "close") {
      if (stack.length > 1 && top.dataset.tag === tok.tag) stack.pop();
      else if (tok.tag !== "quote") top.append(tok.tag === "strong" ? "**" : "*");
    }
  }
  for (const node of root.querySelectorAll("[data-tag]")) delete node.dataset.tag;
  return root;
}

/** The answer as DOM: ``{cite(n) -> Node|null, partial}``. */
export function renderMarkdown(text, options) {
  const frag = document.createDocumentFragment();
  for (const block of parseBlocks(text)) {
    if (block.type === "p") {
      const p = document.createElement("p");
      p.append(inlineNodes(block.text, block.depth, options));
      frag.append(p);
      continue;
    }
    const list = document.createElement(block.type);
    if (block.type === "ol" && block.start !== 1) list.start = block.start;
    for (const item of block.items) {
      const li = document.createElement("li");
      li.append(inlineNodes(item.text, item.depth, options));
      list.append(li);
    }
    frag.append(list);
  }
  return frag;
}

function inlineText(text, depth) {
  return tokens(text, depth, true).map((tok) =>
    tok.t === "text" ? tok.s : tok.t === "br" ? "\n" : tok.t === "cite" ? `[${tok.n}]` : "").join("");
}

/** The answer as plain text (for copying): emphasis marks dropped, lists as "- " / "1. " lines. */
export function markdownText(text) {
  return parseBlocks(text).map((block) => {
    if (block.type === "p") return inlineText(block.text, block.depth);
    return block.items.map((item, i) =>
      `${block.type === "ul" ? "-" : `${block.start + i}.`} ${inlineText(item.text, item.depth)}`).join("\n");
  }).join("\n\n");
}

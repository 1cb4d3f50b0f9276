"""Section-aware chunks: paragraphs of one unit, packed up to a token budget.

The unit of a legal text is its article: a passage never holds text of two
articles, the article's heading line opens its first passage, and its clauses
and points are packed together up to the article budget, half the chunk
budget (a short clause is kept with its siblings); when an article is cut, each passage's path is the deepest
heading all its text lies under ("Điều 12 › khoản 2"), and a lead-in line
ending in ":" is repeated at the top of every passage of the items under it.
Elsewhere (plans, dispatches) a chunk holds the paragraphs of exactly one
section. A paragraph longer than the budget is cut at sentence ends, then at
clause ends, then between words, then, for a run with no space at all, by
characters — iteratively, whatever the input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ingest.models import Chunk, Heading, Paragraph, ParsedDocument

TokenCounter = Callable[[str], int]

UNIT_KIND = "article"
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“(\-–+]?[A-ZĐÀ-Ỹ0-9])")
_CLAUSE_END = re.compile(r"(?<=[;:])\s+")
_WORDS = re.compile(r"\s+")
_LEAD_SHARE = 3  # a lead-in is repeated only while it takes less than a third of the budget
# An article's passages get this share of the chunk budget. On the ALQAC laws (benchmarks/alqac.py),
# article passages of up to 400 tokens gave MRR@10 0.910; of up to 200 tokens, 0.922.
ARTICLE_SHARE = 2


def estimate_tokens(text: str) -> int:
    """A cautious stand-in for a real tokenizer: about three characters a token."""
    return len(text) // 3 + 1


# -- cutting one paragraph -------------------------------------------------------------


def _split_at(text: str, level: int) -> list[tuple[str, str]]:
    """``text`` cut at one level: (separator before the part, part)."""
    if level < 3:
        pattern = (_SENTENCE_END, _CLAUSE_END, _WORDS)[level]
        parts = [p.strip() for p in pattern.split(text) if p and p.strip()]
        return [("" if i == 0 else " ", p) for i, p in enumerate(parts)]
    half = max(1, len(text) // 2)
    return [("", text[:half]), ("", text[half:])]


def split_text(text: str, max_tokens: int, count: TokenCounter) -> list[str]:
    """``text`` in pieces of at most ``max_tokens``, cut at the coarsest boundary that works.

    Iterative: a paragraph of thousands of characters without a space is cut by characters,
    never by recursion."""
    atoms: list[tuple[str, str]] = []
    todo: list[tuple[str, str, int]] = [("", text.strip(), 0)]
    while todo:
        sep, part, level = todo.pop()
        if count(part) <= max_tokens or len(part) <= 1:
            atoms.append((sep, part))
            continue
        pieces = _split_at(part, level)
        while len(pieces) < 2 and level < 3:
            level += 1
            pieces = _split_at(part, level)
        pieces[0] = (sep, pieces[0][1])
        todo.extend((s, p, level) for s, p in reversed(pieces))
    return _glue(atoms, max_tokens, count)


def _glue(atoms: list[tuple[str, str]], max_tokens: int, count: TokenCounter) -> list[str]:
    out: list[str] = []
    current = ""
    for sep, atom in atoms:
        candidate = f"{current}{sep}{atom}" if current else atom
        if current and count(candidate) > max_tokens:
            out.append(current)
            current = atom
        else:
            current = candidate
    if current:
        out.append(current)
    return out


# -- units and the tree of one unit ---------------------------------------------------


@dataclass
class _Node:
    path: tuple[Heading, ...]
    items: list[Paragraph | _Node] = field(default_factory=list)


@dataclass(frozen=True)
class _Piece:
    lines: tuple[str, ...]
    path: tuple[Heading, ...]
    page: int | None


def _unit_key(para: Paragraph) -> tuple[str, tuple[Heading, ...]]:
    if para.kind in ("header", "closing", "footnote"):
        return para.kind, para.path
    for i, heading in enumerate(para.path):
        if heading.kind == UNIT_KIND:
            return "unit", para.path[:i + 1]
    return "section", para.path


def _units(paragraphs: tuple[Paragraph, ...]) -> Iterator[tuple[str, tuple[Heading, ...], list[Paragraph]]]:
    """Runs of paragraphs of one unit: (what it is, its path, its paragraphs)."""
    group: list[Paragraph] = []
    key: tuple[str, tuple[Heading, ...]] = ("", ())
    for para in paragraphs:
        para_key = _unit_key(para)
        if group and para_key != key:
            yield key[0], key[1], group
            group = []
        key = para_key
        group.append(para)
    if group:
        yield key[0], key[1], group


def _tree(root: tuple[Heading, ...], paragraphs: list[Paragraph]) -> _Node:
    top = _Node(root)
    for para in paragraphs:
        node = top
        for depth in range(len(root), len(para.path)):
            last = node.items[-1] if node.items else None
            if not (isinstance(last, _Node) and last.path == para.path[:depth + 1]):
                last = _Node(para.path[:depth + 1])
                node.items.append(last)
            node = last
        node.items.append(para)
    return top


def _texts(node: _Node) -> list[str]:
    out: list[str] = []
    for item in node.items:
        out.extend(_texts(item) if isinstance(item, _Node) else [item.text])
    return out


def _first_page(node: _Node) -> int | None:
    for item in node.items:
        page = _first_page(item) if isinstance(item, _Node) else item.page
        if page is not None:
            return page
    return None


def _lead(node: _Node) -> str:
    """The line that introduces the items under it ("… có trách nhiệm sau đây:"), if any."""
    own: list[Paragraph] = []
    for item in node.items:
        if isinstance(item, _Node):
            break
        own.append(item)
    has_children = any(isinstance(item, _Node) for item in node.items)
    if has_children and own and own[-1].text.rstrip().endswith(":"):
        return own[-1].text
    return ""


# -- packing ------------------------------------------------------------------------------


class _Packer:
    def __init__(self, count: TokenCounter) -> None:
        self.count = count

    def fits(self, lines: tuple[str, ...], budget: int) -> bool:
        return self.count("\n".join(lines)) <= budget

    def node(self, node: _Node, budget: int) -> list[_Piece]:
        whole = tuple(_texts(node))
        if self.fits(whole, budget):
            return [_Piece(whole, node.path, _first_page(node))]
        lead = _lead(node)
        repeat = bool(lead) and self.count(lead) * _LEAD_SHARE <= budget
        inner = budget - (self.count(lead) + 1 if repeat else 0)
        parts: list[_Piece] = []
        for item in node.items:
            if isinstance(item, _Node):
                parts.extend(self.node(item, inner))
            else:
                size = budget if item.text == lead else inner
                parts.extend(_Piece((t,), node.path, item.page) for t in split_text(item.text, size, self.count))
        return self.merge(parts, node.path, lead if repeat else "", budget)

    def merge(self, parts: list[_Piece], path: tuple[Heading, ...], lead: str, budget: int) -> list[_Piece]:
        out: list[_Piece] = []
        current: _Piece | None = None
        for part in parts:
            if current is not None and self.fits(current.lines + part.lines, budget):
                current = _Piece(current.lines + part.lines, _common(current.path, part.path), current.page)
                continue
            if current is not None:
                out.append(current)
            if lead and out and part.lines[0] != lead:
                part = _Piece((lead, *part.lines), part.path, part.page)
            current = part
        if current is not None:
            out.append(current)
        return out


def _common(a: tuple[Heading, ...], b: tuple[Heading, ...]) -> tuple[Heading, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def chunk_document(
    doc: ParsedDocument,
    max_tokens: int = 400,
    count_tokens: TokenCounter = estimate_tokens,
    article_tokens: int | None = None,
) -> list[Chunk]:
    """Chunks of at most ``max_tokens``; an article's passages of at most ``article_tokens``
    (half of ``max_tokens`` unless given: a clause or two, which the small embedder reads best)."""
    packer = _Packer(count_tokens)
    article_budget = min(max_tokens, article_tokens or max_tokens // ARTICLE_SHARE)
    chunks: list[Chunk] = []
    for key, root, group in _units(doc.paragraphs):
        kind = group[0].kind if group[0].kind in ("header", "closing", "footnote") else "body"
        budget = article_budget if key == "unit" else max_tokens
        for piece in packer.node(_tree(root, group), budget):
            chunks.append(Chunk("\n".join(piece.lines), piece.path, len(chunks), piece.page, kind))
    return chunks

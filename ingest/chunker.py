"""Section-aware chunks: consecutive paragraphs of one section, packed up to a token budget.

A chunk never holds text of two sections, so its heading path is exact and it
never crosses a top-level section. A paragraph longer than the budget is cut
at sentence ends (then at clause ends, then between words).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ingest.models import Chunk, Paragraph, ParsedDocument

TokenCounter = Callable[[str], int]

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“(\-–+]?[A-ZĐÀ-Ỹ0-9])")
_CLAUSE_END = re.compile(r"(?<=[;:])\s+")


def estimate_tokens(text: str) -> int:
    """A cautious stand-in for a real tokenizer: about three characters a token."""
    return len(text) // 3 + 1


def _pieces(text: str, max_tokens: int, count: TokenCounter) -> Iterator[str]:
    if count(text) <= max_tokens:
        yield text
        return
    for pattern in (_SENTENCE_END, _CLAUSE_END):
        parts = [p for p in pattern.split(text) if p and p.strip()]
        if len(parts) > 1:
            yield from _pack(parts, max_tokens, count, " ")
            return
    words = text.split()
    half = max(1, len(words) // 2)
    yield from _pieces(" ".join(words[:half]), max_tokens, count)
    yield from _pieces(" ".join(words[half:]), max_tokens, count)


def _pack(parts: list[str], max_tokens: int, count: TokenCounter, joiner: str) -> Iterator[str]:
    current = ""
    for part in parts:
        for piece in _pieces(part.strip(), max_tokens, count):
            candidate = f"{current}{joiner}{piece}" if current else piece
            if current and count(candidate) > max_tokens:
                yield current
                current = piece
            else:
                current = candidate
    if current:
        yield current


def _groups(paragraphs: tuple[Paragraph, ...]) -> Iterator[list[Paragraph]]:
    group: list[Paragraph] = []
    for para in paragraphs:
        if group and para.path != group[0].path:
            yield group
            group = []
        group.append(para)
    if group:
        yield group


def chunk_document(
    doc: ParsedDocument, max_tokens: int = 400, count_tokens: TokenCounter = estimate_tokens
) -> list[Chunk]:
    chunks: list[Chunk] = []
    for group in _groups(doc.paragraphs):
        kind = group[0].kind if group[0].kind in ("header", "closing", "footnote") else "body"
        text, page = "", None
        for para in group:
            for piece in _pieces(para.text, max_tokens, count_tokens):
                candidate = f"{text}\n{piece}" if text else piece
                if text and count_tokens(candidate) > max_tokens:
                    chunks.append(Chunk(text, group[0].path, len(chunks), page, kind))
                    text, page = piece, para.page
                else:
                    text, page = candidate, page if text else para.page
        if text:
            chunks.append(Chunk(text, group[0].path, len(chunks), page, kind))
    return chunks

"""Citations: which passage supports which part of an answer, and the exact words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import prompts
from vectorstore.retriever import Passage


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage
    quote: str  # an exact substring of the passage text
    more: tuple[str, ...] = ()  # further quotes from the same section

    @property
    def quotes(self) -> tuple[str, ...]:
        return (self.quote, *self.more)

    def to_dict(self) -> dict[str, Any]:
        c, d = self.passage.chunk, self.passage.document
        return {
            "n": self.n, "chunk_id": c.id, "document_id": d.id, "source": d.source, "title": d.title,
            "doc_number": d.doc_number, "doc_type": d.doc_type, "date": d.date, "section": c.section,
            "headings": list(c.headings), "page": c.page, "quote": self.quote, "quotes": list(self.quotes),
        }

    @property
    def label(self) -> str:
        """"Kế hoạch 195/KH-UBND, trang 3", "Luật Điện ảnh 2022, Điều 12, khoản 2" — how the answer
        names the source (Vietnamese framing; :meth:`label_in` for another language)."""
        return self.label_in("vi")

    def label_in(self, language: str) -> str:
        """The document's label, then the article, clause and point the passage lies within (each
        only when the one before is known), then the page; the words from ``prompts/<language>``."""
        chunk = self.passage.chunk
        parts = [self.passage.document.label]
        for value, template in ((chunk.article, "cite_article.txt"), (chunk.clause, "cite_clause.txt"),
                                (chunk.point, "cite_point.txt")):
            if not value:
                break
            parts.append(prompts.load(template, language).format(value=value))
        if chunk.page:
            parts.append(prompts.load("cite_page.txt", language).format(value=chunk.page))
        return ", ".join(parts)


@dataclass(frozen=True)
class Delta:
    """A piece of answer text, streamed before the final :class:`Answer`."""

    text: str


@dataclass(frozen=True)
class Answer:
    answer: str
    answered: bool
    citations: tuple[Citation, ...] = ()
    mode: str = "extractive"
    note: str = ""  # e.g. why an LLM answer fell back to the extractive one

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer": self.answer,
            "answered": self.answered,
            "citations": [c.to_dict() for c in sorted(self.citations, key=lambda c: c.n)],
            "mode": self.mode,
        }
        if self.note:
            out["note"] = self.note
        return out

"""Pick the words of a passage that answer a question.

A passage is cut into units (lines, sentences, clauses between semicolons).
Each unit scores the IDF weight of the question's terms it contains, plus a
bonus when it holds what the question asks for (a date, a number, a name).
The quote is the contiguous span around the best units, so it is always an
exact substring of the passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.folding import fold, fold_chars
from vectorstore.question import Question
from vectorstore.records import index_text
from vectorstore.retriever import Passage
from vectorstore.text import passage_terms, with_pairs, words

Weight = Callable[[str], float]

_UNIT_END = re.compile(r"\n|(?<=[.;!?…])[\"”’)*]*\s+(?=\S)")
# What a passage states that a question asks for: a date or period (when), a figure (how many).
_EVIDENCE = {
    "when": re.compile(
        r"\b\d{1,2}\s*/\s*\d{1,2}(\s*/\s*\d{2,4})?\b|\bngay \d|\bthang \d|\bquy [ivx]+\b|\bhang nam\b"
        r"|\bdinh ky\b|\b\d{1,2} thang\b"
    ),
    "how_many": re.compile(r"\d"),
    "date": re.compile(r"\b\d{1,2}\s*/\s*\d{1,2}(\s*/\s*\d{2,4})?\b|\bngay \d|\bthang \d"),
}
UNIT_BONUS = 3.0
SPAN_LIMIT = 650
LEAD_LIMIT = 750
_OPEN_ENDED = re.compile(r"[^.;!?…:)\]”\"]$")


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    score: float
    evidence: bool = False  # holds what the question asks for (a date, a number, a name)


def split_units(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for m in _UNIT_END.finditer(text):
        if text[start:m.start()].strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    return [(s + len(text[s:e]) - len(text[s:e].lstrip()), e) for s, e in spans]


def query_weights(q: Question, weight: Weight) -> dict[str, float]:
    """Weight (IDF) of each content term of the question, word pairs included."""
    return {t: weight(t) for t in q.content_terms}


def context_terms(passage: Passage) -> set[str]:
    """Terms a passage has from its headings and document, whichever unit is quoted."""
    doc = passage.document
    parts = [*passage.chunk.headings, doc.doc_type, doc.doc_number, doc.title, doc.issuer, doc.place]
    return set(passage_terms(" ".join(parts)))


def open_terms(passage: Passage, weights: dict[str, float]) -> dict[str, float]:
    """The question's terms the passage's headings and document do not already answer."""
    given = context_terms(passage)
    return {t: w for t, w in weights.items() if t not in given}


def score_units(passage: Passage, weights: dict[str, float], wanted: frozenset[str]) -> list[Unit]:
    """Score each unit on the question terms its headings do not already answer."""
    text = passage.chunk.text
    signer = fold(passage.document.signer) if passage.document.signer else ""
    spans = split_units(text)
    unit_terms = [set(with_pairs(words(text[s:e]))) for s, e in spans]
    present = set().union(*unit_terms) if unit_terms else set()
    rest = {t: w for t, w in open_terms(passage, weights).items() if t in present}
    weights = rest or {t: w for t, w in weights.items() if t in present}
    units = []
    for (start, end), terms in zip(spans, unit_terms):
        piece = text[start:end]
        score = sum(w for t, w in weights.items() if t in terms)
        folded = fold_chars(piece)
        found = False
        for intent in wanted:
            evidence = _EVIDENCE.get(intent)
            if (evidence and evidence.search(folded)) or (intent == "who" and signer and signer in fold(piece)):
                score += UNIT_BONUS
                found = True
        units.append(Unit(start, end, score, found))
    return units


def lead_span(units: list[Unit]) -> tuple[int, int, float]:
    """The passage's opening units, up to ``LEAD_LIMIT`` characters."""
    if not units:
        return 0, 0, 0.0
    end = units[0].end
    for u in units[1:]:
        if u.end - units[0].start > LEAD_LIMIT:
            break
        end = u.end
    return units[0].start, end, max(u.score for u in units)


def best_span(units: list[Unit], text: str) -> tuple[int, int, float]:
    """The span around the best-scoring units of a passage."""
    if not units:
        return 0, 0, 0.0
    pool = [u for u in units if u.evidence and u.score > UNIT_BONUS] or units
    best = max(pool, key=lambda u: u.score)
    chosen = [u for u in units if u.score >= 0.6 * best.score and u.score > 0] or [best]
    start = min(u.start for u in chosen)
    end = max(u.end for u in chosen)
    if len(text[best.start:best.end]) < 80 and _OPEN_ENDED.search(text[best.start:best.end].rstrip()):
        # a short open line ("- Khen thưởng tổng kết") heads what follows it
        for u in units:
            if u.start >= end and u.end - start <= SPAN_LIMIT:
                end = u.end
    if end - start > SPAN_LIMIT:
        start, end = best.start, best.end
        for u in units:  # grow towards the best unit's neighbours while it fits
            if u.end <= start and best.end - u.start <= SPAN_LIMIT and u.score > 0:
                start = min(start, u.start)
            if u.start >= end and u.end - start <= SPAN_LIMIT and u.score > 0:
                end = max(end, u.end)
    return start, end, best.score


def support(passage: Passage, start: int, end: int, weights: dict[str, float]) -> float:
    """Share of the question's weight that a quoted span, read with its headings, answers."""
    total = sum(weights.values())
    if not total:
        return 0.0
    terms = context_terms(passage) | set(with_pairs(words(passage.chunk.text[start:end])))
    return sum(w for t, w in weights.items() if t in terms) / total


def states(intent: str, text: str) -> bool:
    """Whether ``text`` states what ``intent`` asks for: a date or period (when), a figure (how_many)."""
    evidence = _EVIDENCE.get(intent)
    return bool(evidence and evidence.search(fold_chars(text)))


def states_date(text: str) -> bool:
    """Whether ``text`` states a date, a month, a quarter or a period."""
    return states("when", text)


def with_context(passage: Passage) -> str:
    """A passage as a question is checked against it: with its document line, headings, issuer and place."""
    doc = passage.document
    return " ".join([index_text(passage.chunk, doc), doc.issuer, doc.place])

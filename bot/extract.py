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

from ingest.agencies import AgencyRegistry, match_words
from ingest.folding import fold, fold_chars, has_marks, toned, toned_words
from vectorstore.records import index_text
from vectorstore.retriever import Passage
from vectorstore.text import QueryTerms, passage_terms, with_pairs, words

Weight = Callable[[str], float]

_UNIT_END = re.compile(r"\n|(?<=[.;!?…])[\"”’)*]*\s+(?=\S)")
_INTENTS = {
    "date": re.compile(
        r"\b(ngay nao|khi nao|bao gio|han|thoi han|han chot|truoc ngay|thang nao|nam nao|quy nao|thoi gian"
        r"|dinh ky|when|deadlines?|due|date)\b"
    ),
    "number": re.compile(r"\b(bao nhieu|ty le|phan tram|may|so luong|chi tieu|how many|how much|percent|rate)\b"),
    "person": re.compile(r"(^ai\b|\bai ky\b|\bnguoi ky\b|\bky ten\b|\bai la\b|\bwho\b)"),
    "signer": re.compile(r"\b(ai|nguoi|who)\b.*\b(ky|signed?|signer)\b|\bky boi\b|\bnguoi ky\b"),
    "duty": re.compile(
        r"\b(nhiem vu|trach nhiem|phai lam|can lam|lam gi|de nghi lam|duoc giao|phan cong|vai tro|cong viec"
        r"|phoi hop .*gi|chu tri .*gi|must|tasks?|duty|duties|responsib\w*|assigned)\b"
    ),
}
_EVIDENCE = {
    "date": re.compile(
        r"\b\d{1,2}\s*/\s*\d{1,2}(\s*/\s*\d{2,4})?\b|\bngay \d|\bthang \d|\bquy [ivx]+\b|\bhang nam\b"
        r"|\bdinh ky\b|\b\d{1,2} thang\b"
    ),
    "number": re.compile(r"\d"),
}
# Words that ask for a date or a figure, answered by any passage that states one.
_CUES = {
    "date": re.compile(r"\b(thoi han|han chot|han|deadlines?|due)\b"),
    "number": re.compile(r"\b(ty le|phan tram|so luong|chi tieu|percent|percentage|rate)\b"),
}
# Addressees that include every department or member unit of the steering committee.
_ALL_UNITS = re.compile(
    r"\b(?:cac so ban nganh|so ban nganh|cac nganh thanh vien|thanh vien ban chi dao|cac co quan don vi)\b"
)
# Everyday words for what directives say otherwise ("nộp báo cáo" / "gửi báo cáo").
_EQUIVALENTS = {"nop": ("gui", "trinh"), "gui": ("nop",)}
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


def intents(question: str) -> set[str]:
    folded = fold(question)
    return {name for name, pattern in _INTENTS.items() if pattern.search(folded)}


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


def query_weights(q: QueryTerms, weight: Weight) -> dict[str, float]:
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


def score_units(passage: Passage, weights: dict[str, float], wanted: set[str]) -> list[Unit]:
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
            if (evidence and evidence.search(folded)) or (intent == "person" and signer and signer in fold(piece)):
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


def states_date(text: str) -> bool:
    """Whether ``text`` states a date, a month, a quarter or a period."""
    return bool(_EVIDENCE["date"].search(fold_chars(text)))


def _with_context(passage: Passage) -> str:
    """A passage as a question is checked against it: with its document line, headings, issuer and place."""
    doc = passage.document
    return " ".join([index_text(passage.chunk, doc), doc.issuer, doc.place])


def pairs_held(passage: Passage, weights: dict[str, float]) -> int:
    """How many of the question's word pairs the passage (with its headings and document) holds.

    Syllables alone can match by accident ("đại học" against "đại biểu ... người học");
    a passage that holds none of three or more pairs is not about the question.
    """
    terms = set(passage_terms(_with_context(passage)))
    return sum(t in terms for t in weights if "_" in t)


def named_agencies(query: QueryTerms) -> dict[str, frozenset[str]]:
    """The agencies (not unit types) the question names: id -> the words naming it."""
    seq = match_words(query.text)
    named: dict[str, frozenset[str]] = {}
    for mention in AgencyRegistry.default().find(query.text):
        if mention.agency.kind == "agency":
            named[mention.agency.id] = frozenset(seq[mention.start:mention.end]) | frozenset(words(mention.agency.name))
    return named


def cue_words(query: QueryTerms) -> dict[str, frozenset[str]]:
    """The question's words that ask for a date or a figure ("hạn", "tỷ lệ"), by intent.

    A passage stating a date answers "hạn"; it need not say the word.
    """
    asked = " ".join([fold(query.text), *query.translated])
    found = {}
    for intent, pattern in _CUES.items():
        hits = {w for m in pattern.finditer(asked) for w in m.group(0).split()}
        if hits:
            found[intent] = frozenset(hits)
    return found


def toned_forms(query: QueryTerms) -> dict[str, frozenset[str]]:
    """The question's words typed with diacritics (or translated into words that have them):
    folded word -> its toned spellings."""
    forms: dict[str, set[str]] = {}
    for word in re.findall(r"\w+", f"{query.text} {query.spelled}"):
        key = fold(word)
        if has_marks(word) and key and " " not in key:
            forms.setdefault(key, set()).add(toned(word))
    return {key: frozenset(spellings) for key, spellings in forms.items()}


@dataclass(frozen=True)
class Question:
    """What a question asks, worked out once and then checked against each passage."""

    weights: dict[str, float]  # IDF of each content term, word pairs included
    cues: dict[str, frozenset[str]]  # by intent, words a passage stating a date or figure answers
    forms: dict[str, frozenset[str]]  # folded word -> the toned spellings the question used
    named: dict[str, frozenset[str]]  # agency id -> the words naming it

    @classmethod
    def of(cls, query: QueryTerms, weight: Weight) -> Question:
        return cls(query_weights(query, weight), cue_words(query), toned_forms(query), named_agencies(query))


def coverage(passage: Passage, question: Question) -> float:
    """Share of the question's content words (IDF-weighted) that the passage holds.

    The passage counts with its document line, headings, issuer and place.
    Only single words count: word pairs vary with phrasing, words do not.
    A word has its everyday equivalents ("nộp" / "gửi"), and cue words count
    as held when the passage states what they ask for. A word the question
    wrote with diacritics must be spelled so in a passage that has them:
    "nghỉ" is not "nghị". A question naming agencies is answered only by a
    passage that names one of them, or that is addressed to all departments
    or member units ("các sở, ban, ngành").
    """
    single = {t: w for t, w in question.weights.items() if "_" not in t}
    total = sum(single.values())
    if not total:
        return 0.0
    text = _with_context(passage)
    terms = set(words(text))
    spelled = set(toned_words(text)) if question.forms and _written_with_marks(passage.chunk.text) else set()
    cued: set[str] = set()
    if question.named:
        if _ALL_UNITS.search(fold(passage.chunk.text)):
            cued = set().union(*question.named.values())
        elif question.named.keys().isdisjoint(m.agency.id for m in AgencyRegistry.default().find(text)):
            return 0.0
    folded = fold_chars(passage.chunk.text)
    for intent, cue in question.cues.items():
        if _EVIDENCE[intent].search(folded):
            cued |= cue

    def held(t: str) -> bool:
        if t in cued or any(e in terms for e in _EQUIVALENTS.get(t, ())):
            return True
        if spelled and t in question.forms:
            return not spelled.isdisjoint(question.forms[t])
        return t in terms

    return sum(w for t, w in single.items() if held(t)) / total


def _written_with_marks(text: str, share: float = 0.3) -> bool:
    """Whether a passage is written with diacritics (the OCR document is not)."""
    found = re.findall(r"[^\W\d_]+", text)
    return bool(found) and sum(has_marks(w) for w in found) >= share * len(found)

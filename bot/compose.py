"""Cited answers from quotes: one source per section, grouped per document, newest first.

When the quotes come from several documents the answer says so, document by
document (type, số hiệu, date), newest first; when those documents state
different deadlines or figures it adds a note that they differ. The framing is
in the question's language (``prompts/vi``, ``prompts/en``); quotes stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import prompts
from bot.citations import Answer, Citation
from ingest.deadlines import find_deadlines
from vectorstore.question import Question
from vectorstore.records import DocumentRecord
from vectorstore.retriever import Passage

_PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s*%")


@dataclass(frozen=True)
class Quote:
    passage: Passage
    text: str  # exact text of the passage


def cite(quotes: Sequence[Quote]) -> list[Citation]:
    """One citation per section (in order of first quote), holding each of its quotes once."""
    by_section: dict[tuple[str, str], list[Quote]] = {}
    for q in quotes:
        by_section.setdefault(_section_key(q), []).append(q)
    out = []
    for n, group in enumerate(by_section.values(), 1):
        texts = list(dict.fromkeys(q.text for q in group))
        out.append(Citation(n, group[0].passage, texts[0], tuple(texts[1:])))
    return out


def number_of(citations: Sequence[Citation], quote: Quote) -> int:
    """The ``n`` of the citation holding ``quote``."""
    key = _section_key(quote)
    return next(c.n for c in citations if (c.passage.document.id, c.passage.chunk.section) == key)


def newest_first(documents: Sequence[DocumentRecord]) -> list[DocumentRecord]:
    """Documents by date, newest first; undated ones last; ties keep their order."""
    dated = sorted((d for d in documents if d.date), key=lambda d: d.date, reverse=True)
    return dated + [d for d in documents if not d.date]


def display_date(doc: DocumentRecord, language: str) -> str:
    """" (ngày 17/12/2025)", " (ngày 02/2026)", or nothing."""
    if not doc.date:
        return ""
    parts = doc.date.split("-")
    return prompts.load("answer_date.txt", language).format(date="/".join(reversed(parts)))


def compose(question: Question, quotes: Sequence[Quote]) -> Answer:
    """The answer quoting ``quotes`` (best first): grouped per document when there are several."""
    if not quotes:
        return Answer("", True)
    lang = question.language
    docs: dict[str, list[Quote]] = {}
    for q in quotes:
        docs.setdefault(q.passage.document.id, []).append(q)
    order = newest_first([group[0].passage.document for group in docs.values()])
    ordered = [q for doc in order for q in _by_section(docs[doc.id])]
    citations = cite(ordered)
    if len(docs) == 1:
        items = [_item("answer_item.txt", lang, c) for c in citations]
        text = items[0] if len(items) == 1 else prompts.load("answer_intro.txt", lang) + "\n\n" + "\n\n".join(items)
        return Answer(text, True, tuple(citations))
    blocks = [prompts.load("answer_documents_intro.txt", lang).format(count=len(order))]
    for doc in order:
        lines = [prompts.load("answer_document.txt", lang).format(
            label=doc.label, date=display_date(doc, lang), title=doc.title)]
        cited = [c for c in citations if c.passage.document.id == doc.id]
        lines += [_item("answer_quote.txt", lang, c) for c in cited]
        blocks.append("\n".join(lines))
    if note := differ_note(question, order, docs):
        blocks.append(note)
    return Answer("\n\n".join(blocks), True, tuple(citations))


def differ_note(question: Question, order: list[DocumentRecord], docs: dict[str, list[Quote]]) -> str:
    """"The documents state different deadlines — …" when they do (asked when or how many)."""
    for intent in ("when", "how_many"):
        if intent not in question.intents:
            continue
        found = {doc.id: _values(intent, " ".join(q.text for q in docs[doc.id])) for doc in order}
        stated = {doc_id: values for doc_id, values in found.items() if values}
        if len(stated) >= 2 and len({frozenset(v) for v in stated.values()}) > 1:
            lang = question.language
            item = prompts.load("answer_differ_value.txt", lang)
            listed = "; ".join(item.format(label=doc.label, values=", ".join(stated[doc.id].values()))
                               for doc in order if doc.id in stated)
            return prompts.load(f"answer_differ_{intent}.txt", lang).format(values=listed)
    return ""


def _values(intent: str, text: str) -> dict[str, str]:
    """Normal form -> as written, of the deadlines (when) or percentages (how_many) in ``text``."""
    if intent == "when":
        return {d.key: d.text for d, _, _ in find_deadlines(text)}
    return {re.sub(r"\s+", "", m.group(0)): m.group(0) for m in _PERCENT.finditer(text)}


def _item(template: str, lang: str, c: Citation) -> str:
    doc = c.passage.document
    return prompts.load(template, lang).format(
        label=c.label_in(lang), date=display_date(doc, lang), section=c.passage.chunk.section or "—",
        quote=" … ".join(c.quotes), n=c.n)


def _by_section(quotes: list[Quote]) -> list[Quote]:
    """Quotes of one document, those of a section together (in order of first appearance)."""
    keys = list(dict.fromkeys(_section_key(q) for q in quotes))
    return sorted(quotes, key=lambda q: keys.index(_section_key(q)))


def _section_key(q: Quote) -> tuple[str, str]:
    return q.passage.document.id, q.passage.chunk.section

"""Answerers: passages -> a short cited answer.

:class:`ExtractiveAnswerer` needs no language model: it quotes the words of the
best passages that answer the question, each followed by its ``[n]`` marker,
and says plainly when the corpus holds no answer.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import prompts
from bot.citations import Answer, Citation, Delta
from bot.extract import (
    Question,
    best_span,
    coverage,
    intents,
    lead_span,
    open_terms,
    pairs_held,
    query_weights,
    score_units,
    states_date,
    support,
)
from ingest.folding import fold
from vectorstore.retriever import Passage
from vectorstore.text import QueryTerms

Weight = Callable[[str], float]


class Answerer(ABC):
    @abstractmethod
    def answer(self, query: QueryTerms, passages: list[Passage]) -> Answer:
        """Answer ``query`` from ``passages`` (best first), citing them."""

    def stream(self, query: QueryTerms, passages: list[Passage]) -> Iterator[Delta | Answer]:
        """The answer text in pieces, then the final :class:`Answer` (whose text they add up to).

        Answerers that generate text (a language model) yield as they go; this
        default computes the answer and hands it out a few words at a time.
        """
        yield from stream_answer(self.answer(query, passages))


def stream_answer(answer: Answer) -> Iterator[Delta | Answer]:
    """A ready answer as a stream: its text a few words at a time, then the answer itself."""
    yield from (Delta(piece) for piece in pieces(answer.answer))
    yield answer


def pieces(text: str, words_per_piece: int = 3) -> Iterator[str]:
    """``text`` in small pieces that concatenate back to it exactly."""
    tokens = re.findall(r"\S+\s*|\s+", text)
    for i in range(0, len(tokens), words_per_piece):
        yield "".join(tokens[i:i + words_per_piece])


def not_found() -> Answer:
    return Answer(prompts.load("not_found.txt"), False)


@dataclass(frozen=True)
class Choice:
    passage: Passage
    start: int
    end: int
    support: float  # share of the question the quote (with its headings) answers


DocumentPassages = Callable[[str], list[Passage]]
HEADING_MATCH = 0.5  # a question naming this much of a section's heading is about that section
MIN_PAIRS = 3  # a question of this many word pairs, none of them in any passage, is not answered


class ExtractiveAnswerer(Answerer):
    """Quotes passages. ``weight`` gives a term's IDF in the current index.

    ``min_coverage``: the least share of the question's content weight the
    best passage must hold for the question to count as answered (calibrated
    on the dev set, see README). ``document_passages`` lists a document's
    passages, used to quote a signature when the question asks who signed.
    """

    def __init__(
        self,
        weight: Weight,
        min_coverage: float = 0.6,
        max_citations: int = 3,
        consider: int = 5,
        document_passages: DocumentPassages | None = None,
    ) -> None:
        self.weight = weight
        self.min_coverage = min_coverage
        self.max_citations = max_citations
        self.consider = consider
        self.document_passages = document_passages

    def confidence(self, query: QueryTerms, passages: list[Passage]) -> float:
        question = Question.of(query, self.weight)
        considered = passages[: self.consider]
        pairs = sum("_" in t for t in question.weights)
        if pairs >= MIN_PAIRS and not any(pairs_held(p, question.weights) for p in considered):
            return 0.0
        return max((coverage(p, question) for p in considered), default=0.0)

    def answer(self, query: QueryTerms, passages: list[Passage]) -> Answer:
        if not passages or self.confidence(query, passages) < self.min_coverage:
            return not_found()
        wanted = intents(query.text)
        if "signer" in wanted and (signed := self._signature(passages[0])):
            return signed
        choices = self._choose(query, passages[: self.consider], wanted)
        citations = tuple(
            Citation(n, c.passage, c.passage.chunk.text[c.start:c.end].strip()) for n, c in enumerate(choices, 1)
        )
        template = prompts.load("answer_item.txt")
        items = [
            template.format(label=c.label, section=c.passage.chunk.section, quote=c.quote, n=c.n) for c in citations
        ]
        text = items[0] if len(items) == 1 else prompts.load("answer_intro.txt") + "\n\n" + "\n\n".join(items)
        return Answer(text, True, citations)

    def _signature(self, top: Passage) -> Answer | None:
        """"Who signed?": the signature block of the best-matching document."""
        doc = top.document
        if not doc.signer or self.document_passages is None:
            return None
        for p in self.document_passages(doc.id):
            span = signature_span(p.chunk.text, doc.signer) if p.chunk.kind == "closing" else None
            if span is None:
                continue
            quote = p.chunk.text[span[0]:span[1]]
            role = ", ".join(line.strip() for line in quote.splitlines()[:-1] if line.strip())
            citation = Citation(1, p, quote)
            text = prompts.load("signer.txt").format(
                label=citation.label, title=doc.title, signer=doc.signer, role=role or "—", n=1
            )
            return Answer(text, True, (citation,))
        return None

    def _choose(self, query: QueryTerms, passages: list[Passage], wanted: set[str]) -> list[Choice]:
        weights = query_weights(query, self.weight)
        scored = []
        for p in passages:
            units = score_units(p, weights, wanted)
            about_section = p.chunk.kind == "body" and p.heading_match >= HEADING_MATCH
            open_words = [t for t in open_terms(p, weights) if "_" not in t]  # pairs vary with phrasing
            if about_section and ("duty" in wanted or not open_words):
                p = self._section_start(p)
                start, end, best = lead_span(score_units(p, weights, wanted))
            else:
                start, end, best = best_span(units, p.chunk.text)
            if end > start:
                scored.append(Choice(p, start, end, support(p, start, end, weights)))
        if not scored:
            return []
        if "date" in wanted:  # asked "when": quote the passages that state a date, if any do
            scored = [c for c in scored if states_date(c.passage.chunk.text[c.start:c.end])] or scored
        top = scored[0]
        chosen = [top]
        for c in scored[1:]:
            if len(chosen) == self.max_citations:
                break
            near = c.passage.score >= 0.9 * top.passage.score
            close = c.passage.score >= 0.5 * top.passage.score and c.support >= 0.85 * top.support
            if (near or close) and all(c.passage.chunk.id != x.passage.chunk.id for x in chosen):
                chosen.append(c)
        return chosen


    def _section_start(self, passage: Passage) -> Passage:
        """The first passage of the same section: a section's duties are listed from its start."""
        if self.document_passages is None or passage.chunk.index == 0:
            return passage
        for p in self.document_passages(passage.document.id):
            if p.chunk.section == passage.chunk.section:
                if p.chunk.id == passage.chunk.id:
                    return passage
                return replace(passage, chunk=p.chunk)
        return passage


def signature_span(text: str, signer: str) -> tuple[int, int] | None:
    """The signature block: the title lines above the signer's name, and the name."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    target = fold(signer)
    for i in range(len(lines) - 1, -1, -1):
        if target and target in fold(lines[i]):
            first = i
            while first > 0 and lines[first - 1].strip() and not lines[first - 1].lstrip().startswith(("-", "+")):
                if fold(lines[first - 1]).startswith(("noi nhan", "luu")):
                    break
                first -= 1
            return offsets[first], offsets[i] + len(lines[i])
    return None

"""Answerers: passages -> a short cited answer.

:class:`ExtractiveAnswerer` needs no language model: it quotes the words of the
passages that answer the question, each followed by its ``[n]`` marker, grouped
per document when several documents answer. Whether the question is answered at
all is the judge's call (:mod:`bot.judge`), made before and after composing.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import prompts
from bot.citations import Answer, Citation, Delta
from bot.compose import Quote, compose
from bot.extract import Weight, best_span, lead_span, open_terms, query_weights, score_units, states, support
from bot.judge import not_found
from ingest.folding import fold
from vectorstore.question import Question
from vectorstore.references import article_rank
from vectorstore.retriever import Passage

__all__ = ["Answerer", "ExtractiveAnswerer", "Weight", "not_found", "pieces", "stream_answer"]


class Answerer(ABC):
    @abstractmethod
    def answer(self, question: Question, passages: list[Passage]) -> Answer:
        """Answer ``question`` from ``passages`` (those the judge found answering, best first), citing them."""

    def stream(self, question: Question, passages: list[Passage]) -> Iterator[Delta | Answer]:
        """The answer text in pieces, then the final :class:`Answer` (whose text they add up to).

        Answerers that generate text (a language model) yield as they go; this
        default computes the answer and hands it out a few words at a time.
        """
        yield from stream_answer(self.answer(question, passages))


def stream_answer(answer: Answer) -> Iterator[Delta | Answer]:
    """A ready answer as a stream: its text a few words at a time, then the answer itself."""
    yield from (Delta(piece) for piece in pieces(answer.answer))
    yield answer


def pieces(text: str, words_per_piece: int = 3) -> Iterator[str]:
    """``text`` in small pieces that concatenate back to it exactly."""
    tokens = re.findall(r"\S+\s*|\s+", text)
    for i in range(0, len(tokens), words_per_piece):
        yield "".join(tokens[i:i + words_per_piece])


@dataclass(frozen=True)
class Choice:
    passage: Passage
    start: int
    end: int
    support: float  # share of the question the quote (with its headings) answers

    @property
    def quote(self) -> str:
        return self.passage.chunk.text[self.start:self.end].strip()


DocumentPassages = Callable[[str], list[Passage]]
HEADING_MATCH = 0.5  # a question naming this much of a section's heading is about that section
EVIDENCE_INTENTS = ("when", "how_many")


class ExtractiveAnswerer(Answerer):
    """Quotes passages. ``weight`` gives a term's IDF in the current index.

    ``max_citations``: quotes from passages close to the best one; a question asking
    when or how many also quotes, from each other document that states a date or a
    figure, its best passage (up to ``max_documents``). ``document_passages`` lists a
    document's passages, used to quote a signature and a section from its start.
    """

    def __init__(
        self,
        weight: Weight,
        max_citations: int = 3,
        consider: int = 5,
        document_passages: DocumentPassages | None = None,
        max_documents: int = 4,
    ) -> None:
        self.weight = weight
        self.max_citations = max_citations
        self.consider = consider
        self.document_passages = document_passages
        self.max_documents = max_documents

    def answer(self, question: Question, passages: list[Passage]) -> Answer:
        if "signer" in question.intents and passages and (signed := self._signature(question, passages[0])):
            return signed
        choices = self._choose(question, passages[: self.consider])
        return compose(question, [Quote(c.passage, c.quote) for c in choices if c.quote])

    def _signature(self, question: Question, top: Passage) -> Answer | None:
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
            text = prompts.load("signer.txt", question.language).format(
                label=citation.label, title=doc.title, signer=doc.signer, role=role or "—", n=1
            )
            return Answer(text, True, (citation,))
        return None

    def _choose(self, question: Question, passages: list[Passage]) -> list[Choice]:
        weights = query_weights(question, self.weight)
        wanted = question.intents
        scored = []
        for p in passages:
            about_section = p.chunk.kind == "body" and (
                p.heading_match >= HEADING_MATCH or article_rank(p.chunk, question.articles) is not None)
            open_words = [t for t in open_terms(p, weights) if "_" not in t]  # pairs vary with phrasing
            if about_section and ("duty" in wanted or not open_words):
                p = self._section_start(p)
                start, end, _ = lead_span(score_units(p, weights, wanted))
            else:
                start, end, _ = best_span(score_units(p, weights, wanted), p.chunk.text)
            if end > start:
                scored.append(Choice(p, start, end, support(p, start, end, weights)))
        asked = [i for i in EVIDENCE_INTENTS if i in wanted]
        if asked:  # asked when or how many: quote the passages that state it, if any do
            scored = [c for c in scored if any(states(i, c.quote) for i in asked)] or scored
        if not scored:
            return []
        top = scored[0]
        chosen = [top]
        for c in scored[1:]:
            if len(chosen) == self.max_citations:
                break
            near = c.passage.score >= 0.9 * top.passage.score
            close = c.passage.score >= 0.5 * top.passage.score and c.support >= 0.85 * top.support
            if (near or close) and all(c.passage.chunk.id != x.passage.chunk.id for x in chosen):
                chosen.append(c)
        return chosen + self._other_documents(scored, chosen, asked)

    def _other_documents(self, scored: list[Choice], chosen: list[Choice], asked: list[str]) -> list[Choice]:
        """For "when" or "how many": the best passage of each further document that states it."""
        if not asked:
            return []
        docs = {c.passage.document.id for c in chosen}
        extra = []
        for c in scored:
            if len(docs) >= self.max_documents:
                break
            if c.passage.document.id not in docs and any(states(i, c.quote) for i in asked):
                docs.add(c.passage.document.id)
                extra.append(c)
        return extra

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

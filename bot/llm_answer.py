"""Grounded answers from a language model, verified before they are shown.

The model gets a fixed system prompt (``prompts/llm_system.txt``) and, in a
user message, the numbered passages between delimiters carrying a random key
(a document cannot forge the closing tag) and the question. Passages are data:
nothing of theirs ever reaches the system role.

What the model writes is checked as it streams:

- ``[n]`` markers naming no passage are dropped; the cited passages are
  renumbered 1..k in order of first citation;
- each citation quotes exact text of its passage, chosen by the extractive
  span selection (question terms plus the words of the sentence citing it);
- nothing is shown until the first valid citation, so an uncited answer never
  reaches the reader: it, a failed call or a timeout fall back to the
  extractive answer, with ``mode="extractive"`` and a ``note`` saying why;
- "KHÔNG TÌM THẤY TRONG VĂN BẢN" (the prompt's refusal) gives ``answered: false``.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import prompts
from bot.answer import Answerer, ExtractiveAnswerer, Weight, not_found, pieces
from bot.citations import Answer, Citation, Delta
from bot.extract import best_span, query_weights, score_units
from ingest.folding import fold
from vectorstore.question import Question
from vectorstore.retriever import Passage
from vectorstore.text import default_lexicon, with_pairs, words

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

MODE = "llm"
MAX_MARKER = 32  # longest "[1, 2, 3]" held back while it may still be a marker
_NUMBERS = r"\d{1,3}(?:\s*[-–]\s*\d{1,3})?(?:\s*[,;]\s*\d{1,3}(?:\s*[-–]\s*\d{1,3})?)*"
_MARKER = re.compile(r"[ \t]*\[\s*(" + _NUMBERS + r")\s*\]")
_HOLD = re.compile(r"\s*(?:\[[\d\s,;\-–]*)?$")  # trailing blanks or an unfinished marker
_REFUSAL = re.compile(r"\bkhong tim thay\b|\bkhong co thong tin\b")
_SENTENCE = re.compile(r"[^\n.!?…]*(?:[.!?…]+|\n|$)")


class CitationRewriter:
    """Rewrites ``[n]`` markers of streamed text: passages renumbered 1..k in order of first
    citation, markers naming no passage dropped. Text is handed back as soon as no marker
    can still be cut in two."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.order: list[int] = []  # 0-based passage indexes, in order of first citation
        self._pending = ""

    def feed(self, text: str) -> str:
        self._pending += text
        hold = _HOLD.search(self._pending)
        cut = hold.start() if hold and len(self._pending) - hold.start() <= MAX_MARKER else len(self._pending)
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        out = _MARKER.sub(self._replace, ready)
        kept = out.rstrip()
        self._pending = out[len(kept):] + self._pending  # blanks wait: a dropped marker may follow
        return kept

    def flush(self) -> str:
        ready, self._pending = self._pending, ""
        return _MARKER.sub(self._replace, ready)

    def _replace(self, match: re.Match[str]) -> str:
        lead = match.group(0)[: match.group(0).index("[")]
        out: list[str] = []
        for index in _indexes(match.group(1)):
            if not 0 <= index < self.count:
                continue
            if index not in self.order:
                self.order.append(index)
            marker = f"[{self.order.index(index) + 1}]"
            if marker not in out:
                out.append(marker)
        return lead + "".join(out) if out else ""


def _indexes(numbers: str) -> Iterator[int]:
    for item in re.split(r"\s*[,;]\s*", numbers.strip()):
        ends = [int(x) for x in re.split(r"\s*[-–]\s*", item) if x]
        if len(ends) == 2 and 0 <= ends[1] - ends[0] <= 10:
            yield from (n - 1 for n in range(ends[0], ends[1] + 1))
        elif ends:
            yield ends[0] - 1


def chunk_text(chunk: Any) -> str:
    """The text of a streamed message chunk (content may be a string or a list of blocks)."""
    text = getattr(chunk, "text", "")
    return text if isinstance(text, str) else str(chunk.content or "")


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(fold(text)))


class LLMAnswerer(Answerer):
    """Answers with ``model`` from the passages; falls back to ``fallback`` (extractive).

    ``weight`` gives a term's IDF (as for :class:`ExtractiveAnswerer`); ``max_passages``
    is how many of the best passages the model sees. Whether the passages answer the
    question is decided by the judge (``bot.judge``) before the model is called.
    """

    def __init__(
        self,
        model: BaseChatModel,
        fallback: ExtractiveAnswerer,
        weight: Weight,
        max_passages: int = 5,
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.weight = weight
        self.max_passages = max_passages

    # -- prompt -------------------------------------------------------------

    def messages(self, question: str, passages: Sequence[Passage]) -> list[BaseMessage]:
        """System prompt (fixed) and one user message holding the delimited passages and the question."""
        from langchain_core.messages import HumanMessage, SystemMessage

        tag = f"doan-{secrets.token_hex(4)}"
        template = prompts.load("llm_passage.txt")
        blocks = []
        for n, p in enumerate(passages, 1):
            doc = p.document
            blocks.append(template.format(
                tag=tag, n=n, label=doc.label, title=doc.title, date=f" (ngày {doc.date})" if doc.date else "",
                section=p.chunk.section or "—", text=p.chunk.text.replace(tag, "doan"),
            ))
        user = prompts.load("llm_user.txt").format(tag=tag, passages="\n\n".join(blocks), question=question)
        return [SystemMessage(prompts.load("llm_system.txt")), HumanMessage(user)]

    # -- answering ------------------------------------------------------------

    def answer(self, query: Question, passages: list[Passage]) -> Answer:
        early = self._early(query, passages)
        if early is not None:
            return early
        passages = passages[: self.max_passages]
        rewriter = CitationRewriter(len(passages))
        try:
            reply = self.model.invoke(self.messages(query.text, passages))
        except Exception as exc:  # any client, HTTP or timeout error: the extractive answer still stands
            log.warning("language model failed, answering extractively: %s", _describe(exc))
            return self._fallback(query, passages, "llm_fallback_error.txt")
        text = (rewriter.feed(chunk_text(reply)) + rewriter.flush()).strip()
        return self._finish(query, passages, text, rewriter.order)

    def stream(self, query: Question, passages: list[Passage]) -> Iterator[Delta | Answer]:
        early = self._early(query, passages)
        if early is not None:
            yield from _spoken(early)
            return
        passages = passages[: self.max_passages]
        rewriter = CitationRewriter(len(passages))
        text = ""  # rewritten so far
        shown = 0  # how much of it the reader has seen (nothing before the first valid citation)
        try:
            for chunk in self.model.stream(self.messages(query.text, passages)):
                text += rewriter.feed(chunk_text(chunk))
                if not shown:
                    text = text.lstrip()
                if rewriter.order and len(text) > shown:
                    yield Delta(text[shown:])
                    shown = len(text)
            text = (text + rewriter.flush()).strip()
        except Exception as exc:
            log.warning("language model failed, answering extractively: %s", _describe(exc))
            fallback = self._fallback(query, passages, "llm_fallback_error.txt")
            # Text already shown is superseded by the final answer (the authoritative event).
            yield from (_spoken(fallback) if not shown else [fallback])
            return
        final = self._finish(query, passages, text, rewriter.order)
        if not shown:
            yield from _spoken(final)
            return
        if len(final.answer) > shown:  # shown > 0 means it cites: final.answer is ``text``
            yield Delta(final.answer[shown:])
        yield final

    # -- pieces ---------------------------------------------------------------

    def _early(self, query: Question, passages: list[Passage]) -> Answer | None:
        """The answer when the model need not be asked: no passage (the service's judge has
        already refused questions the passages do not answer)."""
        if not passages:
            return not_found(query.language)
        return None

    def _finish(self, query: Question, passages: Sequence[Passage], text: str, order: list[int]) -> Answer:
        if not order:
            if not text or is_refusal(text):
                return replace(not_found(), mode=MODE)
            log.info("language model answer cites no passage; answering extractively")
            return self._fallback(query, passages, "llm_fallback_uncited.txt")
        citations = tuple(
            Citation(n, passages[i], self.quote(query, passages[i], _claim(text, n)))
            for n, i in enumerate(order, 1)
        )
        return Answer(text, True, citations, mode=MODE)

    def _fallback(self, query: Question, passages: Sequence[Passage], note: str) -> Answer:
        answer = self.fallback.answer(query, list(passages))
        return replace(answer, mode="extractive", note=prompts.load(note))

    def quote(self, query: Question, passage: Passage, claim: str) -> str:
        """Exact text of ``passage`` that best supports ``claim`` (the sentences citing it)."""
        weights = query_weights(query, self.weight)
        for term in with_pairs(words(claim)):
            if term not in default_lexicon().function_words and term not in weights:
                weights[term] = self.weight(term)
        text = passage.chunk.text
        start, end, _ = best_span(score_units(passage, weights, query.intents), text)
        return text[start:end].strip() or text.strip()


def _claim(text: str, n: int) -> str:
    """The sentences of ``text`` that cite ``[n]``, markers removed."""
    marker = f"[{n}]"
    found = [s for s in _SENTENCE.findall(text) if marker in s]
    return re.sub(r"\[\d+\]", " ", " ".join(found))


def _spoken(answer: Answer) -> Iterator[Delta | Answer]:
    yield from (Delta(piece) for piece in pieces(answer.answer))
    yield answer


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]

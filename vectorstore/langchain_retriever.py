"""chidao's hybrid retrieval as a LangChain ``BaseRetriever`` (the LLM chain's retriever).

A module of its own so that a process that never builds an LLM chain does not import LangChain's
retriever machinery (langsmith's run trees with it: ~0.36 s of ``chidao serve``'s start).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


class LangChainRetriever(BaseRetriever):
    """chidao's hybrid retrieval as a LangChain retriever."""

    retriever: Any
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.retriever.search(query, self.k)
        return [
            Document(
                page_content=p.chunk.text, id=p.chunk.id,
                metadata={k: v for k, v in p.to_dict().items() if k != "text"},
            )
            for p in passages
        ]

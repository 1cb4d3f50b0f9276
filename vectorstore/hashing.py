"""A deterministic hashing embedder: no model, instant, the same vectors on every machine.

Each folded word and word pair of a text is hashed (BLAKE2b, so not salted per
process) into one of ``dim`` signed buckets; the vector is L2-normalised. Texts
sharing words are near each other, which is all unit tests of reading, judging and
composing answers need from the dense side. The real model stays in the
integration tests and in use.
"""

from __future__ import annotations

import hashlib

import numpy as np

from vectorstore.embeddings import Embedder
from vectorstore.text import with_pairs, words


class HashingEmbedder(Embedder):
    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.key = f"hashing-{dim}"

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in with_pairs(words(text)):
                digest = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")
                vectors[row, digest % self.dim] += 1.0 if digest >> 63 else -1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

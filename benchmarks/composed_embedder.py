"""Passage vectors composed from the real model's vectors of lines, to build a 100k index on 2 cores.

Embedding 100,000 passages of ~300 tokens with e5-small takes hours on two CPU cores (2–4 passages/s).
The synthetic corpus recombines the seeds' lines with other places, agencies, dates and figures, so
its passages share a few hundred line shapes. :class:`ComposedEmbedder` embeds each line shape once
with the real model (as a ``passage:``, the first line seen of that shape), keeps those vectors in a
SQLite file, and gives a passage the normalised length-weighted mean of its lines' vectors (the
context line counts as its parts: the document's name and each heading): e5 pools
by averaging its tokens, so this approximates the passage's own vector (``agreement`` measures how
closely). Queries always go to the real model. Used only to build the benchmark's index.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

import numpy as np
from synthetic_corpus import AGENCIES, PROVINCES, SEED_PLACES, SIGNERS

from ingest.folding import fold
from vectorstore.embedder_base import Embedder, normalise

SCHEMA = "CREATE TABLE IF NOT EXISTS shapes (shape TEXT PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
_NAMES = sorted({fold(n) for n in (*PROVINCES, *SEED_PLACES, *AGENCIES, *SIGNERS)}, key=len, reverse=True)
_NAME = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in _NAMES) + r")\b")
_DIGITS = re.compile(r"\d+")
# The context line of a passage ("Kế hoạch … | 1. Sở Y tế › a) …") is split into its parts, so that its
# shapes are those of titles and headings, not of every combination of them.
_PARTS = re.compile(r"\n| \| | › ")
SHORTENED = ("…", "...")  # a part cut from the left: too arbitrary to have a shape of its own


def shape(line: str) -> str:
    """A line with names, numbers, case and accents taken out: the lines the generator varies share it."""
    return _DIGITS.sub("0", _NAME.sub("N", fold(line)))


def parts(text: str) -> list[str]:
    """The lines of a passage, its context line split into the document's name and headings."""
    found = [p.strip() for p in _PARTS.split(text)]
    kept = [p for p in found if p and not p.startswith(SHORTENED)]
    return kept or [text]


class ComposedEmbedder(Embedder):
    """Same key as ``real``; passages composed from line-shape vectors, queries embedded by ``real``."""

    def __init__(self, real: Embedder, path: Path) -> None:
        self.real = real
        self.key = real.key
        self.cache_key = (real.cache_key or real.key) + ":composed"
        self.max_tokens = real.max_tokens
        self.batch_size = 256
        self.path = Path(path)
        self.embedded_lines = 0
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=120, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(SCHEMA)
        self._vectors: dict[str, np.ndarray] = {
            s: np.frombuffer(v, dtype=np.float32) for s, v in self._conn.execute("SELECT shape, vector FROM shapes")
        }

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    @property
    def shapes(self) -> int:
        return len(self._vectors)

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        if query:
            return self.real.embed(texts, query=True)
        lines = [parts(text) for text in texts]
        with self._lock:
            self._learn([line for group in lines for line in group])
            rows = [self._compose(group) for group in lines]
        return normalise(np.vstack(rows))

    def _learn(self, lines: list[str]) -> None:
        """Embed, with the real model, the first line of each shape not seen before."""
        todo: dict[str, str] = {}
        for line in lines:
            key = shape(line)
            if key not in self._vectors:
                todo.setdefault(key, line)
        if not todo:
            return
        vectors = self.real.embed(list(todo.values()), query=False)
        new = dict(zip(todo, np.asarray(vectors, dtype=np.float32)))
        rows = [(k, v.tobytes()) for k, v in new.items()]
        self._conn.executemany("INSERT OR REPLACE INTO shapes VALUES (?, ?)", rows)
        self._vectors.update(new)
        self.embedded_lines += len(new)

    def _compose(self, lines: list[str]) -> np.ndarray:
        weights = np.array([len(line) for line in lines], dtype=np.float32)
        vectors = np.vstack([self._vectors[shape(line)] for line in lines])
        return (weights[:, None] * vectors).sum(axis=0)


def agreement(composed: ComposedEmbedder, texts: list[str]) -> tuple[float, float]:
    """Mean and minimum cosine between composed and real vectors of ``texts`` (real ones embedded now)."""
    real = composed.real.embed(texts, query=False)
    mixed = composed.embed(texts, query=False)
    cosines = (real * mixed).sum(axis=1)
    return float(cosines.mean()), float(cosines.min())

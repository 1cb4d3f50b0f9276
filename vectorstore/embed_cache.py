"""Passages embedded once: a SQLite table keyed by (embedder, sha256 of the text) -> float32 vector.

Wraps any :class:`Embedder`. Re-ingesting a changed document embeds only its new passages; a
benchmark that rebuilds an index reuses its vectors. Queries pass straight through. Several
processes may share one file (WAL, a busy timeout, ``INSERT OR IGNORE``: the same text gives the
same vector, so whichever writer wins is right).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from vectorstore.embedder_base import Embedder

SCHEMA = """CREATE TABLE IF NOT EXISTS vectors (
    space TEXT NOT NULL, digest BLOB NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (space, digest)
) WITHOUT ROWID"""
LOOKUP_CHUNK = 500  # parameters per SELECT, under SQLite's limit


class CachedEmbedder(Embedder):
    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.path = Path(path)
        self.space = inner.cache_key or inner.key
        self.hits = 0
        self.misses = 0
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # the wrapped embedder's identity and limits
    @property
    def key(self) -> str:  # type: ignore[override]
        return self.inner.key

    @property
    def max_tokens(self) -> int:  # type: ignore[override]
        return self.inner.max_tokens

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        return self.inner.batch_size

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def warm(self, wait: bool = True) -> None:
        self.inner.warm(wait)

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        if query or not texts:
            return self.inner.embed(texts, query=query)
        digests = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        known = self._lookup(set(digests))
        todo: dict[bytes, int] = {}  # digest -> its first text, in order
        for i, digest in enumerate(digests):
            if digest not in known:
                todo.setdefault(digest, i)
        if todo:
            fresh = self.inner.embed([texts[i] for i in todo.values()], query=False)
            new = dict(zip(todo, np.asarray(fresh, dtype=np.float32)))
            self._store(new)
            known.update(new)
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        return np.vstack([known[d] for d in digests])

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(SCHEMA)
            self._conn = conn
        return self._conn

    def _lookup(self, digests: set[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        wanted = list(digests)
        with self._lock:
            conn = self._connection()
            for start in range(0, len(wanted), LOOKUP_CHUNK):
                part = wanted[start:start + LOOKUP_CHUNK]
                rows = conn.execute(
                    f"SELECT digest, vector FROM vectors WHERE space = ? AND digest IN ({','.join('?' * len(part))})",
                    [self.space, *part],
                )
                for digest, blob in rows:
                    found[digest] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _store(self, vectors: dict[bytes, np.ndarray]) -> None:
        rows = [(self.space, d, v.tobytes()) for d, v in vectors.items()]
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO vectors (space, digest, vector) VALUES (?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

"""The lexical side on disk, in the data directory: one SQLite file and one merged segment.

``lexical.sqlite3`` holds, per document version, each passage's term counts (as
term ids) — written in one transaction, so a version is there whole or not at
all. It is the lexical side's durable record: written by ingest next to the
chunks in Chroma (before the registry names the version), or, on a node that
did not ingest the version itself, copied from Chroma when the registry first
names it. ``base/`` is a merged, memory-mapped :class:`Segment` of many
versions (named by the ``BASE`` file), so a process starts without rebuilding
anything. Which versions are *live* is never decided here: the registry says.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from vectorstore import lexical_segments
from vectorstore.lexical_segments import DocKey, Segment
from vectorstore.records import DocumentRecord, StoredChunk, index_text
from vectorstore.text import passage_terms

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS terms (term TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (doc_id TEXT, version TEXT, rows INTEGER, PRIMARY KEY (doc_id, version));
CREATE TABLE IF NOT EXISTS rows (
    row INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT, version TEXT, chunk_id TEXT,
    length INTEGER, term_ids BLOB, tfs BLOB);
CREATE INDEX IF NOT EXISTS rows_by_version ON rows (doc_id, version);
"""
_TERM_CACHE = 500_000


def chunk_terms(chunk: StoredChunk, doc: DocumentRecord) -> list[str]:
    """What lexical search indexes for a passage (the same at ingest and at catch-up)."""
    return passage_terms(index_text(chunk, doc))


class LexicalStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "lexical.sqlite3"
        self._local = threading.local()
        self._ids: dict[str, int] = {}
        self._ids_lock = threading.Lock()
        self._db().executescript(SCHEMA)  # idempotent; each statement commits on its own

    # -- connections ----------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; other processes' writers wait (BEGIN IMMEDIATE)."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- terms ------------------------------------------------------------------------

    def term_ids(self, terms: Iterable[str]) -> dict[str, int]:
        """Ids of the known ``terms`` (unknown ones are left out). Ids never change."""
        wanted = set(terms)
        with self._ids_lock:
            out = {t: self._ids[t] for t in wanted if t in self._ids}
        missing = list(wanted - out.keys())
        for start in range(0, len(missing), 900):
            part = missing[start:start + 900]
            rows = self._db().execute(
                f"SELECT term, id FROM terms WHERE term IN ({','.join('?' * len(part))})", part
            ).fetchall()
            out.update(rows)
        with self._ids_lock:
            if len(self._ids) > _TERM_CACHE:
                self._ids.clear()
            self._ids.update(out)
        return out

    def _assign_ids(self, db: sqlite3.Connection, terms: set[str]) -> dict[str, int]:
        known: dict[str, int] = {}
        items = list(terms)
        for start in range(0, len(items), 900):
            part = items[start:start + 900]
            known.update(db.execute(
                f"SELECT term, id FROM terms WHERE term IN ({','.join('?' * len(part))})", part
            ).fetchall())
        new = sorted(terms - known.keys())
        if new:
            top = db.execute("SELECT COALESCE(MAX(id), -1) FROM terms").fetchone()[0]
            fresh = {t: top + 1 + i for i, t in enumerate(new)}
            db.executemany("INSERT INTO terms (term, id) VALUES (?, ?)", fresh.items())
            known.update(fresh)
        return known

    # -- document versions ----------------------------------------------------------------

    def put_version(self, doc: DocumentRecord, chunks: Sequence[StoredChunk]) -> None:
        """Store one version's passages (replacing a partial earlier attempt), in one transaction."""
        term_lists = [chunk_terms(c, doc) for c in chunks]
        with self._write() as db:
            ids = self._assign_ids(db, {t for terms in term_lists for t in terms})
            db.execute("DELETE FROM rows WHERE doc_id = ? AND version = ?", (doc.id, doc.version))
            rows = []
            for chunk, terms in zip(chunks, term_lists):
                counts = Counter(terms)
                term_ids = np.fromiter((ids[t] for t in counts), dtype=np.int32, count=len(counts))
                tfs = np.fromiter((min(n, 65535) for n in counts.values()), dtype=np.uint16, count=len(counts))
                rows.append((doc.id, doc.version, chunk.id, len(terms), term_ids.tobytes(), tfs.tobytes()))
            db.executemany(
                "INSERT INTO rows (doc_id, version, chunk_id, length, term_ids, tfs) VALUES (?, ?, ?, ?, ?, ?)", rows
            )
            db.execute("INSERT OR REPLACE INTO versions (doc_id, version, rows) VALUES (?, ?, ?)",
                       (doc.id, doc.version, len(chunks)))

    def versions(self) -> set[DocKey]:
        return set(self._db().execute("SELECT doc_id, version FROM versions").fetchall())

    def segment(self, key: DocKey) -> Segment | None:
        """One stored version as a segment, or None when this store lacks it."""
        db = self._db()
        if db.execute("SELECT 1 FROM versions WHERE doc_id = ? AND version = ?", key).fetchone() is None:
            return None
        got = db.execute(
            "SELECT chunk_id, length, term_ids, tfs FROM rows WHERE doc_id = ? AND version = ? ORDER BY row", key
        ).fetchall()
        rows = [(np.frombuffer(t, dtype=np.int32), np.frombuffer(f, dtype=np.uint16), n) for _, n, t, f in got]
        return Segment.from_rows(key, [c for c, _, _, _ in got], rows)

    def drop(self, doc_id: str, keep: str | None = None) -> None:
        """Forget a document's versions (all, or all but ``keep``)."""
        with self._write() as db:
            for table in ("rows", "versions"):
                db.execute(f"DELETE FROM {table} WHERE doc_id = ? AND version IS NOT ?", (doc_id, keep))

    def forget(self, keys: Iterable[DocKey]) -> None:
        """Delete these versions' rows."""
        with self._write() as db:
            for key in keys:
                db.execute("DELETE FROM rows WHERE doc_id = ? AND version = ?", key)
                db.execute("DELETE FROM versions WHERE doc_id = ? AND version = ?", key)

    def collect_garbage(self, live: dict[str, str]) -> int:
        """Forget versions the registry does not name (left by an interrupted ingest); return how many."""
        stale = [k for k in self.versions() if live.get(k[0]) != k[1]]
        self.forget(stale)
        with self._write() as db:
            db.execute("DELETE FROM rows WHERE (doc_id, version) NOT IN (SELECT doc_id, version FROM versions)")
        with self.merge_lock() as held:
            if held:
                self._clean_segments()
        return len(stale)

    # -- the merged base segment --------------------------------------------------------------

    def base_name(self) -> str:
        try:
            return (self.folder / "BASE").read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def load_base(self) -> tuple[str, Segment]:
        """The current merged segment (empty when none was written yet)."""
        for _ in range(3):  # a merge may replace it between reading BASE and opening it
            name = self.base_name()
            if not name:
                return "", Segment.empty()
            try:
                return name, lexical_segments.load(self.folder / name)
            except (OSError, ValueError) as exc:
                log.info("lexical base %s unreadable (%s); retrying", name, exc)
        return "", Segment.empty()

    @contextmanager
    def merge_lock(self) -> Iterator[bool]:
        """Held by the one process merging segments; others get False and skip."""
        with open(self.folder / "merge.lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def write_base(self, segments: Sequence[Segment], keep: Sequence[np.ndarray]) -> str:
        """Write a new merged base from the kept rows of ``segments`` and make it current."""
        name = f"base-{uuid.uuid4().hex[:12]}"
        lexical_segments.write_merged(segments, keep, self.folder / name)
        tmp = self.folder / f"BASE.{os.getpid()}.tmp"
        tmp.write_text(name, encoding="utf-8")
        os.replace(tmp, self.folder / "BASE")  # atomic: readers see the old base or the new one
        self._clean_segments()
        return name

    def _clean_segments(self) -> None:
        """Delete merged segments no longer current, and unfinished ones (call holding the merge lock;
        a process that still maps an old one keeps reading it until it unmaps it)."""
        current = self.base_name()
        for path in self.folder.glob("base-*"):
            if path.name != current:
                shutil.rmtree(path, ignore_errors=True)

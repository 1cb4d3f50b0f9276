"""Keep a process's lexical view in step with the registry, one document version at a time.

On each look (at most once per registry read), the versions the registry names
are compared with the versions the view holds: a version the view lacks is
read from the local lexical store, or — when another node ingested it — copied
there from Chroma first; a version the registry no longer names is masked out.
Nothing else is touched. New versions sit in small in-memory segments; when
those (and masked rows) grow past a share of the merged base, one process
merges everything live into a new base on disk, in a background thread, and
every process over the data directory maps it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import numpy as np

from vectorstore import lexical_segments
from vectorstore.lexical import LexicalIndex
from vectorstore.lexical_segments import DocKey, Segment
from vectorstore.lexical_store import LexicalStore
from vectorstore.records import DocumentRecord
from vectorstore.store import Store

log = logging.getLogger(__name__)

FANIN = 4  # small segments of one size class merged together in memory
BASE_TTL = 1.0  # seconds; another process's merged base is picked up within this (the view is whole without it)
CATCH_UP_BATCH = 64  # document versions copied from Chroma per request


class LexicalSync:
    def __init__(self, store: Store, min_merge: int = 2000, merge_share: float = 0.1) -> None:
        self.store = store
        self.lexical: LexicalStore = store.lexical
        self.min_merge = min_merge
        self.merge_share = merge_share
        self._lock = threading.RLock()
        self._view: LexicalIndex | None = None
        self._key = ""
        self._base_name: str | None = None
        self._base = Segment.empty()
        self._delta: list[Segment] = []
        self._merging: threading.Thread | None = None
        self._seen_base = ""  # the base's name as last read from disk, and when
        self._base_at = 0.0
        self._was_live: set[DocKey] = set()

    def index(self) -> LexicalIndex:
        """The current view (refreshed when the registry or the merged base changed)."""
        key, base = self.store.fingerprint(), self._current_base()
        view = self._view
        if view is not None and key == self._key and base == self._base_name:
            return view
        with self._lock:
            if self._view is None or key != self._key or base != self._base_name:
                self._refresh(key, base)
            assert self._view is not None
            return self._view

    def _current_base(self) -> str:
        """The merged base's name on disk, looked at most once per ``BASE_TTL`` (a chat asks for the
        index once per weighed term: thousands of file reads otherwise)."""
        now = time.monotonic()
        if now - self._base_at > BASE_TTL:
            self._seen_base, self._base_at = self.lexical.base_name(), now
        return self._seen_base

    # -- refresh ------------------------------------------------------------------

    def _refresh(self, key: str, base_name: str) -> None:
        if base_name != self._base_name:
            self._base_name, self._base = self.lexical.load_base()
            self._seen_base, self._base_at = self._base_name, time.monotonic()
            in_base = {s.key for s in self._base.spans}
            self._delta = [s for s in self._delta if not {sp.key for sp in s.spans} <= in_base]
        registry = self.store.registry()
        live = {(d.id, d.version) for d in registry.values()}
        if gone := self._was_live - live:  # replaced or removed since: no reader will want them again
            self.lexical.forget(gone)
        self._was_live = live
        have = {s.key for seg in (self._base, *self._delta) for s in seg.spans}
        missing = sorted(live - have)
        stored = self.lexical.versions()
        for doc_key in [k for k in missing if k in stored]:
            if (seg := self.lexical.segment(doc_key)) is not None:
                self._add(seg, live)
        absent = [k for k in missing if k not in stored]
        for start in range(0, len(absent), CATCH_UP_BATCH):
            for seg in self._catch_up(absent[start:start + CATCH_UP_BATCH], registry):
                self._add(seg, live)
        self._key = key
        self._view = LexicalIndex([self._base, *self._delta], live, self.lexical.term_ids)
        if self._needs_merge(self._view):
            self._start_merge()

    def _catch_up(self, keys: Sequence[DocKey], registry: dict[str, DocumentRecord]) -> list[Segment]:
        """Copy versions another node ingested from Chroma into the local store; skip any not whole."""
        found = self.store.version_chunks(keys)
        out = []
        for doc_key in keys:
            doc, chunks = registry[doc_key[0]], found.get(doc_key, [])
            if len(chunks) != doc.chunk_count:  # being replaced right now: next look
                log.info("lexical catch-up: %s has %d of %d chunks; later", doc_key, len(chunks), doc.chunk_count)
                continue
            self.lexical.put_version(doc, chunks)
            if (seg := self.lexical.segment(doc_key)) is not None:
                out.append(seg)
        if out:
            log.info("lexical catch-up: copied %d document versions from Chroma", len(out))
        return out

    def _add(self, seg: Segment, live: set[DocKey]) -> None:
        """Append a small segment; merge the newest ones while they are of one size class."""
        self._delta.append(seg)
        while len(self._delta) >= FANIN and self._delta[-FANIN].n_rows <= FANIN * max(self._delta[-1].n_rows, 64):
            tail = self._delta[-FANIN:]
            self._delta[-FANIN:] = [lexical_segments.merge(tail, [_live_rows(s, live) for s in tail])]

    # -- merging into the base ------------------------------------------------------------

    def _needs_merge(self, view: LexicalIndex) -> bool:
        pending = sum(s.n_rows for s in self._delta) + view.dead_rows
        return pending >= max(self.min_merge, self.merge_share * self._base.n_rows)

    def _start_merge(self) -> None:
        if self._merging is not None and self._merging.is_alive():
            return
        self._merging = threading.Thread(target=self._merge_logged, name="lexical-merge", daemon=True)
        self._merging.start()

    def _merge_logged(self) -> None:
        try:
            self.merge()
        except Exception:  # the view keeps serving from the segments it has; the next change retries
            log.exception("merging the lexical index failed")

    def merge(self) -> bool:
        """Merge the live rows of the current view into a new base on disk; False if another
        process is merging (it will publish its base; this view picks it up)."""
        with self.lexical.merge_lock() as held:
            if not held:
                return False
            view = self._view
            if view is None:
                return False
            keep = [view.live[int(a):int(a) + s.n_rows] for a, s in zip(view.offsets, view.segments)]
            name = self.lexical.write_base(view.segments, keep)
            log.info("lexical: merged %d live passages into %s", view.size, name)
        with self._lock:
            merged = {id(s) for s in view.segments}
            self._delta = [s for s in self._delta if id(s) not in merged]
            self._base_name, self._base_at = None, 0.0  # the next look maps the new base
        return True

    def settle(self) -> None:
        """Bring the view up to date and merge now if due (for short-lived processes: ingest)."""
        self.index()
        if self._merging is not None:
            self._merging.join()
        if self._needs_merge(self.index()):
            self.merge()


def _live_rows(seg: Segment, live: set[DocKey]) -> np.ndarray:
    mask = np.zeros(seg.n_rows, dtype=bool)
    for span in seg.spans:
        if span.key in live:
            mask[span.first:span.first + span.count] = True
    return mask

"""Chunks by id, the recently used ones kept in memory (a chunk id names one immutable version)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from vectorstore.records import StoredChunk
from vectorstore.store import Store


class RecentChunks:
    def __init__(self, store: Store, size: int) -> None:
        self.store = store
        self.size = size
        self._kept: OrderedDict[str, StoredChunk] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, ids: Iterable[str]) -> dict[str, StoredChunk]:
        """The chunks of ``ids`` still stored, from memory or Chroma; the least recently used go first."""
        wanted = list(dict.fromkeys(ids))
        with self._lock:
            found = {cid: self._kept[cid] for cid in wanted if cid in self._kept}
        missing = [cid for cid in wanted if cid not in found]
        fetched = self.store.get_chunks(missing) if missing else {}
        found.update(fetched)
        with self._lock:
            self._kept.update(fetched)
            for cid in found:
                if cid in self._kept:
                    self._kept.move_to_end(cid)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return found

"""BM25 over accent-folded syllables and syllable pairs, computed at query time.

A :class:`LexicalIndex` is an immutable view: a few postings segments (see
``lexical_segments``) and which of their document versions are live. Scores are
Lucene's BM25 (k1 1.2, b 0.75, the formula bm25s uses), with the corpus
statistics — passage count, average length, document frequencies — taken over
the live passages only, so adding or removing a document never requires
re-scoring the others. ``LexicalSync`` builds a new view when the registry or
the segments change.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Collection, Sequence

import numpy as np

from vectorstore.lexical_segments import DocKey, Segment

K1, B = 1.2, 0.75
COMMON_SHARE = 0.1  # a term held by more of the live passages than this is scored last (see LexicalIndex.search)
TermIds = Callable[[Sequence[str]], dict[str, int]]


class LexicalIndex:
    def __init__(self, segments: Sequence[Segment], live: Collection[DocKey], term_ids: TermIds) -> None:
        self.segments = tuple(segments)
        self._term_ids = term_ids
        self.offsets = np.cumsum([0] + [s.n_rows for s in self.segments]).astype(np.int64)
        total = int(self.offsets[-1])
        self.lengths = np.concatenate([np.asarray(s.lengths, dtype=np.float32) for s in self.segments]) \
            if self.segments else np.zeros(0, dtype=np.float32)
        self.live = np.zeros(total, dtype=bool)
        self.row_doc = np.full(total, -1, dtype=np.int32)
        self.keys: set[DocKey] = set()
        doc_index: dict[str, int] = {}
        for offset, seg in zip(self.offsets, self.segments):
            for span in seg.spans:
                first = int(offset) + span.first
                self.row_doc[first:first + span.count] = doc_index.setdefault(span.doc_id, len(doc_index))
                if span.key in live and span.key not in self.keys:  # a version held twice counts once
                    self.live[first:first + span.count] = True
                self.keys.add(span.key)
        self.doc_ids = list(doc_index)
        self.size = int(self.live.sum())
        self.avgdl = float(self.lengths[self.live].mean()) if self.size else 1.0
        self.norm = (K1 * (1 - B + B * self.lengths / self.avgdl)).astype(np.float32)
        self._idf: dict[str, tuple[float, int, int | None, float]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.size

    @property
    def dead_rows(self) -> int:
        return len(self.live) - self.size

    # -- statistics -------------------------------------------------------------------

    def _postings(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query term index, view row, tf) of every posting of the term ids ``ids``, dead rows included."""
        parts = [
            (i, rows if offset == 0 else rows + np.int32(offset), tfs)
            for offset, seg in zip(self.offsets, self.segments) for i, rows, tfs in seg.postings(ids)
        ]
        if not parts:
            return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32)
        which = np.repeat(np.array([p[0] for p in parts], dtype=np.int32), [len(p[1]) for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        tfs = np.concatenate([p[2] for p in parts]).astype(np.float32)
        return which, rows, tfs

    def _idf_of(self, df: np.ndarray) -> np.ndarray:
        n = self.size
        return np.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def idf(self, term: str) -> float:
        """Lucene's IDF of ``term`` over the live passages (0 documents hold it: the highest)."""
        return self._stats(term)[0]

    def _stats(self, term: str) -> tuple[float, int, int | None, float]:
        """(IDF, live passages holding it, term id, the most its BM25 tf part reaches in a live passage)
        of ``term``, remembered for this view."""
        with self._lock:
            if term in self._idf:
                return self._idf[term]
        term_id = self._term_ids([term]).get(term)
        df, most = 0, 0.0
        if term_id is not None:
            _, rows, tfs = self._postings(np.array([term_id], dtype=np.int32))
            live = self.live[rows]
            df = int(live.sum())
            if df:
                tf = tfs[live]
                most = float((tf / (tf + self.norm[rows[live]])).max())
        value = (math.log(1 + (self.size - df + 0.5) / (df + 0.5)), df, term_id, most)
        with self._lock:
            if len(self._idf) > 100_000:
                self._idf.clear()
            self._idf[term] = value
        return value

    # -- search --------------------------------------------------------------------------

    def allowed_rows(self, documents: Collection[str]) -> np.ndarray:
        """A row mask: the rows of the given document ids."""
        doc_mask = np.fromiter((d in documents for d in self.doc_ids), dtype=bool, count=len(self.doc_ids))
        return np.append(doc_mask, False)[self.row_doc]  # row_doc -1 (no document) -> False

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 of every view row for ``terms`` (a term given twice counts twice); dead rows score 0."""
        counts = Counter(terms)
        ids = self._term_ids(list(counts))
        scores = np.zeros(len(self.live), dtype=np.float64)
        if not ids or not self.size:
            return scores
        known = sorted(ids, key=ids.__getitem__)
        term_ids = np.array([ids[t] for t in known], dtype=np.int32)
        weights = np.array([counts[t] for t in known], dtype=np.float64)
        which, rows, tfs = self._postings(term_ids)
        if not len(rows):
            return scores
        df = np.bincount(which, weights=self.live[rows], minlength=len(term_ids))
        contrib = (weights * self._idf_of(df)).astype(np.float32)[which] * (tfs / (tfs + self.norm[rows]))
        scores = np.bincount(rows, weights=contrib, minlength=len(self.live))
        scores[~self.live] = 0.0
        return scores

    def search(
        self, terms: Sequence[str], k: int, documents: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``k`` best live passages for ``terms`` as (chunk id, score), optionally only those of
        ``documents`` (the filter applies before the top ``k`` is taken)."""
        allowed = self.allowed_rows(documents) if documents is not None else None
        scores = self._pruned_scores(terms, k, allowed)
        if scores is None:
            scores = self.scores(terms)
        if allowed is not None:
            scores[~allowed] = 0.0
        k = min(k, len(scores))
        if k <= 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        hits = [(self.chunk_id(int(i)), float(scores[i])) for i in top if scores[i] > 0]
        return sorted(hits, key=lambda h: (-h[1], h[0]))

    def _pruned_scores(self, terms: Sequence[str], k: int, allowed: np.ndarray | None) -> np.ndarray | None:
        """BM25 exact for the rows that can reach the top ``k`` (the others 0), or None when the
        query has no common or no rarer term (then :meth:`scores` scores every row).

        Most of a query's postings are those of a few common syllables ("kế", "hoạch", "tỉnh"): 93 %
        at 100k passages. A term adds at most weight x IDF x its largest tf part (remembered per
        term) to a passage (MaxScore): the rarer terms are scored first, and the k-th best of
        those scores is a floor for the final k-th. The common terms whose bounds add up to less
        than that floor (the commonest first) cannot lift a passage holding none of the other
        terms into the top ``k``: they are scored only on the passages the other terms found."""
        counts = Counter(terms)
        stats = {t: self._stats(t) for t in counts}
        stats = {t: st for t, st in stats.items() if st[2] is not None and st[1] > 0}
        common = [t for t, st in stats.items() if st[1] > COMMON_SHARE * self.size]
        rare = [t for t in stats if t not in common]
        if not common or not rare:
            return None
        scores = np.zeros(len(self.live), dtype=np.float64)
        for t in rare:
            self._add(scores, stats[t], counts[t], None)
        eligible = self.live if allowed is None else self.live & allowed
        found = scores[eligible & (scores > 0)]
        floor = float(np.partition(found, -k)[-k]) if len(found) >= k else 0.0
        bound = {t: counts[t] * stats[t][0] * stats[t][3] for t in common}
        common.sort(key=bound.__getitem__)
        late, total = [], 0.0
        for t in common:
            if total + bound[t] >= floor * (1 - 1e-6):
                break
            late.append(t)
            total += bound[t]
        for t in common[len(late):]:
            self._add(scores, stats[t], counts[t], None)
        if late:
            found_rows = eligible & (scores > 0)
            for t in late:
                self._add(scores, stats[t], counts[t], found_rows)
            scores[~found_rows] = 0.0
        scores[~self.live] = 0.0
        return scores

    def _add(
        self, scores: np.ndarray, stat: tuple[float, int, int | None, float], weight: int, only: np.ndarray | None
    ) -> None:
        """Add one term's BM25 to ``scores`` (on the rows of ``only`` when given)."""
        idf, _, term_id, _ = stat
        for offset, seg in zip(self.offsets, self.segments):
            for _, rows, tfs in seg.postings(np.array([term_id], dtype=np.int32)):
                rows = rows + np.int32(offset) if offset else rows
                if only is not None:
                    keep = only[rows]
                    rows, tfs = rows[keep], tfs[keep]
                tf = tfs.astype(np.float32)
                scores[rows] += (weight * idf) * (tf / (tf + self.norm[rows]))

    def chunk_ids_of(self, documents: Collection[str], most: int) -> list[str] | None:
        """The live passages of ``documents``, or None when there are more than ``most``."""
        rows = np.flatnonzero(self.allowed_rows(documents) & self.live)
        return None if len(rows) > most else self._chunk_ids(rows)

    def chunks_with(self, term: str, most: int = 20_000) -> set[str] | None:
        """Chunk ids of the live passages indexed with ``term``; None when more than ``most`` are
        (a word that common narrows nothing down)."""
        term_id = self._term_ids([term]).get(term)
        if term_id is None:
            return set()
        _, rows, _ = self._postings(np.array([term_id], dtype=np.int32))
        rows = rows[self.live[rows]]
        return None if len(rows) > most else set(self._chunk_ids(rows))

    def _chunk_ids(self, rows: np.ndarray) -> list[str]:
        """Chunk ids of view rows (ascending rows: one segment after another)."""
        rows = np.sort(rows)
        where = np.searchsorted(self.offsets, rows, side="right") - 1
        out: list[str] = []
        for seg in np.unique(where):
            ids, offset = self.segments[seg].chunk_ids, int(self.offsets[seg])
            out += [ids[r - offset] for r in rows[where == seg].tolist()]
        return out

    def chunk_id(self, row: int) -> str:
        seg = int(np.searchsorted(self.offsets, row, side="right")) - 1
        return self.segments[seg].chunk_ids[row - int(self.offsets[seg])]

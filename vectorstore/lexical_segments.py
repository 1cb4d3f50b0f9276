"""Immutable postings segments: the building block of the incremental lexical index.

A :class:`Segment` holds the passages (rows) of one or more document versions:
for each term id it indexes, the rows that contain the term and how often.
Segments never change once built. New document versions become small segments;
segments are merged (dropping the rows of versions no longer live) into larger
ones, and the largest is kept on disk as memory-mapped files, so a process
starts by mapping it instead of rebuilding it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DocKey = tuple[str, str]  # (document id, version)
_TERM_BLOCK = 1 << 16  # term ids merged at a time when writing a segment to disk (bounds memory)


@dataclass(frozen=True)
class Span:
    """The rows of one document version inside a segment."""

    doc_id: str
    version: str
    first: int
    count: int

    @property
    def key(self) -> DocKey:
        return (self.doc_id, self.version)


@dataclass(frozen=True)
class Segment:
    terms: np.ndarray  # int32, sorted unique term ids with postings here
    starts: np.ndarray  # int64, len(terms) + 1 offsets into rows / tfs
    rows: np.ndarray  # int32, segment-local row numbers, ascending within a term
    tfs: np.ndarray  # uint16, occurrences of the term in the row
    lengths: np.ndarray  # int32 per row: the passage's number of terms
    chunk_ids: tuple[str, ...]  # per row
    spans: tuple[Span, ...]  # which rows belong to which document version

    @property
    def n_rows(self) -> int:
        return len(self.lengths)

    def postings(self, term_ids: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(index into ``term_ids``, rows, tfs) for each of ``term_ids`` this segment holds."""
        if not len(self.terms) or not len(term_ids):
            return []
        at = np.searchsorted(self.terms, term_ids)
        at = np.minimum(at, len(self.terms) - 1)
        found = np.nonzero(self.terms[at] == term_ids)[0]
        out = []
        for i in found:
            lo, hi = int(self.starts[at[i]]), int(self.starts[at[i] + 1])
            out.append((int(i), self.rows[lo:hi], self.tfs[lo:hi]))
        return out

    # -- building -------------------------------------------------------------

    @classmethod
    def from_rows(
        cls, key: DocKey, chunk_ids: Sequence[str], rows: Sequence[tuple[np.ndarray, np.ndarray, int]]
    ) -> Segment:
        """One document version's segment from its rows: (term ids, tfs, length) each."""
        term_parts = [np.asarray(t, dtype=np.int32) for t, _, _ in rows]
        tf_parts = [np.asarray(f, dtype=np.uint16) for _, f, _ in rows]
        row_parts = [np.full(len(t), i, dtype=np.int32) for i, t in enumerate(term_parts)]
        lengths = np.array([n for _, _, n in rows], dtype=np.int32)
        spans = (Span(key[0], key[1], 0, len(rows)),)
        return _assemble(term_parts, row_parts, tf_parts, lengths, tuple(chunk_ids), spans)

    @classmethod
    def empty(cls) -> Segment:
        return _assemble([], [], [], np.zeros(0, dtype=np.int32), (), ())


def _assemble(
    term_parts: list[np.ndarray], row_parts: list[np.ndarray], tf_parts: list[np.ndarray],
    lengths: np.ndarray, chunk_ids: tuple[str, ...], spans: tuple[Span, ...],
) -> Segment:
    terms = np.concatenate(term_parts) if term_parts else np.zeros(0, dtype=np.int32)
    rows = np.concatenate(row_parts) if row_parts else np.zeros(0, dtype=np.int32)
    tfs = np.concatenate(tf_parts) if tf_parts else np.zeros(0, dtype=np.uint16)
    order = np.argsort(terms, kind="stable")  # runs of sorted input merge in linear time
    terms, rows, tfs = terms[order], rows[order], tfs[order]
    unique, first = np.unique(terms, return_index=True)
    starts = np.append(first, len(terms)).astype(np.int64)
    return Segment(unique.astype(np.int32), starts, rows, tfs, lengths, chunk_ids, spans)


def _renumbered(segments: Sequence[Segment], keep: Sequence[np.ndarray]) -> tuple[list[np.ndarray], Segment]:
    """New row numbers for each segment's kept rows (-1 for dropped), and the merged row data."""
    maps, lengths, chunk_ids, spans, next_row = [], [], [], [], 0
    for seg, mask in zip(segments, keep):
        new = np.full(seg.n_rows, -1, dtype=np.int32)
        new[mask] = np.arange(next_row, next_row + int(mask.sum()), dtype=np.int32)
        maps.append(new)
        lengths.append(seg.lengths[mask])
        chunk_ids.extend(c for c, k in zip(seg.chunk_ids, mask) if k)
        for span in seg.spans:
            if mask[span.first:span.first + span.count].all() and span.count:
                spans.append(Span(span.doc_id, span.version, int(new[span.first]), span.count))
        next_row += int(mask.sum())
    rows = Segment.empty()
    merged_lengths = np.concatenate(lengths) if lengths else rows.lengths
    return maps, Segment(rows.terms, rows.starts, rows.rows, rows.tfs, merged_lengths, tuple(chunk_ids), tuple(spans))


def _block(segments: Sequence[Segment], maps: Sequence[np.ndarray], lo: int, hi: int) -> tuple[np.ndarray, ...]:
    """The kept postings of term ids in [lo, hi) from every segment, renumbered."""
    terms, rows, tfs = [], [], []
    for seg, new in zip(segments, maps):
        a, b = np.searchsorted(seg.terms, [lo, hi])
        if a == b:
            continue
        p, q = int(seg.starts[a]), int(seg.starts[b])
        counts = np.diff(seg.starts[a:b + 1])
        seg_terms = np.repeat(np.asarray(seg.terms[a:b]), counts)
        seg_rows = new[np.asarray(seg.rows[p:q])]
        kept = seg_rows >= 0
        terms.append(seg_terms[kept])
        rows.append(seg_rows[kept])
        tfs.append(np.asarray(seg.tfs[p:q])[kept])
    if not terms:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.uint16)
    t, r, f = np.concatenate(terms), np.concatenate(rows), np.concatenate(tfs)
    order = np.argsort(t, kind="stable")  # rows stay ascending within a term: segments come in row order
    return t[order], r[order], f[order]


def merge(segments: Sequence[Segment], keep: Sequence[np.ndarray]) -> Segment:
    """One segment holding the kept rows of ``segments`` (in memory)."""
    maps, meta = _renumbered(segments, keep)
    top = max((int(s.terms[-1]) + 1 for s in segments if len(s.terms)), default=0)
    t, r, f = _block(segments, maps, 0, top)
    unique, first = np.unique(t, return_index=True)
    starts = np.append(first, len(t)).astype(np.int64)
    return Segment(unique.astype(np.int32), starts, r, f, meta.lengths, meta.chunk_ids, meta.spans)


# -- on disk ----------------------------------------------------------------------

_ARRAYS = {"terms": np.int32, "starts": np.int64, "rows": np.int32, "tfs": np.uint16, "lengths": np.int32}


def write_merged(segments: Sequence[Segment], keep: Sequence[np.ndarray], folder: Path) -> None:
    """Merge like :func:`merge`, streaming term blocks to files in ``folder`` (memory stays bounded)."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    maps, meta = _renumbered(segments, keep)
    top = max((int(s.terms[-1]) + 1 for s in segments if len(s.terms)), default=0)
    counts = {"terms": 0, "rows": 0}
    with open(tmp / "terms.bin", "wb") as ft, open(tmp / "starts.bin", "wb") as fs, \
            open(tmp / "rows.bin", "wb") as fr, open(tmp / "tfs.bin", "wb") as ff:
        for lo in range(0, top, _TERM_BLOCK):
            t, r, f = _block(segments, maps, lo, min(top, lo + _TERM_BLOCK))
            unique, first = np.unique(t, return_index=True)
            ft.write(unique.astype(np.int32).tobytes())
            fs.write((first + counts["rows"]).astype(np.int64).tobytes())
            fr.write(r.astype(np.int32).tobytes())
            ff.write(f.astype(np.uint16).tobytes())
            counts["terms"] += len(unique)
            counts["rows"] += len(t)
        fs.write(np.array([counts["rows"]], dtype=np.int64).tobytes())
    meta.lengths.astype(np.int32).tofile(tmp / "lengths.bin")
    info = {"terms": counts["terms"], "postings": counts["rows"], "rows": meta.n_rows,
            "chunk_ids": list(meta.chunk_ids), "spans": [[s.doc_id, s.version, s.first, s.count] for s in meta.spans]}
    (tmp / "segment.json").write_text(json.dumps(info), encoding="utf-8")
    for path in tmp.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def load(folder: Path) -> Segment:
    """A segment written by :func:`write_merged`, memory-mapped (read-only)."""
    info = json.loads((folder / "segment.json").read_text(encoding="utf-8"))
    sizes = {"terms": info["terms"], "starts": info["terms"] + 1, "rows": info["postings"],
             "tfs": info["postings"], "lengths": info["rows"]}
    arrays = {
        name: (np.memmap(folder / f"{name}.bin", dtype=dtype, mode="r", shape=(sizes[name],))
               if sizes[name] else np.zeros(sizes[name], dtype=dtype))
        for name, dtype in _ARRAYS.items()
    }
    spans = tuple(Span(d, v, int(a), int(n)) for d, v, a, n in info["spans"])
    return Segment(arrays["terms"], arrays["starts"], arrays["rows"], arrays["tfs"], arrays["lengths"],
                   tuple(info["chunk_ids"]), spans)

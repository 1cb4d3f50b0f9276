"""BM25 over accent-folded syllables and syllable pairs (bm25s).

The index is derived from what the store holds and cached on disk under the
store's fingerprint, so Chroma stays the one source of truth: when the set of
live documents changes, the next search rebuilds it.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)


class LexicalIndex:
    def __init__(self, ids: list[str], bm25: bm25s.BM25 | None, df: dict[str, int]) -> None:
        self.ids = ids
        self._bm25 = bm25
        self.df = df

    @classmethod
    def build(cls, ids: list[str], term_lists: list[list[str]]) -> LexicalIndex:
        if not ids:
            return cls([], None, {})
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index(term_lists, show_progress=False)
        df: Counter[str] = Counter()
        for terms in term_lists:
            df.update(set(terms))
        return cls(ids, bm25, dict(df))

    def __len__(self) -> int:
        return len(self.ids)

    def idf(self, term: str) -> float:
        n = len(self.ids)
        df = self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def scores(self, terms: list[str]) -> np.ndarray:
        known = [t for t in terms if t in self.df]
        if self._bm25 is None or not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def search(self, terms: list[str], k: int) -> list[tuple[str, float]]:
        scores = self.scores(terms)
        if not len(scores):
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"))
        (tmp / "meta.json").write_text(json.dumps({"ids": self.ids, "df": self.df}), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            bm25 = bm25s.BM25.load(str(folder / "bm25")) if meta["ids"] else None
        except (OSError, ValueError, KeyError) as exc:
            log.info("lexical cache at %s unusable (%s); rebuilding", folder, exc)
            return None
        return cls(meta["ids"], bm25, meta["df"])

"""Ways to merge a lexical and a dense ranking into one.

Each strategy is one small class; the retriever is handed one by configuration.
Measured on the dev set (see README), :class:`ScoreFusion` is the default.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

Ranking = list[tuple[str, float]]  # (chunk id, score), best first


class Fusion(ABC):
    name = "fusion"

    @abstractmethod
    def fuse(self, lexical: Ranking, dense: Ranking) -> Ranking:
        """One ranking, best first, with a fused score."""


class ReciprocalRankFusion(Fusion):
    """Sum of ``w / (c + rank)`` over the rankings (Cormack et al., 2009)."""

    name = "rrf"

    def __init__(self, c: int = 60, lexical_weight: float = 1.0, dense_weight: float = 1.0) -> None:
        self.c, self.weights = c, (lexical_weight, dense_weight)

    def fuse(self, lexical: Ranking, dense: Ranking) -> Ranking:
        scores: dict[str, float] = {}
        for weight, ranking in zip(self.weights, (lexical, dense)):
            for rank, (cid, _) in enumerate(ranking, start=1):
                scores[cid] = scores.get(cid, 0.0) + weight / (self.c + rank)
        return sorted(scores.items(), key=lambda kv: -kv[1])


class ScoreFusion(Fusion):
    """Convex combination of scores scaled per query.

    BM25 scores are divided by the query's best score; cosine similarities are
    rescaled between a floor (the pool's median) and the best. A passage one
    retriever did not return gets 0 from it, but no rank penalty, so a strong
    match on one side is not dragged down by the other side's low rank.
    """

    name = "score"

    def __init__(self, lexical_weight: float = 0.6) -> None:
        self.alpha = lexical_weight

    @staticmethod
    def _scale_lexical(ranking: Ranking) -> dict[str, float]:
        if not ranking:
            return {}
        top = max(s for _, s in ranking) or 1.0
        return {cid: s / top for cid, s in ranking}

    @staticmethod
    def _scale_dense(ranking: Ranking) -> dict[str, float]:
        if not ranking:
            return {}
        values = np.array([s for _, s in ranking])
        top, floor = float(values.max()), float(np.median(values))
        span = max(top - floor, 1e-6)
        return {cid: max(0.0, (s - floor) / span) for cid, s in ranking}

    def fuse(self, lexical: Ranking, dense: Ranking) -> Ranking:
        lex, den = self._scale_lexical(lexical), self._scale_dense(dense)
        ids = list(dict.fromkeys([c for c, _ in lexical] + [c for c, _ in dense]))
        scores = {cid: self.alpha * lex.get(cid, 0.0) + (1 - self.alpha) * den.get(cid, 0.0) for cid in ids}
        return sorted(scores.items(), key=lambda kv: -kv[1])


class InterleaveFusion(Fusion):
    """Alternate the two rankings, lexical first, skipping repeats."""

    name = "interleave"

    def fuse(self, lexical: Ranking, dense: Ranking) -> Ranking:
        out: dict[str, float] = {}
        for i in range(max(len(lexical), len(dense))):
            for ranking in (lexical, dense):
                if i < len(ranking) and ranking[i][0] not in out:
                    out[ranking[i][0]] = 1.0 / (1 + len(out))
        return list(out.items())


FUSIONS: dict[str, type[Fusion]] = {
    cls.name: cls for cls in (ReciprocalRankFusion, ScoreFusion, InterleaveFusion)
}


def build_fusion(name: str = "score", **options: float) -> Fusion:
    try:
        return FUSIONS[name](**options)  # type: ignore[arg-type]
    except KeyError:
        raise ValueError(f"Không biết cách kết hợp '{name}' (chọn: {', '.join(FUSIONS)})") from None

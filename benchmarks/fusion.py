"""Compare ways of combining lexical and dense retrieval on a question set.

    python benchmarks/fusion.py --data-dir DIR [--questions tests/data/dev.jsonl]

Prints hit@5 and MRR@10 for each combination, on an already ingested data directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.evaluation import load_questions  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.wiring import build_service  # noqa: E402
from ingest.folding import fold  # noqa: E402
from vectorstore.fusion import Fusion, InterleaveFusion, Ranking, ReciprocalRankFusion, ScoreFusion  # noqa: E402


class LexicalOnly(Fusion):
    name = "lexical"

    def fuse(self, lexical: Ranking, dense: Ranking) -> Ranking:
        return lexical


class DenseOnly(Fusion):
    name = "dense"

    def fuse(self, lexical: Ranking, dense: Ranking) -> Ranking:
        return dense


def score(service, questions) -> tuple[float, float]:
    hits = rr = 0.0
    answerable = [q for q in questions if q["answerable"]]
    for q in answerable:
        passages = service.search(q["question"], 10)
        rank = next((i for i, p in enumerate(passages, 1) if any(
            p.document.source == g["doc"] and fold(g["snippet"]) in fold(p.chunk.text) for g in q["gold"])), None)
        hits += bool(rank and rank <= 5)
        rr += 1 / rank if rank else 0
    return hits / len(answerable), rr / len(answerable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--questions", type=Path, default=Path("tests/data/dev.jsonl"))
    args = parser.parse_args()
    service = build_service(Settings(data_dir=args.data_dir))
    retriever = service.retriever
    questions = load_questions(args.questions)
    rows = [
        ("dense only", DenseOnly(), 0.0), ("BM25 only", LexicalOnly(), 0.0),
        ("reciprocal-rank fusion (k=60)", ReciprocalRankFusion(), 0.0), ("interleave", InterleaveFusion(), 0.0),
        ("score fusion 0.7/0.3", ScoreFusion(0.7), 0.0), ("BM25 only + heading boost", LexicalOnly(), 0.3),
        ("RRF + heading boost", ReciprocalRankFusion(), 0.3),
        ("score fusion 0.5/0.5 + heading boost", ScoreFusion(0.5), 0.3),
        ("score fusion 0.7/0.3 + heading boost (default)", ScoreFusion(0.7), 0.3),
    ]
    print(f"{'combination':50} hit@5  MRR@10")
    for name, fusion, heading in rows:
        retriever.fusion, retriever.heading_weight = fusion, heading
        hit, mrr = score(service, questions)
        print(f"{name:50} {hit:.3f}  {mrr:.3f}")


if __name__ == "__main__":
    main()

"""ALQAC laws: structure checks, then retrieval scored against plain BM25 over whole articles.

    python benchmarks/alqac.py                      # ingest (reused when unchanged), structure, retrieval
    python benchmarks/alqac.py --structure-only     # parsing and chunking checks, no embedding
    python benchmarks/alqac.py --misses             # also list the questions chidao misses at 10

The corpus is the six laws of ``shared/eval/alqac`` (not written by anyone here). A hit is a
returned passage from the gold law whose section path names the gold article (the passage's
``article`` field), or whose text contains the question's ``gold_snippet``. Questions are scored
as written and with diacritics stripped. The peer is BM25 (bm25s) over whole articles, on
accent-folded words, articles read straight from the files by this script, not by chidao.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import log  # noqa: E402

ALQAC = Path(__file__).resolve().parents[2] / "shared" / "eval" / "alqac"
if not ALQAC.exists():
    ALQAC = Path("/work/shared/eval/alqac")
_ARTICLE = re.compile(r"^Điều\s+(\d+[a-zđ]?)\s*[.:]", re.MULTILINE)
_NUMBER = re.compile(r"(\d+[a-zđ]?)")


@dataclass(frozen=True)
class Article:
    doc: str  # file name
    number: str
    text: str


def read_articles(corpus: Path) -> list[Article]:
    """Each law's articles, cut at the "Điều N." lines of the file."""
    articles = []
    for path in sorted(corpus.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        starts = list(_ARTICLE.finditer(text))
        for m, nxt in zip(starts, [*starts[1:], None], strict=True):
            articles.append(Article(path.name, m[1], text[m.start():nxt.start() if nxt else len(text)]))
    return articles


def strip_marks(text: str) -> str:
    """The question without diacritics, as typed on a keyboard without Vietnamese input."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFC", "".join(
        ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch)
    ))


def gold_number(item: dict) -> str:
    m = _NUMBER.search(item["gold_article"])
    return m[1] if m else ""


# -- scoring ------------------------------------------------------------------------------


@dataclass
class Scores:
    ranks: list[int | None]

    def hit(self, k: int) -> float:
        return sum(1 for r in self.ranks if r is not None and r <= k) / max(1, len(self.ranks))

    @property
    def mrr(self) -> float:
        return sum(1 / r for r in self.ranks if r is not None and r <= 10) / max(1, len(self.ranks))

    def row(self) -> list[float]:
        return [self.hit(1), self.hit(5), self.hit(10), self.mrr]


def chidao_rank(passages, item: dict) -> int | None:
    from ingest.folding import fold

    gold, snippet = gold_number(item), fold(item["gold_snippet"])
    for i, p in enumerate(passages, start=1):
        if p.document.source != item["gold_doc"]:
            continue
        if p.chunk.article == gold or (snippet and snippet in fold(p.chunk.text)):
            return i
    return None


class ArticleBM25:
    """The peer: BM25 over whole articles, accent-folded words."""

    def __init__(self, articles: list[Article]) -> None:
        import bm25s

        from ingest.folding import fold

        self.fold = fold
        self.articles = articles
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self.bm25.index([fold(a.text).split() for a in articles], show_progress=False)

    def rank(self, question: str, item: dict, k: int = 10) -> int | None:
        import numpy as np

        terms = [t for t in self.fold(question).split() if t in self.bm25.vocab_dict]
        if not terms:
            return None
        scores = np.asarray(self.bm25.get_scores(terms))
        for i, idx in enumerate(np.argsort(-scores)[:k], start=1):
            a = self.articles[idx]
            if a.doc == item["gold_doc"] and a.number == gold_number(item):
                return i
        return None


# -- structure checks ---------------------------------------------------------------------


def structure_report(corpus: Path, count_tokens) -> dict:
    from ingest.chunker import chunk_document
    from ingest.folding import fold
    from ingest.pipeline import parse_file

    articles = read_articles(corpus)
    by_doc: dict[str, list[Article]] = {}
    for a in articles:
        by_doc.setdefault(a.doc, []).append(a)
    totals = {"passages": 0, "two_articles": 0, "article_not_in_path": 0, "over_400_tokens": 0, "laws": []}
    for path in sorted(corpus.glob("*.txt")):
        doc = parse_file(path)
        folded_articles = [(a.number, fold(a.text)) for a in by_doc.get(path.name, [])]
        chunks = chunk_document(doc, 400, count_tokens)
        totals["passages"] += len(chunks)
        for chunk in chunks:
            owners = _owners(chunk.text, folded_articles, fold)
            if owners is not None and not owners:
                totals["two_articles"] += 1
            article = chunk.structure["article"]
            if owners and (article not in owners or f"Điều {article}" not in chunk.section):
                totals["article_not_in_path"] += 1
            if count_tokens(chunk.text) > 400:
                totals["over_400_tokens"] += 1
        m = doc.meta
        totals["laws"].append({"file": path.name, "doc_type": m.doc_type, "title": m.title,
                               "doc_number": m.doc_number, "issuer": m.issuer, "effective_date": m.effective_date,
                               "articles_in_file": len(folded_articles),
                               "articles_found": len({c.structure["article"] for c in chunks} - {""})})
    return totals


def _owners(text: str, folded_articles: list[tuple[str, str]], fold) -> set[str] | None:
    """The articles that hold every line of a passage: None when no line is article text (the law's
    name), an empty set when no single article holds them all (text of two articles)."""
    common: set[str] | None = None
    for line in text.split("\n"):
        line = fold(line)
        if len(line) < 8:
            continue
        holders = {n for n, body in folded_articles if line in body}
        if holders:
            common = holders if common is None else common & holders
    return common


# -- retrieval ----------------------------------------------------------------------------


def ingest(data_dir: Path, corpus: Path):
    from bot.settings import Settings
    from bot.wiring import build_service, build_store

    settings = Settings(data_dir=data_dir)
    store = build_store(settings)
    service = build_service(settings, store)
    start = time.perf_counter()
    for path in sorted(corpus.glob("*.txt")):
        result = service.indexer.ingest_file(path)
        log(f"{result.status:10} {path.name} ({result.chunks} passages) {result.reason}")
    return service, time.perf_counter() - start


def retrieval(service, questions: list[dict], peer: ArticleBM25, misses: bool) -> dict[str, Scores]:
    out = {name: Scores([]) for name in ("chidao", "chidao_folded", "bm25", "bm25_folded")}
    times = []
    for item in questions:
        for folded in (False, True):
            question = strip_marks(item["question"]) if folded else item["question"]
            start = time.perf_counter()
            passages = service.search(question, 10)
            times.append(time.perf_counter() - start)
            rank = chidao_rank(passages, item)
            out["chidao_folded" if folded else "chidao"].ranks.append(rank)
            out["bm25_folded" if folded else "bm25"].ranks.append(peer.rank(question, item))
            if misses and not folded and rank is None:
                top = [f"{p.document.source[:12]} {p.chunk.section[:50]}" for p in passages[:3]]
                log(f"miss {item['gold_doc'][:14]} {item['gold_article']}: {item['question'][:90]} -> {top}")
    times.sort()
    log(f"search: p50 {times[len(times) // 2] * 1000:.0f} ms, p95 {times[int(len(times) * 0.95)] * 1000:.0f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/chidao-alqac"))
    parser.add_argument("--corpus", type=Path, default=ALQAC / "corpus")
    parser.add_argument("--questions", type=Path, default=ALQAC / "questions.jsonl")
    parser.add_argument("--structure-only", action="store_true")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    from vectorstore.embeddings import E5Embedder

    report = structure_report(args.corpus, E5Embedder().count_tokens)
    laws = report.pop("laws")
    print("structure:", json.dumps(report))
    for law in laws:
        print("  ", json.dumps(law, ensure_ascii=False))
    if args.structure_only:
        return
    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    service, seconds = ingest(args.data_dir, args.corpus)
    print(f"ingest: {seconds:.0f} s")
    peer = ArticleBM25(read_articles(args.corpus))
    scores = retrieval(service, questions, peer, args.misses)
    print(f"questions: {len(questions)}")
    print(f"{'':16}{'hit@1':>8}{'hit@5':>8}{'hit@10':>8}{'MRR@10':>8}")
    labels = {"chidao": "chidao", "chidao_folded": "chidao, no marks", "bm25": "BM25 articles",
              "bm25_folded": "BM25, no marks"}
    for name, s in scores.items():
        print(f"{labels[name]:16}" + "".join(f"{v:8.3f}" for v in s.row()))


if __name__ == "__main__":
    main()

"""The lexical side alone, at 10k and 100k passages: the incremental index against the alternatives.

    python benchmarks/lexical_index.py --corpus /tmp/chidao-synth/docs --sizes 10000 100000

The synthetic documents (``benchmarks/synthetic_corpus.py``) are parsed and chunked
with the project's own pipeline (the e5 tokenizer counts tokens; nothing is
embedded) and cached next to the corpus. For each size it prints, for chidao's
incremental index (SQLite rows per document version + merged memory-mapped
base + small in-memory segments, BM25 at query time), for bm25s rebuilt from
every live passage (the previous design) and for SQLite FTS5 with ``bm25()``:
the time to add one document to an index of that size, the time to have a
servable index after a restart, the top-30 search latency over the question
mix, and whether the top 30 equals bm25s'.
"""

from __future__ import annotations

import argparse
import pickle
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
from common import latency_line, load_average, log, peak_rss_mib, question_mix

from vectorstore.lexical import LexicalIndex
from vectorstore.lexical_store import LexicalStore, chunk_terms
from vectorstore.question import read_question
from vectorstore.text import default_lexicon


def analyse_query(text: str):
    return read_question(text, default_lexicon())

Doc = tuple  # (DocumentRecord, list[StoredChunk])


_INDEXER = None


def _parse(path: Path) -> Doc:
    global _INDEXER
    from ingest.pipeline import parse_file
    from vectorstore.embeddings import E5Embedder
    from vectorstore.indexer import Indexer, content_version, document_id

    if _INDEXER is None:
        _INDEXER = Indexer(None, E5Embedder())  # type: ignore[arg-type]  # only its chunking is used
    data = path.read_bytes()
    return _INDEXER._records(parse_file(path), document_id(path.name), content_version(data), len(data))


def parsed_corpus(folder: Path) -> list[Doc]:
    """Every document of ``folder`` as (record, chunks), parsed by two processes and cached next to it."""
    from multiprocessing import Pool

    cache = folder.parent / f"{folder.name}-parsed.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    paths = sorted(folder.glob("*.txt"))
    with Pool(2) as pool:
        docs = []
        for i, doc in enumerate(pool.imap(_parse, paths, chunksize=16)):
            docs.append(doc)
            if i % 500 == 0:
                log(f"parsed {i} of {len(paths)} documents")
    cache.write_bytes(pickle.dumps(docs))
    return docs


def first_passages(docs: list[Doc], size: int) -> list[Doc]:
    out, total = [], 0
    for doc in docs:
        if total >= size:
            break
        out.append(doc)
        total += len(doc[1])
    return out


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def bench_incremental(docs: list[Doc], queries: list[list[str]], folder: Path) -> dict:
    store = LexicalStore(folder)
    *base_docs, (new_doc, new_chunks) = docs
    for doc, chunks in base_docs:
        store.put_version(doc, chunks)
    keys = {(d.id, d.version) for d, _ in base_docs}
    segments = [store.segment(k) for k in sorted(keys)]
    store.write_base(segments, [np.ones(s.n_rows, bool) for s in segments])  # the one-time first merge
    restart, view = timed(lambda: LexicalIndex([store.load_base()[1]], keys, LexicalStore(folder).term_ids))
    write, _ = timed(store.put_version, new_doc, new_chunks)
    new_key = (new_doc.id, new_doc.version)
    update, view = timed(lambda: LexicalIndex([view.segments[0], store.segment(new_key)], keys | {new_key},
                                              store.term_ids))
    seconds = [timed(view.search, q, 30)[0] for q in queries]
    return {"view": view, "write_s": write, "update_s": update, "restart_s": restart, "search": seconds}


def same_ranking(mine: list[tuple[str, float]], theirs: list[tuple[str, float]]) -> bool:
    """Same scores rank by rank (within 1e-4), and the same passages apart from those tied (within
    1e-4) with the 30th, which either ranking may cut differently; tied passages in any order."""
    if len(mine) != len(theirs):
        return False
    if not all(abs(a - b) <= 1e-4 * max(abs(b), 1.0) for (_, a), (_, b) in zip(mine, theirs)):
        return False
    cut = theirs[-1][1] + 1e-4 * max(abs(theirs[-1][1]), 1.0) if theirs else 0.0
    return {c for c, s in mine if s > cut} == {c for c, s in theirs if s > cut}


def bench_bm25s(docs: list[Doc], queries: list[list[str]]) -> dict:
    import bm25s

    ids = [c.id for d, cs in docs for c in cs]
    terms = [chunk_terms(c, d) for d, cs in docs for c in cs]
    start = time.perf_counter()
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index(terms, show_progress=False)
    rebuild = time.perf_counter() - start
    vocab = bm25.vocab_dict
    tops, seconds = [], []
    for q in queries:
        start = time.perf_counter()
        known = [t for t in q if t in vocab]
        scores = bm25.get_scores(known) if known else np.zeros(len(ids))
        top = np.argpartition(-scores, 29)[:30]
        top = top[np.argsort(-scores[top], kind="stable")]
        seconds.append(time.perf_counter() - start)
        tops.append([(ids[i], float(scores[i])) for i in top if scores[i] > 0])
    return {"rebuild_s": rebuild, "search": seconds, "tops": tops}


def bench_fts5(docs: list[Doc], queries: list[list[str]], path: Path) -> dict:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(chunk_id UNINDEXED, terms, tokenize=\"unicode61 tokenchars '_'\")")
    *base, last = docs
    db.execute("BEGIN")
    for doc, chunks in base:
        db.executemany("INSERT INTO fts (chunk_id, terms) VALUES (?, ?)",
                       [(c.id, " ".join(chunk_terms(c, doc))) for c in chunks])
    db.execute("COMMIT")
    start = time.perf_counter()
    db.execute("BEGIN")
    db.executemany("INSERT INTO fts (chunk_id, terms) VALUES (?, ?)",
                   [(c.id, " ".join(chunk_terms(c, last[0]))) for c in last[1]])
    db.execute("COMMIT")
    write = time.perf_counter() - start
    seconds = []
    for q in queries:
        match = " OR ".join(f'"{t}"' for t in dict.fromkeys(q))
        start = time.perf_counter()
        db.execute("SELECT chunk_id, bm25(fts, 0, 1) FROM fts WHERE fts MATCH ? ORDER BY bm25(fts, 0, 1) LIMIT 30",
                   (match,)).fetchall()
        seconds.append(time.perf_counter() - start)
    return {"write_s": write, "search": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, required=True, help="folder of synthetic .txt documents")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--no-fts5", action="store_true", help="skip the FTS5 comparison")
    args = parser.parse_args()
    docs = parsed_corpus(args.corpus)
    queries = [list(analyse_query(q).terms) for q in question_mix()]
    print(f"load average at start: {load_average()}")
    for size in args.sizes:
        part = first_passages(docs, size)
        passages = sum(len(c) for _, c in part)
        with tempfile.TemporaryDirectory(prefix="lexbench-") as tmp:
            log(f"{passages} passages: incremental index")
            mine = bench_incremental(part, queries, Path(tmp) / "lexical")
            log("bm25s")
            old = bench_bm25s(part, queries)
            same = sum(same_ranking(mine["view"].search(q, 30), top) for q, top in zip(queries, old["tops"]))
            print(f"\n== {passages} passages, {len(part)} documents ==")
            print(f"incremental: add one document {mine['write_s'] * 1000:.1f} ms write + "
                  f"{mine['update_s'] * 1000:.1f} ms to serve it; restart (map base) {mine['restart_s']:.2f} s")
            print(latency_line("incremental search top 30", mine["search"]))
            print(f"bm25s: full rebuild on any change {old['rebuild_s']:.2f} s")
            print(latency_line("bm25s search top 30", old["search"]))
            print(f"top 30 the same as bm25s' (scores within 1e-4, ties in any order): {same}/{len(queries)} queries")
            if not args.no_fts5:
                log("fts5")
                fts = bench_fts5(part, queries, Path(tmp) / "fts.sqlite3")
                print(f"fts5: add one document {fts['write_s'] * 1000:.1f} ms")
                print(latency_line("fts5 bm25() top 30", fts["search"]))
            print(f"peak RSS so far {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()

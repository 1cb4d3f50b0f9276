"""Ingest throughput: passages (chunks) per second through the project's own Indexer.

    python benchmarks/ingest_throughput.py [--docs samples] [--data-dir DIR]

Uses the configured embedder (``CHIDAO_EMBEDDER``; default e5-onnx) and the embedded
Chroma store, built by ``bot.wiring.build_indexer(Settings(data_dir=...))``.
Without ``--data-dir`` a fresh temporary folder is used and deleted afterwards;
with one, files already ingested there are skipped ("unchanged"), so give an
empty folder to measure. Prints passages/s, the share of time spent embedding,
peak RSS after ingest and the size of the index on disk.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import SAMPLES, dir_size_mib, load_average, log, openmp_settings, peak_rss_mib

from bot.settings import Settings
from bot.wiring import build_indexer
from vectorstore.embeddings import Embedder
from vectorstore.indexer import Indexer, iter_files


class TimedEmbedder(Embedder):
    """Wraps the indexer's embedder to add up time spent embedding passages and their token count."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.key = inner.key
        self.seconds = 0.0
        self.tokens = 0

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        self.tokens += sum(min(self.inner.count_tokens(t), self.inner.max_tokens) for t in texts)
        start = time.perf_counter()
        vectors = self.inner.embed(texts, query=query)
        self.seconds += time.perf_counter() - start
        return vectors

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def ingest_all(indexer: Indexer, files: list[Path]) -> tuple[int, int]:
    """Ingest ``files``; return (files ingested, chunks written). Logs progress to stderr."""
    done = chunks = 0
    start = time.perf_counter()
    for number, path in enumerate(files, start=1):
        result = indexer.ingest_file(path)
        if not result.ok:
            log(f"FAILED {path.name}: {result.reason}")
            continue
        if result.status in ("added", "updated"):
            done += 1
            chunks += result.chunks
        elapsed = time.perf_counter() - start
        if number % 10 == 0 or number == len(files):
            rate = chunks / elapsed if elapsed else 0.0
            eta = (len(files) - number) * elapsed / number
            log(f"[{number}/{len(files)}] {chunks} chunks, {elapsed:.0f} s, {rate:.2f} chunks/s, "
                f"ETA {eta / 60:.1f} min, load {load_average()}")
    return done, chunks


def measure(docs: Path, data_dir: Path) -> None:
    files = [path for path, skip in iter_files([docs]) if skip is None]
    log(f"ingesting {len(files)} files from {docs} into {data_dir}")
    indexer = build_indexer(Settings(data_dir=data_dir))
    timed = TimedEmbedder(indexer.embedder)
    indexer.embedder = timed
    timed.inner.embed_documents(["khởi động"])  # open the passage engine before the clock starts
    load_before = load_average()
    start = time.perf_counter()
    ingested, chunks = ingest_all(indexer, files)
    seconds = time.perf_counter() - start
    stored = len(indexer.store.live_chunks())
    print(f"corpus                 {docs} ({len(files)} files, {ingested} ingested)")
    print(f"chunks written         {chunks} (live chunks in the store: {stored})")
    print(f"wall time              {seconds:.1f} s")
    print(f"ingest throughput      {chunks / seconds:.2f} passages/s")
    print(f"embedding              {timed.seconds:.1f} s ({100 * timed.seconds / seconds:.0f} % of wall time), "
          f"{timed.tokens / timed.seconds:.0f} tokens/s, {timed.tokens / max(chunks, 1):.0f} tokens/passage")
    print(f"peak RSS after ingest  {peak_rss_mib():.0f} MiB")
    print(f"index size on disk     {dir_size_mib(data_dir):.1f} MiB ({data_dir})")
    print(f"load average           before {load_before}; after {load_average()}")
    print(f"OpenMP                 {openmp_settings()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=SAMPLES, help="folder of documents to ingest")
    parser.add_argument("--data-dir", type=Path, help="data directory to ingest into (default: a temporary one)")
    args = parser.parse_args()
    if args.data_dir:
        measure(args.docs, args.data_dir)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="chidao-bench-"))
    try:
        measure(args.docs, data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

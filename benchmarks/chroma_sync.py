"""Chroma's ``sync_threshold``: milliseconds per write as a collection grows, Chroma's default against chidao's.

    python benchmarks/chroma_sync.py [--docs /tmp/bench-100k/docs] [--records 500] [--chunks 20000]

Until its vector index persists, Chroma re-reads on every write all the records logged since the last
persist, texts included; its default persists every 1000 records. Two shapes of collection, each built
with the default and with ``vectorstore.store.SYNC``, side by side in one run, in a fresh embedded
Chroma under a temporary folder:

- the registry: one record per document holding the document's whole text, 1-dimensional vector;
- the passages: records of ~1 KB with 384-dimensional vectors, written 24 at a time (one document).

Prints ms per write at each step of the growth.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from common import load_average, synthetic_documents

from vectorstore.store import SYNC


def grow(collection, texts: list[str], dim: int, per_write: int, steps: int) -> list[float]:
    """Write ``texts`` ``per_write`` at a time; mean ms per write over each of ``steps`` equal parts."""
    rng = np.random.default_rng(0)
    writes = [texts[i:i + per_write] for i in range(0, len(texts), per_write)]
    means, times = [], []
    part = max(1, len(writes) // steps)
    for n, batch in enumerate(writes, start=1):
        start = time.perf_counter()
        collection.upsert(ids=[f"{n}-{i}" for i in range(len(batch))], documents=batch,
                          embeddings=[rng.standard_normal(dim).astype(np.float32) for _ in batch],
                          metadatas=[{"n": n} for _ in batch])
        times.append((time.perf_counter() - start) * 1000)
        if n % part == 0:
            means.append(statistics.mean(times))
            times = []
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=Path, default=Path("/tmp/bench-100k/docs"))
    parser.add_argument("--records", type=int, default=500, help="documents written to the registry")
    parser.add_argument("--chunks", type=int, default=12000, help="passages written, 24 per write")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    import chromadb

    documents = [p.read_text(encoding="utf-8") for p in synthetic_documents(args.docs, args.records)[:args.records]]
    passages = [line for doc in documents for line in doc.split("\n\n") if len(line) > 200]
    passages = (passages * (args.chunks // max(1, len(passages)) + 1))[:args.chunks]
    print(f"{len(documents)} documents, {sum(map(len, documents)) // len(documents)} characters on average; "
          f"{len(passages)} passages; load {load_average()}")
    with tempfile.TemporaryDirectory() as folder:
        client = chromadb.PersistentClient(path=folder, settings=chromadb.Settings(anonymized_telemetry=False))
        for shape, texts, dim, per_write, sync in (("registry", documents, 1, 1, SYNC["documents"]),
                                                    ("passages", passages, 384, 24, SYNC["chunks"])):
            for label, hnsw in (("Chroma default", {}), (f"chidao {sync}", sync)):
                name = f"{shape}-{'tuned' if hnsw else 'default'}"
                collection = client.create_collection(name, configuration={"hnsw": hnsw} if hnsw else None,
                                                      embedding_function=None)
                means = grow(collection, texts, dim, per_write, args.steps)
                print(f"{shape:9} {label:48} ms per write, each {100 // args.steps}% of the growth: "
                      + " ".join(f"{m:7.1f}" for m in means) + f"  (load {load_average()})", flush=True)


if __name__ == "__main__":
    main()

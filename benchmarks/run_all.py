"""Run the benchmarks: ingest throughput, then warm search/chat latency in-process and over HTTP.

    python benchmarks/run_all.py                                  # the five sample documents
    python benchmarks/run_all.py --corpus all --chunks 10000      # and a synthetic corpus of 10k chunks
    python benchmarks/run_all.py --corpus synthetic --data-dir /tmp/chidao-synth/index   # re-use an index

Each step is its own process (so each peak RSS is that step's). The seed index
lives in a temporary folder. The synthetic index is kept (default
``/tmp/chidao-synth-<chunks>/index``, the generated documents next to it in
``...-docs``): when it already holds ``--chunks`` chunks the documents are
neither generated nor ingested again and only latency is measured; an
interrupted ingest resumes where it stopped. Embedding 10k chunks with e5 on
two cores takes about an hour: run it with ``nice -n 19`` in the background.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, SAMPLES, load_average, log

BENCH = ROOT / "benchmarks"


def run(script: str, *args: object) -> None:
    command = [sys.executable, str(BENCH / script), *map(str, args)]
    print(f"\n$ {' '.join(command[1:])}", flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def live_chunks(data_dir: Path) -> int:
    if not (data_dir / "chroma").is_dir():
        return 0
    from bot.settings import Settings
    from bot.wiring import build_store

    return len(build_store(Settings(data_dir=data_dir)).live_chunks())


def latency(data_dir: Path, calls: int, warmup: int) -> None:
    for mode in ("inprocess", "http"):
        run("latency.py", "--data-dir", data_dir, "--mode", mode, "--calls", calls, "--warmup", warmup)


def seeds(calls: int, warmup: int) -> None:
    print(f"=== seed corpus: {SAMPLES} ===")
    with tempfile.TemporaryDirectory(prefix="chidao-bench-seeds-") as tmp:
        data_dir = Path(tmp) / "index"
        run("ingest_throughput.py", "--docs", SAMPLES, "--data-dir", data_dir)
        latency(data_dir, calls, warmup)


def synthetic(data_dir: Path, docs_dir: Path, chunks: int, calls: int, warmup: int) -> None:
    print(f"=== synthetic corpus: target {chunks} chunks, index {data_dir} ===")
    have = live_chunks(data_dir)
    if have >= chunks:
        log(f"{data_dir} already holds {have} chunks: measuring latency only")
    else:
        if not any(docs_dir.glob("*.txt")):
            run("synthetic_corpus.py", "--out", docs_dir, "--chunks", chunks)
        run("ingest_throughput.py", "--docs", docs_dir, "--data-dir", data_dir)
        have = live_chunks(data_dir)
    print(f"synthetic index holds {have} live chunks (target {chunks})", flush=True)
    if have < chunks:
        sys.exit(f"the synthetic index holds {have} chunks, fewer than {chunks}")
    latency(data_dir, calls, warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=("seeds", "synthetic", "all"), default="seeds")
    parser.add_argument("--chunks", type=int, default=10_000, help="chunks in the synthetic corpus")
    parser.add_argument("--data-dir", type=Path, help="the synthetic run's data directory (kept, re-used)")
    parser.add_argument("--docs-dir", type=Path, help="where the synthetic documents go (default: <data-dir>-docs)")
    parser.add_argument("--calls", type=int, default=120, help="timed calls per operation")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls per operation first")
    args = parser.parse_args()
    print(f"load average: {load_average()}", flush=True)
    if args.corpus in ("seeds", "all"):
        seeds(args.calls, args.warmup)
    if args.corpus in ("synthetic", "all"):
        data_dir = args.data_dir or Path(tempfile.gettempdir()) / f"chidao-synth-{args.chunks}" / "index"
        docs_dir = args.docs_dir or data_dir.with_name(data_dir.name + "-docs")
        synthetic(data_dir, docs_dir, args.chunks, args.calls, args.warmup)


if __name__ == "__main__":
    main()

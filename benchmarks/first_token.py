"""Time to the first streamed token: from sending ``POST /api/chat`` with ``"stream": true`` to the
first ``delta`` event, over the dev questions, against a real server on loopback.

    python benchmarks/first_token.py                       # ingest samples/ into a temporary folder first
    python benchmarks/first_token.py --data-dir DIR        # an already ingested data directory
    python benchmarks/first_token.py --url http://127.0.0.1:8000   # a server that is already running

The server runs in its own process (benchmarks/serve.py, access log off). Prints p50/p95 of the
first ``delta`` and of the final ``answer`` event; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import ROOT, SAMPLES, dev_questions, latency_line, load_average, log, served


def ingested_samples(tmp: Path) -> Path:
    data_dir = tmp / "index"
    log(f"ingesting {SAMPLES} into {data_dir} …")
    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(SAMPLES), "--data-dir", str(data_dir)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return data_dir


def timed_stream(client: httpx.Client, url: str, question: str) -> tuple[float, float]:
    """Seconds to the first ``delta`` event and to the ``answer`` event."""
    first = None
    start = time.perf_counter()
    with client.stream("POST", url + "/api/chat", json={"message": question, "stream": True}) as response:
        response.raise_for_status()
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                if event == "delta" and first is None:
                    first = time.perf_counter() - start
                elif event == "answer":
                    total = time.perf_counter() - start
                    return (first if first is not None else total), total
                elif event == "error":
                    raise RuntimeError(f"server error for {question!r}: {line}")
    raise RuntimeError(f"stream ended without an answer for {question!r}")


def measure(url: str, questions: list[str], rounds: int, warmup: int) -> None:
    with httpx.Client(timeout=120) as client:
        for question in questions[:warmup]:
            timed_stream(client, url, question)
        firsts, totals = [], []
        for r in range(rounds):
            for question in questions:
                first, total = timed_stream(client, url, question)
                firsts.append(first)
                totals.append(total)
            log(f"round {r + 1}/{rounds} done")
    print(f"server {url}; {len(questions)} dev questions × {rounds} rounds, after {warmup} warm-up calls")
    print(f"load average {load_average()}")
    print(latency_line("first delta (time to 1st token)", firsts))
    print(latency_line("answer event (full answer)", totals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data-dir", type=Path, help="an ingested data directory (default: ingest samples/)")
    where.add_argument("--url", help="a running chidao server")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "data" / "dev.jsonl")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    questions = dev_questions(args.questions)
    if args.url:
        measure(args.url.rstrip("/"), questions, args.rounds, args.warmup)
        return
    with tempfile.TemporaryDirectory(prefix="chidao-first-token-") as tmp:
        data_dir = args.data_dir or ingested_samples(Path(tmp))
        with served(data_dir, timeout=300) as (url, _):
            measure(url, questions, args.rounds, args.warmup)


if __name__ == "__main__":
    main()

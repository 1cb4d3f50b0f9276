"""Throughput and latency under concurrent clients, against a real ``chidao serve``.

    python benchmarks/concurrency.py --data-dir DIR [--workers 2] [--levels 1 8 32] [--seconds 20]

Starts ``chidao serve --workers N`` on a loopback port over an ingested data
directory, then for ``POST /api/search`` and ``POST /api/chat`` runs 1, 8 and 32
clients at once (each its own keep-alive connection, asking the dev questions,
the same without diacritics and paraphrases, in turn) for ``--seconds`` each,
and prints requests per second, p50 / p95 latency and errors per level, and the
ratio of the highest level's throughput to one sequential client's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from common import ROOT, load_average, log, percentile, process_peak_rss_mib, question_mix

BODIES = {
    "search": ("/api/search", lambda q: {"query": q, "k": 5}),
    "chat": ("/api/chat", lambda q: {"message": q}),
}


def start_server(data_dir: Path, workers: int) -> tuple[str, subprocess.Popen]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers),
               "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               # every client comes from 127.0.0.1: the per-client chat limit would answer 429
                               env={**os.environ, "PYTHONPATH": str(ROOT), "CHIDAO_RATE_LIMIT": "0"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return url, process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit("the server did not become ready")


async def run_level(url: str, kind: str, level: int, seconds: float, questions: list[str]) -> dict:
    path, body = BODIES[kind]
    latencies: list[float] = []
    errors = 0
    workers_seen: set[str] = set()
    stop = time.perf_counter() + seconds

    async def client(i: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=300) as http:
            n = i
            while time.perf_counter() < stop:
                question = questions[n % len(questions)]
                n += level
                start = time.perf_counter()
                try:
                    reply = await http.post(path, json=body(question))
                    ok = reply.status_code == 200
                    workers_seen.add(reply.headers.get("x-chidao-worker", "?"))
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1

    begin = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(level)))
    elapsed = time.perf_counter() - begin
    ms = [s * 1000 for s in latencies]
    return {"kind": kind, "clients": level, "requests": len(ms), "rps": len(ms) / elapsed, "errors": errors,
            "p50": percentile(ms, 50), "p95": percentile(ms, 95), "workers": len(workers_seen)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kinds", nargs="+", default=list(BODIES), choices=list(BODIES))
    args = parser.parse_args()
    questions = question_mix()
    log(f"starting chidao serve --workers {args.workers} over {args.data_dir}")
    url, process = start_server(args.data_dir, args.workers)
    print(f"load average at start: {load_average()}")
    rows = []
    try:
        for kind in args.kinds:
            asyncio.run(run_level(url, kind, 4, 3.0, questions))  # warm every worker
            for level in args.levels:
                log(f"{kind}: {level} clients for {args.seconds:.0f} s")
                rows.append(asyncio.run(run_level(url, kind, level, args.seconds, questions)))
        rss = process_peak_rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    print(f"\nchidao serve --workers {args.workers}, {os.cpu_count()} CPUs, {args.seconds:.0f} s per level")
    print("| request | clients | requests/s | p50 ms | p95 ms | errors | workers answering |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['kind']} | {r['clients']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['errors']} "
              f"| {r['workers']} |")
    for kind in args.kinds:
        mine = [r for r in rows if r["kind"] == kind]
        one, top = mine[0], mine[-1]
        print(f"{kind}: {top['clients']} clients / {one['clients']} client throughput = {top['rps'] / one['rps']:.2f}x")
    print(f"load average at end: {load_average()}; parent server process peak RSS {rss or 0:.0f} MiB")


if __name__ == "__main__":
    main()

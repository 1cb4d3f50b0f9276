"""Warm search and chat latency (p50, p95) on an ingested data directory, in-process or over HTTP.

    python benchmarks/latency.py --data-dir DIR --mode inprocess [--calls 120] [--warmup 10]
    python benchmarks/latency.py --data-dir DIR --mode http [--calls 120] [--warmup 10]

The questions are those of tests/data/dev.jsonl, the same without diacritics and
a few paraphrases, cycled. ``inprocess`` times ``service.search(q, 5)`` and
``service.chat(q)`` and splits a search into its parts (query embedding, BM25,
Chroma nearest neighbours); ``http`` starts ``benchmarks/serve.py`` (uvicorn on
loopback running ``bot.api.create_app``) in a child process and times
``POST /api/search`` and ``POST /api/chat`` from a keep-alive client.
Peak RSS is that of the process holding the service.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import (
    latency_line,
    load_average,
    log,
    openmp_settings,
    peak_rss_mib,
    process_peak_rss_mib,
    question_mix,
    served,
)

Call = Callable[[str], object]


def timed_calls(call: Call, questions: list[str], calls: int) -> list[float]:
    seconds = []
    for i in range(calls):
        start = time.perf_counter()
        call(questions[i % len(questions)])
        seconds.append(time.perf_counter() - start)
    return seconds


def warm(call: Call, questions: list[str], count: int) -> None:
    for question in questions[:count]:
        call(question)


PARTS = ("analyse query", "embed query (e5)", "BM25 top 30 (+freshness)", "Chroma nearest 30",
         "chat: compose answer", "BM25 top 30, every row scored")


def search_parts(service, questions: list[str], calls: int) -> dict[str, list[float]]:
    """Time the parts of a search (analysis, query embedding, BM25, Chroma) and of a chat's answer step."""
    retriever = service.retriever
    parts: dict[str, list[float]] = {name: [] for name in PARTS}
    for i in range(calls):
        question = questions[i % len(questions)]
        t0 = time.perf_counter()
        terms = retriever.analyse(question)
        t1 = time.perf_counter()
        vector = retriever.embedder.embed_query(terms.dense_text)
        t2 = time.perf_counter()
        retriever.lexical_index().search(list(terms.terms), retriever.candidates)
        t3 = time.perf_counter()
        retriever.store.nearest(vector, retriever.candidates)
        t4 = time.perf_counter()
        passages = retriever.search_terms(terms, service.answer_k)
        t5 = time.perf_counter()
        list(service.answerer.stream(terms, passages))
        t6 = time.perf_counter()
        scores = retriever.lexical_index().scores(list(terms.terms))  # without the MaxScore shortcut, as before
        np.argpartition(-scores, min(retriever.candidates, len(scores)) - 1)
        t7 = time.perf_counter()
        for name, seconds in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t6 - t5, t7 - t6)):
            parts[name].append(seconds)
    return parts


def run_inprocess(data_dir: Path, questions: list[str], calls: int, warmup: int) -> None:
    from bot.settings import Settings
    from bot.wiring import build_service

    start = time.perf_counter()
    service = build_service(Settings(data_dir=data_dir))
    service.warm_up()
    print(f"cold start (build + warm_up)   {time.perf_counter() - start:.1f} s, "
          f"{len(service.retriever.lexical_index())} passages, {len(service.documents())} documents")
    print(f"peak RSS after warm-up         {peak_rss_mib():.0f} MiB")
    warm(lambda q: service.search(q, 5), questions, warmup)
    warm(service.chat, questions, warmup)
    log(f"timing {calls} searches and {calls} chats in-process")
    print(f"load average at start          {load_average()}")
    print(latency_line("in-process search(q, 5)", timed_calls(lambda q: service.search(q, 5), questions, calls)))
    answered: list[bool] = []
    print(latency_line("in-process chat(q)",
                       timed_calls(lambda q: answered.append(service.chat(q).answered), questions, calls)))
    print(f"chat answered                  {sum(answered)}/{len(answered)} calls")
    for name, seconds in search_parts(service, questions, calls).items():
        print(latency_line(f"  part: {name}", seconds))
    print(f"peak RSS after the query runs  {peak_rss_mib():.0f} MiB")
    print(f"load average at end            {load_average()}")


def run_http(data_dir: Path, questions: list[str], calls: int, warmup: int) -> None:
    import httpx

    from bot.settings import Settings

    Settings(data_dir=data_dir)  # fail here, not in the child, on a bad configuration
    start = time.perf_counter()
    with served(data_dir) as (url, server), httpx.Client(base_url=url, timeout=300) as client:
        print(f"server ready (uvicorn, loopback) {time.perf_counter() - start:.1f} s after start")

        def search(q: str) -> None:
            client.post("/api/search", json={"query": q, "k": 5}).raise_for_status()

        def chat(q: str) -> None:
            client.post("/api/chat", json={"message": q, "history": []}).raise_for_status()

        warm(search, questions, warmup)
        warm(chat, questions, warmup)
        log(f"timing {calls} searches and {calls} chats over HTTP")
        print(f"load average at start          {load_average()}")
        print(latency_line("HTTP POST /api/search", timed_calls(search, questions, calls)))
        print(latency_line("HTTP POST /api/chat", timed_calls(chat, questions, calls)))
        rss = process_peak_rss_mib(server.pid)
        print(f"server peak RSS after queries  {rss:.0f} MiB" if rss else "server peak RSS: unavailable")
        print(f"load average at end            {load_average()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="an already ingested data directory")
    parser.add_argument("--mode", choices=("inprocess", "http"), default="inprocess")
    parser.add_argument("--calls", type=int, default=120, help="timed calls per operation")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls per operation first")
    args = parser.parse_args()
    if not (args.data_dir / "chroma").is_dir():
        parser.error(f"{args.data_dir} holds no index; ingest first")
    questions = question_mix()
    log(f"{len(questions)} questions in the mix")
    print(f"OpenMP                         {openmp_settings()}")
    runner = run_inprocess if args.mode == "inprocess" else run_http
    runner(args.data_dir, questions, args.calls, args.warmup)


if __name__ == "__main__":
    main()

"""Bounded load on a real server: 8 then 32 clients, 30 s each, a mix of every read route.

    python benchmarks/load.py --data-dir DIR            # DIR already ingested (chidao ingest samples/ ...)
    python benchmarks/load.py --data-dir DIR --clients 8 --seconds 10 --min-requests 0

Prints, per phase, requests/s, p50/p95 latency, errors (non-2xx or no answer) and the server's
RSS before and after; then, until --min-requests (2,000) have been sent in all, more 8-client rounds
(at most --max-seconds in all). Targets (issue 15): 0 errors, and RSS within +100 MB after 2,000 requests.
The server runs with CHIDAO_RATE_LIMIT=0 (every client here shares one address). Load goes to
loopback only, and each phase stops by itself.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import common
import httpx

ROUTES: list[tuple[str, int]] = [  # (kind, weight)
    ("search", 30), ("chat", 25), ("chat-stream", 5), ("completion", 10), ("documents", 5),
    ("document", 5), ("agencies", 5), ("deadlines", 10), ("healthz", 5),
]


def request(client: httpx.Client, kind: str, rng: random.Random, questions: list[str], doc_ids: list[str]) -> int:
    q = rng.choice(questions)
    if kind == "search":
        return client.post("/api/search", json={"query": q, "k": 5}).status_code
    if kind == "chat":
        history = [{"role": "user", "content": rng.choice(questions)}, {"role": "assistant", "content": "…"}]
        return client.post("/api/chat", json={"message": q, "history": history[: rng.choice((0, 2))]}).status_code
    if kind == "chat-stream":
        with client.stream("POST", "/api/chat", json={"message": q, "stream": True}) as r:
            body = r.read()
            return r.status_code if b"event: answer" in body else 599
    if kind == "completion":
        body = {"model": "chidao", "messages": [{"role": "user", "content": q}]}
        return client.post("/v1/chat/completions", json=body).status_code
    if kind == "documents":
        return client.get("/api/documents").status_code
    if kind == "document":
        return client.get(f"/api/documents/{rng.choice(doc_ids)}").status_code
    if kind == "agencies":
        return client.get("/api/agencies").status_code
    if kind == "deadlines":
        params = {"format": rng.choice(("json", "csv", "ics")), "from": "2026-01-01", "to": "2026-12-31"}
        return client.get("/api/deadlines", params=params).status_code
    return client.get("/healthz").status_code


def phase(url: str, clients: int, seconds: float, questions: list[str], doc_ids: list[str]) -> dict[str, Any]:
    kinds = [k for k, _ in ROUTES]
    weights = [w for _, w in ROUTES]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=120) as client:
            while time.monotonic() < stop:
                kind = rng.choices(kinds, weights)[0]
                started = time.monotonic()
                try:
                    status = request(client, kind, rng, questions, doc_ids)
                except httpx.HTTPError as exc:
                    status, kind = 0, f"{kind}: {exc!r}"
                took = time.monotonic() - started
                with lock:
                    latencies.append(took)
                    if not 200 <= status < 300:
                        errors.append(f"{kind} -> {status}")

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": errors, "elapsed": time.monotonic() - began}


def report(clients: int, result: dict[str, Any], before: float, after: float) -> None:
    n, ms = len(result["latencies"]), [t * 1000 for t in result["latencies"]]
    print(f"{clients:3d} clients  {n:6d} requests in {result['elapsed']:5.1f} s  {n / result['elapsed']:7.1f} req/s  "
          f"p50 {common.percentile(ms, 50):7.1f} ms  p95 {common.percentile(ms, 95):7.1f} ms  "
          f"errors {len(result['errors'])}  server RSS {before:.0f} -> {after:.0f} MiB", flush=True)
    for line in sorted(set(result["errors"]))[:10]:
        print(f"    error: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="an already ingested data directory")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--min-requests", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on the whole run")
    args = parser.parse_args()
    os.environ["CHIDAO_RATE_LIMIT"] = "0"
    questions = common.question_mix()
    print(f"load average before: {common.load_average()}")
    with common.served(args.data_dir) as (url, server):
        doc_ids = [d["id"] for d in httpx.get(url + "/api/documents", timeout=60).json()]
        start_rss = common.process_rss_mib(server.pid) or 0.0
        total, errors_total, began = 0, 0, time.monotonic()
        plan = list(args.clients)
        while plan:
            clients = plan.pop(0)
            before = common.process_rss_mib(server.pid) or 0.0
            result = phase(url, clients, args.seconds, questions, doc_ids)
            after = common.process_rss_mib(server.pid) or 0.0
            n, errors = len(result["latencies"]), result["errors"]
            total, errors_total = total + n, errors_total + len(errors)
            report(clients, result, before, after)
            if not plan and total < args.min_requests and time.monotonic() - began + args.seconds < args.max_seconds:
                plan.append(8)
        end_rss = common.process_rss_mib(server.pid) or 0.0
        print(f"total {total} requests, {errors_total} errors; server RSS {start_rss:.0f} -> {end_rss:.0f} MiB "
              f"({end_rss - start_rss:+.0f} MiB; target within +100 MiB after 2,000 requests)")
    print(f"load average after: {common.load_average()}")


if __name__ == "__main__":
    main()

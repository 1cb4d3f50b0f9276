"""The HTTP half of ``scale_100k.py``: a real ``chidao serve`` over the 100k index.

Cold start, 1-client latency with the server's CPU time per request, a document ingested by the CLI
while the server runs (until ``/api/search`` finds it), its removal, and peak RSS.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from common import ROOT, latency_line, load_average, log, process_peak_rss_mib, question_mix
from synthetic_corpus import PROVINCES, document_text, read_seeds

from vectorstore.indexer import document_id

FRESH_PLACE = "Pà Vầy Sủ"  # a place no other document names
FRESH_QUERY = f"Kế hoạch của tỉnh {FRESH_PLACE} giao nhiệm vụ gì?"
TICKS = os.sysconf("SC_CLK_TCK")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def start(data_dir: Path) -> tuple[str, subprocess.Popen, float]:
    """``chidao serve``; returns its URL, process and seconds from start to the first answered search."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    # one client timing requests back to back: no per-client chat limit (as benchmarks/concurrency.py)
    process = subprocess.Popen(cli("serve", "--port", str(port), "--data-dir", str(data_dir)), cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "CHIDAO_RATE_LIMIT": "0"})
    while time.perf_counter() - began < 600:
        if process.poll() is not None:
            raise SystemExit(f"chidao serve exited with {process.returncode}")
        try:
            if httpx.post(url + "/api/search", json={"query": "kế hoạch", "k": 5}, timeout=30).status_code == 200:
                return url, process, time.perf_counter() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("chidao serve did not answer within 600 s")


def fresh_document(folder: Path) -> Path:
    """A new directive (the generator's, seed 4242) set in a place no other document names."""
    text = document_text(random.Random(4242), read_seeds())
    for province in PROVINCES:
        text = text.replace(province, FRESH_PLACE).replace(province.upper(), FRESH_PLACE.upper())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench_fresh_pa_vay_su.txt"
    path.write_text(text, encoding="utf-8")
    return path


def found(client: httpx.Client, doc_id: str) -> bool:
    response = client.post("/api/search", json={"query": FRESH_QUERY, "k": 5})
    return any(r["document_id"] == doc_id for r in response.json()["results"])


def until(client: httpx.Client, doc_id: str, present: bool, began: float, stop: threading.Event) -> float | None:
    """Seconds since ``began`` at which the document's presence first matched ``present``."""
    while not stop.is_set():
        if found(client, doc_id) == present:
            return time.perf_counter() - began
        time.sleep(0.05)
    return None


def change(client: httpx.Client, data_dir: Path, command: list[str], doc_id: str, present: bool) -> None:
    """Run the CLI ``command``; print its time, the moment it reported done, and when search agreed."""
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    reported: list[float] = []

    def read() -> None:
        for line in process.stdout or []:
            if not reported and line.strip():
                reported.append(time.perf_counter() - began)

    reader = threading.Thread(target=read)
    reader.start()
    stop = threading.Event()
    seen = [None]
    watcher = threading.Thread(target=lambda: seen.__setitem__(0, until(client, doc_id, present, began, stop)))
    watcher.start()
    process.wait()
    exited = time.perf_counter() - began
    watcher.join(timeout=60)
    stop.set()
    reader.join()
    word = "searchable" if present else "gone from search"
    done = reported[0] if reported else exited
    lag = f"{seen[0] - done:+.2f} s after the CLI reported it" if seen[0] is not None else "NOT within 60 s"
    print(f"  {' '.join(command[3:4])}: CLI {exited:.2f} s (reported done at {done:.2f} s); {word} at "
          f"{seen[0] if seen[0] is None else round(seen[0], 2)} s ({lag}); load {load_average()}")


def over_http(data_dir: Path, root: Path, calls: int, warmup: int) -> None:
    url, server, cold = start(data_dir)
    pids = [server.pid, *children(server.pid)]
    try:
        print(f"cold start (chidao serve)       {cold:.2f} s from process start to the first answered search; "
              f"load {load_average()}")
        maps = Path(f"/proc/{server.pid}/maps").read_text()
        print(f"torch loaded in the server      {'libtorch' in maps}")
        print(f"task list read ahead            {settled(pids):.1f} s later (the server reads it in a thread of its "
              f"own after it answers; the timings below start once its CPU use settles)")
        with httpx.Client(base_url=url, timeout=300) as client:
            latency(client, pids, calls, warmup)
            doc_id = document_id(fresh_document(root / "fresh").name)
            print(f"a new document ({doc_id}) while the server runs:")
            change(client, data_dir, cli("ingest", "--data-dir", str(data_dir), str(root / "fresh")), doc_id, True)
            change(client, data_dir, cli("remove", "--data-dir", str(data_dir), doc_id), doc_id, False)
        rss = process_peak_rss_mib(server.pid) or 0
        side = sum(process_peak_rss_mib(pid) or 0 for pid in pids[1:])
        print(f"server peak RSS                 {rss:.0f} MiB (chidao serve) + {side:.0f} MiB (its Chroma sidecar) "
              f"= {rss + side:.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=60)


def settled(pids: list[int], quiet: float = 0.05, every: float = 2.0) -> float:
    """Seconds until the server's processes use less than ``quiet`` of a core over ``every`` seconds."""
    began = time.perf_counter()
    used = cpu_seconds(pids)
    while True:
        time.sleep(every)
        now = cpu_seconds(pids)
        if now - used < quiet * every:
            return time.perf_counter() - began - every
        used = now


def latency(client: httpx.Client, pids: list[int], calls: int, warmup: int) -> None:
    questions = question_mix()
    bodies = {"/api/search": lambda q: {"query": q, "k": 5}, "/api/chat": lambda q: {"message": q, "history": []}}
    for path, body in bodies.items():
        for question in questions[:warmup]:
            client.post(path, json=body(question)).raise_for_status()
        log(f"timing {calls} x POST {path}")
        seconds = []
        cpu = cpu_seconds(pids)
        for i in range(calls):
            began = time.perf_counter()
            client.post(path, json=body(questions[i % len(questions)])).raise_for_status()
            seconds.append(time.perf_counter() - began)
        per = (cpu_seconds(pids) - cpu) / calls
        print(f"{latency_line('HTTP POST ' + path, seconds)}  server CPU {per * 1000:.1f} ms/request; "
              f"load {load_average()}")

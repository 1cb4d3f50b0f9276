"""Real processes for the multi-process tests: ``chidao`` commands, ``chidao serve``, ``chroma run``,
and an ingest killed (SIGKILL) at a named write step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
BASE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}

# Runs `chidao ARGS…` with one Store method replaced: it calls the real one ("after") or not
# ("before"), then the process kills itself with SIGKILL, as `kill -9` would.
KILLED_AT = """
import os, signal, sys
from vectorstore.store import Store
name, when = sys.argv[1].split(":")
real = getattr(Store, name)
def dying(self, *args, **kwargs):
    if when == "after":
        real(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
setattr(Store, name, dying)
from bot.cli import main
main(sys.argv[2:], prog_name="chidao")
"""


# Stores a filler document of N passages with random vectors (nothing embedded), in a process of its own.
FILLER = """
import sys
import numpy as np
from pathlib import Path
from vectorstore.embeddings import E5Embedder
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.store import Store
n = int(sys.argv[2])
store = Store.open(Path(sys.argv[1]), E5Embedder())
doc = DocumentRecord(id="filler", source="filler.txt", version="v1", title="Filler", chunk_count=n)
chunks = [StoredChunk(f"filler:v1:{i:05d}", "filler", "v1", f"Đoạn đệm thứ {i} về hồ sơ lưu trữ.", "", (), index=i)
          for i in range(n)]
vectors = np.random.default_rng(0).normal(size=(n, 384)).astype(np.float32)
store.put_chunks(doc, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
store.put_lexical(doc, chunks)
store.commit(doc, "")
"""


def fill(data_dir: Path, passages: int) -> None:
    """A data directory already holding ``passages`` passages, so Chroma has built its vector index
    (below a few hundred vectors, embedded Chroma scans its log and hides the multi-process problem)."""
    subprocess.run([sys.executable, "-c", FILLER, str(data_dir), str(passages)], cwd=ROOT, env=environment(),
                   check=True, timeout=900)


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHIDAO_")}
    return {**env, **BASE_ENV, **extra}


def chidao(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, env=env or environment())


def chidao_killed_at(point: str, *args: str, env: dict[str, str] | None = None) -> int:
    """Run ``chidao ARGS`` until the write step ``point`` ("put_lexical:after"); return its exit code."""
    done = subprocess.run([sys.executable, "-c", KILLED_AT, point, *args], cwd=ROOT, timeout=900,
                          env=env or environment(), capture_output=True, text=True)
    return done.returncode


def wait_for(check: Callable[[], bool], what: str, deadline: float = 180.0, every: float = 0.2) -> float:
    """Poll ``check`` until it holds; return the seconds it took (fails after ``deadline``)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > deadline:
            raise AssertionError(f"not within {deadline:.0f} s: {what}")
        time.sleep(every)
    return time.monotonic() - start


class Process:
    """A long-running child (its own process group), stopped at the end of a ``with`` block."""

    def __init__(self, args: list[str], env: dict[str, str], ready: Callable[[], bool], log: Path) -> None:
        self.args, self.env, self.ready, self.log = args, env, ready, log

    def __enter__(self) -> Process:
        self._log = open(self.log, "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_for(lambda: self.proc.poll() is not None or self.ready(), f"{self.args[:4]} ready", deadline=900)
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.args} exited: {self.log.read_text(errors='replace')[-3000:]}")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


def answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return check


def chroma_server(path: Path, log: Path) -> tuple[Process, str]:
    """``chroma run --path PATH --port P`` (chromadb's own CLI) on loopback."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    chroma = str(Path(sys.executable).with_name("chroma"))
    args = [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    return Process(args, environment(), answers(url + "/api/v2/heartbeat"), log), url


def chidao_server(data_dir: Path, log: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[Process, str]:
    """``chidao serve`` over ``data_dir`` on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--data-dir", str(data_dir), *extra]
    return Process(args, env or environment(), answers(url + "/healthz"), log), url


def search(url: str, query: str, **body: object) -> tuple[list[dict], str]:
    """(results, serving worker's pid) of one search on a fresh connection."""
    reply = httpx.post(url + "/api/search", json={"query": query, "k": 5, **body}, timeout=120,
                       headers={"Connection": "close"})
    reply.raise_for_status()
    return reply.json()["results"], reply.headers.get("x-chidao-worker", "")


def chat(url: str, message: str) -> dict:
    reply = httpx.post(url + "/api/chat", json={"message": message}, timeout=120, headers={"Connection": "close"})
    reply.raise_for_status()
    return json.loads(reply.text)

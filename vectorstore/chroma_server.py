"""One Chroma server for a data directory, so that several processes can share it.

Embedded Chroma is single-process: a process only searches the vectors it had
when it opened the directory, plus its own writes (another process's ingest
stays invisible to its nearest-neighbour search until it restarts). So while
``chidao serve`` runs without ``CHIDAO_CHROMA_URL``, it serves the data
directory's ``chroma/`` folder with Chroma's own server (``chroma run``) on a
loopback port and writes the address to ``DATA_DIR/chroma-server.json``; every
chidao process over that directory (the server's workers, ``chidao ingest``,
``ask`` …) finds it there and talks to it instead of opening the folder itself.
The server dies with the process that started it.

The server is Chroma's Rust server, started through its bindings without importing the Python
``chromadb`` package (which ``chroma run`` imports first: 1.1-1.5 s more before it answers). It
loads a collection's vector index at the first search of it (0.4 s at 100k passages, 1.2 s from a
cold page cache); ``launch(preload=...)`` has it do so as soon as it answers, so that a starting
``chidao serve`` finds the index in memory once it has loaded its own modules.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from vectorstore.chroma_preload import answers

log = logging.getLogger(__name__)

FILENAME = "chroma-server.json"
_ROOT = Path(__file__).resolve().parent.parent  # where ``vectorstore`` imports from, for the preload
_RUN = "import sys, chromadb_rust_bindings; chromadb_rust_bindings.cli(['chroma', *sys.argv[1:]])"


def running_url(data_dir: Path) -> str | None:
    """The address of the data directory's running Chroma server, if one answers."""
    try:
        info = json.loads((Path(data_dir) / FILENAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = str(info.get("url", ""))
    return url if url and answers(url, timeout=1.0) else None


SIDECAR_ARENAS = "2"


def sidecar_env() -> dict[str, str]:
    """The sidecar's environment: ours, with glibc's malloc arenas limited (``MALLOC_ARENA_MAX``, unless
    the operator set it). Chroma's server threads each took an arena of their own and kept what they
    had freed: peak RSS at 100k passages 628-681 MiB with glibc's default, 508 MiB with 2
    (``benchmarks/scale_100k.py --phase http``)."""
    return {**os.environ, "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", SIDECAR_ARENAS)}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ChromaServer:
    """``chroma run`` over ``DATA_DIR/chroma`` on a free loopback port, announced in the directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.preloading: subprocess.Popen[str] | None = None  # vectorstore.chroma_preload, while it runs

    def start(self, timeout: float = 120.0) -> str:
        """Start it (or join the one already serving this directory) and return its URL."""
        self.launch()
        return self.wait(timeout)

    def launch(self, preload: Sequence[str] = ()) -> None:
        """Start the server process (or find the one serving this directory) without waiting for it,
        so that the caller can load its own modules meanwhile; :meth:`wait` then returns its URL.
        A server started here loads the vector index of each collection named in ``preload`` as
        soon as it answers (``vectorstore.chroma_preload`` asks it to; see :meth:`preloaded`)."""
        if url := running_url(self.data_dir):
            self.url = url
            return
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        path = self.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", _RUN, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent, env=sidecar_env(),
        )
        if preload:
            self.preloading = subprocess.Popen(
                [sys.executable, "-m", "vectorstore.chroma_preload", self.url, *preload], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, preexec_fn=_die_with_parent, cwd=_ROOT,
            )

    def preloaded(self, timeout: float = 120.0) -> dict[str, str]:
        """What the preload did, once it has (collection -> "loaded", "empty", "absent", "failed: ...")."""
        if self.preloading is None:
            return {}
        out, _ = self.preloading.communicate(timeout=timeout)
        return json.loads(out or "{}")

    def wait(self, timeout: float = 120.0) -> str:
        """Wait until the launched server answers, announce it in the directory, return its URL."""
        if self.process is None:  # joined a running one
            return self.url
        path = self.data_dir / "chroma"
        deadline = time.monotonic() + timeout
        while not answers(self.url, timeout=2.0):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Chroma server for {path} did not start")
            time.sleep(0.05)
        announce = self.data_dir / f"{FILENAME}.{os.getpid()}.tmp"
        announce.write_text(json.dumps({"url": self.url, "pid": self.process.pid}), encoding="utf-8")
        os.replace(announce, self.data_dir / FILENAME)
        log.info("Chroma server for %s at %s", path, self.url)
        return self.url

    def stop(self) -> None:
        if self.preloading is not None and self.preloading.returncode is None:  # not yet read by preloaded()
            self.preloading.kill()  # nothing sent once it has exited
            self.preloading.communicate()  # reaped, its pipe closed
        if self.process is None:
            return
        try:
            info = json.loads((self.data_dir / FILENAME).read_text(encoding="utf-8"))
            if info.get("pid") == self.process.pid:
                (self.data_dir / FILENAME).unlink()
        except (OSError, ValueError):
            pass
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process = None

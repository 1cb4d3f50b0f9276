"""The five sample documents indexed with the hashing embedder, once per test session.

No model loads, so tests of reading, judging and composing answers run in seconds;
lexical search, the task list and the answerers are the real ones. Tests that need
the real model's dense search use the ``seeded_service`` fixture instead.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@lru_cache(maxsize=1)
def hashed_dir() -> Path:
    from vectorstore.hashing import HashingEmbedder
    from vectorstore.indexer import Indexer
    from vectorstore.store import Store

    data = Path(tempfile.mkdtemp(prefix="chidao-hashed-"))
    atexit.register(shutil.rmtree, data, True)
    embedder = HashingEmbedder()
    indexer = Indexer(Store.open(data, embedder), embedder)
    for path in sorted(SAMPLES.glob("*.txt")):
        assert indexer.ingest_file(path).ok, path
    return data


@lru_cache(maxsize=1)
def hashed_service():
    from bot.settings import Settings
    from bot.wiring import build_service, build_store
    from vectorstore.hashing import HashingEmbedder

    settings = Settings(data_dir=hashed_dir())
    return build_service(settings, build_store(settings, HashingEmbedder()))

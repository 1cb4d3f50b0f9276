"""The incremental lexical index: bm25s' exact BM25, one document version at a time, shared on disk.

Real Chroma (embedded) and real SQLite; passages are stored with random vectors
(nothing here needs the dense side), parsed and chunked by the real pipeline.
"""

from __future__ import annotations

import math
import time
from collections import Counter

import bm25s
import numpy as np
import pytest

from ingest.folding import fold
from ingest.pipeline import parse_bytes
from vectorstore.indexer import Indexer, content_version, document_id
from vectorstore.lexical import LexicalIndex
from vectorstore.lexical_segments import merge
from vectorstore.lexical_store import LexicalStore, chunk_terms
from vectorstore.lexical_sync import LexicalSync
from vectorstore.question import read_question
from vectorstore.store import Store
from vectorstore.text import default_lexicon


def analyse_query(text: str):
    return read_question(text, default_lexicon())

QUESTIONS = [
    "Cơ sở giáo dục phải đăng ký gì trong Quý I?", "Sở Y tế phải làm gì?", "tuần tra biên giới ban đêm",
    "chỉ tiêu điều tra khám phá án hình sự", "Ai ký kế hoạch?", "phòng cháy chữa cháy chợ",
]


class Spy:
    """Counts calls of one method (and lets them through)."""

    def __init__(self, monkeypatch, owner, name: str) -> None:
        self.calls: list[tuple] = []
        real = getattr(owner, name)

        def spy(*args, **kwargs):
            self.calls.append(args)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)


def records(e5, name: str, text: str):
    """(DocumentRecord, chunks) of a text file, as ingest builds them."""
    data = text.encode()
    return Indexer(None, e5)._records(parse_bytes(data, name), document_id(name), content_version(data), len(data))


def put(store: Store, doc, chunks, commit: bool = True) -> None:
    """The ingest write order, with random vectors instead of embeddings."""
    vectors = np.random.default_rng(len(chunks)).normal(size=(len(chunks), 384)).astype(np.float32)
    store.put_chunks(doc, chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    store.put_lexical(doc, chunks)
    if commit:
        store.commit(doc, "")


@pytest.fixture(scope="module")
def corpus(e5, samples):
    """The five seeds, and a second version of 003 with other words."""
    docs = {p.name: records(e5, p.name, p.read_text(encoding="utf-8")) for p in sorted(samples.glob("*.txt"))}
    changed = (samples / "003_aab6fb287954f5ee.txt").read_text(encoding="utf-8").replace("Sở Y tế", "Sở Hải quan")
    return docs, records(e5, "003_aab6fb287954f5ee.txt", changed)


def oracle(live: list) -> tuple[list[str], bm25s.BM25, Counter]:
    """bm25s built from scratch on the live passages (the previous design), and document frequencies."""
    ids = [c.id for doc, chunks in live for c in chunks]
    terms = [chunk_terms(c, doc) for doc, chunks in live for c in chunks]
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index(terms, show_progress=False)
    return ids, bm25, Counter(t for ts in terms for t in set(ts))


def assert_same_as_bm25s(view: LexicalIndex, live: list) -> None:
    ids, bm25, vocab = oracle(live)
    n = len(ids)
    assert len(view) == len(ids)
    for question in QUESTIONS:
        terms = list(analyse_query(question).terms)
        known = [t for t in terms if t in vocab]
        expected = np.asarray(bm25.get_scores(known), dtype=np.float64) if known else np.zeros(len(ids))
        got = dict(view.search(terms, len(ids)))
        assert set(got) == {i for i, s in zip(ids, expected) if s > 0}, question
        assert np.allclose([got.get(i, 0.0) for i in ids], expected, rtol=1e-4), question
        for term in known[:5]:
            assert view.idf(term) == pytest.approx(math.log(1 + (n - vocab[term] + 0.5) / (vocab[term] + 0.5)))


def test_scores_equal_bm25s_rebuilt_from_scratch_through_adds_merges_replacements_and_removals(corpus, tmp_path):
    docs, changed = corpus
    store = LexicalStore(tmp_path / "lexical")
    for doc, chunks in [*docs.values(), changed]:
        store.put_version(doc, chunks)
    segments = {name: store.segment((d.id, d.version)) for name, (d, _) in docs.items()}
    new_003 = store.segment((changed[0].id, changed[0].version))
    key = lambda name: (docs[name][0].id, docs[name][0].version)  # noqa: E731

    view = LexicalIndex(list(segments.values()), {key(n) for n in docs}, store.term_ids)
    assert_same_as_bm25s(view, list(docs.values()))

    # merged into one segment on disk, then the old 003 masked and its new version added
    store.write_base(list(segments.values()), [np.ones(s.n_rows, bool) for s in segments.values()])
    base = store.load_base()[1]
    live = {key(n) for n in docs if not n.startswith("003")} | {(changed[0].id, changed[0].version)}
    view = LexicalIndex([base, new_003], live, store.term_ids)
    replaced = [v for n, v in docs.items() if not n.startswith("003")] + [changed]
    assert_same_as_bm25s(view, replaced)
    assert view.dead_rows == len(docs["003_aab6fb287954f5ee.txt"][1])

    # a removal, and an in-memory merge that drops the dead rows
    live.discard(key("000_37051849595c08ae.txt"))
    masked = LexicalIndex([base, new_003], live, store.term_ids)
    merged = merge([base, new_003], [masked.live[: base.n_rows], masked.live[base.n_rows:]])
    view = LexicalIndex([merged], live, store.term_ids)
    assert view.dead_rows == 0
    assert_same_as_bm25s(view, [v for v in replaced if v[0].id != "000_37051849595c08ae"])


def test_a_new_document_is_read_alone_and_a_restart_maps_the_merged_base(corpus, e5, tmp_path, monkeypatch):
    docs, _ = corpus
    store = Store.open(tmp_path / "data", e5)
    first, (last_doc, last_chunks) = list(docs.values())[:4], list(docs.values())[4]
    for doc, chunks in first:
        put(store, doc, chunks)
    sync = LexicalSync(store, min_merge=10)
    assert len(sync.index()) == sum(len(c) for _, c in first)
    sync.settle()  # merged into a base on disk
    assert store.lexical.base_name()

    read = Spy(monkeypatch, LexicalStore, "segment")
    copied = Spy(monkeypatch, Store, "version_chunks")
    put(store, last_doc, last_chunks)
    view = sync.index()
    assert [args[-1] for args in read.calls] == [(last_doc.id, last_doc.version)]
    assert copied.calls == []  # this node wrote it: nothing read back from Chroma
    assert_same_as_bm25s(view, list(docs.values()))

    # a restart (a new process over the same directory) maps the base and reads only what is newer
    read.calls.clear()
    again = LexicalSync(Store.open(tmp_path / "data", e5)).index()
    assert [args[-1] for args in read.calls] == [(last_doc.id, last_doc.version)]
    assert_same_as_bm25s(again, list(docs.values()))


def test_a_node_that_did_not_ingest_a_version_copies_it_from_chroma(corpus, e5, tmp_path, monkeypatch):
    docs, changed = corpus
    writer = Store.open(tmp_path / "writer", e5)
    for doc, chunks in docs.values():
        put(writer, doc, chunks)
    # another node: the same Chroma, its own lexical directory
    node = Store(writer._client, e5, tmp_path / "node" / "lexical")
    sync = LexicalSync(node)
    assert_same_as_bm25s(sync.index(), list(docs.values()))
    assert store_versions(node) == {(d.id, d.version) for d, _ in docs.values()}

    copied = Spy(monkeypatch, node, "version_chunks")
    put(writer, *changed)
    deadline = time.monotonic() + 30  # the registry's stamp is checked once a second
    while (changed[0].id, changed[0].version) not in sync.index().keys and time.monotonic() < deadline:
        time.sleep(0.1)
    replaced = [v for n, v in docs.items() if not n.startswith("003")] + [changed]
    assert_same_as_bm25s(sync.index(), replaced)
    assert [list(args[-1]) for args in copied.calls] == [[(changed[0].id, changed[0].version)]]


def store_versions(store: Store) -> set:
    return store.lexical.versions()


def test_a_version_not_whole_in_chroma_is_not_copied(corpus, e5, tmp_path):
    docs, _ = corpus
    writer = Store.open(tmp_path / "writer", e5)
    doc, chunks = docs["003_aab6fb287954f5ee.txt"]
    put(writer, doc, chunks)
    writer._chunks.delete(ids=[chunks[0].id])  # as while another node replaces it
    node = Store(writer._client, e5, tmp_path / "node" / "lexical")
    assert len(LexicalSync(node).index()) == 0
    assert node.lexical.versions() == set()


def test_an_uncommitted_version_is_never_searched_and_is_collected(corpus, e5, tmp_path):
    docs, changed = corpus
    store = Store.open(tmp_path / "data", e5)
    put(store, *docs["003_aab6fb287954f5ee.txt"])
    put(store, *changed, commit=False)  # killed before the registry flip
    view = LexicalSync(store).index()
    assert_same_as_bm25s(view, [docs["003_aab6fb287954f5ee.txt"]])
    assert not any("Hải quan" in c for c, _ in view.search(list(analyse_query("Sở Hải quan").terms), 50)
                   if c.startswith(changed[0].version))
    assert (changed[0].id, changed[0].version) in store.lexical.versions()
    store.collect_garbage()
    assert store.lexical.versions() == {(docs["003_aab6fb287954f5ee.txt"][0].id,
                                         docs["003_aab6fb287954f5ee.txt"][0].version)}


def test_removing_a_document_drops_its_rows_everywhere(corpus, e5, tmp_path):
    docs, _ = corpus
    store = Store.open(tmp_path / "data", e5)
    for doc, chunks in list(docs.values())[:2]:
        put(store, doc, chunks)
    sync = LexicalSync(store)
    sync.index()
    gone = list(docs.values())[0][0]
    assert store.remove(gone.id)
    assert all(not c.startswith(gone.id + ":") for c, _ in sync.index().search(
        list(analyse_query("an ninh trật tự kế hoạch").terms), 500))
    assert {d for d, _ in store.lexical.versions()} == {list(docs.values())[1][0].id}


def test_the_task_index_reads_the_tasks_of_new_versions_only(e5, samples, tmp_path, monkeypatch):
    from vectorstore.task_index import TaskIndex

    store = Store.open(tmp_path / "data", e5)
    indexer = Indexer(store, e5)
    for path in sorted(samples.glob("00[34]_*.txt")):
        data = path.read_bytes()
        parsed = parse_bytes(data, path.name)
        doc, chunks = indexer._records(parsed, document_id(path.name), content_version(data), len(data))
        store.put_tasks(indexer._tasks(parsed, chunks))
        put(store, doc, chunks)
        if path.name.startswith("003"):
            tasks = TaskIndex(store)
            first = len(tasks.views())
            assert first > 10
            read = Spy(monkeypatch, Store, "version_tasks")
    assert len(tasks.views()) > first
    assert [set(args[-1]) for args in read.calls] == [{(doc.id, doc.version)}]


def test_the_top_k_scored_rarer_terms_first_is_the_exact_top_k(corpus, tmp_path):
    """Common syllables are scored only where the rarer terms found passages (MaxScore); the top k is
    bm25s's, with and without a document filter, whether the shortcut is taken or not."""
    docs, _ = corpus
    store = LexicalStore(tmp_path / "lexical")
    for doc, chunks in docs.values():
        store.put_version(doc, chunks)
    view = LexicalIndex([store.segment((d.id, d.version)) for d, _ in docs.values()],
                        {(d.id, d.version) for d, _ in docs.values()}, store.term_ids)
    ids, bm25, vocab = oracle(list(docs.values()))
    owner = {c.id: d.id for d, chunks in docs.values() for c in chunks}
    some = {d.id for d, _ in list(docs.values())[1:3]}
    pruned = 0
    questions = QUESTIONS + [fold(q) for q in QUESTIONS] + ["Sở Y tế", "kế hoạch thi đua của tỉnh", "báo cáo"]
    for question in questions:
        terms = list(analyse_query(question).terms)
        known = [t for t in terms if t in vocab]
        expected = np.asarray(bm25.get_scores(known), dtype=np.float64) if known else np.zeros(len(ids))
        for k in (1, 5, 10):
            for allowed in (None, some):
                rows = None if allowed is None else view.allowed_rows(allowed)
                shortcut = view._pruned_scores(terms, k, rows)
                pruned += shortcut is not None and int((shortcut > 0).sum()) < int((view.scores(terms) > 0).sum())
                got = view.search(terms, k, allowed)
                admitted = [(i, s) for i, s in zip(ids, expected) if s > 0 and (allowed is None or owner[i] in allowed)]
                best = sorted(admitted, key=lambda h: (-h[1], h[0]))[:k]
                assert [s for _, s in got] == pytest.approx([s for _, s in best], rel=1e-4), (question, k)
                assert {i for i, _ in got} == {i for i, _ in best} or len({round(s, 4) for _, s in best}) < len(best)
    assert pruned >= 15  # the shortcut was taken (22 of the 90 cases on the seeds)

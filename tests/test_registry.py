"""The registry cache: a change to one document costs one small read, not the whole registry."""

from __future__ import annotations

from typing import Any

from vectorstore.hashing import HashingEmbedder
from vectorstore.records import DocumentRecord
from vectorstore.store import Store


class CountingCollection:
    """The registry collection, counting how many records each read returns."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.returned = inner, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, *args: Any, **kwargs: Any) -> Any:
        got = self.inner.get(*args, **kwargs)
        if kwargs.get("include") != []:  # ids only is not a record read
            self.returned.append(len(got["ids"]))
        return got


def record(doc_id: str, version: str = "v1") -> DocumentRecord:
    return DocumentRecord(id=doc_id, source=f"{doc_id}.txt", version=version, title=f"Kế hoạch {doc_id}",
                          sections=[{"path": "I", "title": "NHIỆM VỤ"}] * 20)


def test_a_reader_takes_in_one_change_without_rereading_the_registry(tmp_path, monkeypatch):
    embedder = HashingEmbedder()
    writer, reader = Store.open(tmp_path, embedder), Store.open(tmp_path, embedder)
    for n in range(30):
        writer.commit(record(f"doc-{n}"), "text")
    monkeypatch.setattr("vectorstore.store._REGISTRY_TTL", 0.0)  # check the stamp at every read
    assert len(reader.registry()) == 30
    reader._docs = counting = CountingCollection(reader._docs)

    writer.commit(record("doc-new"), "text")
    writer.commit(record("doc-3", "v2"), "text")
    writer.remove("doc-7")
    registry = reader.registry()
    assert set(registry) == {f"doc-{n}" for n in range(30) if n != 7} | {"doc-new"}
    assert registry["doc-3"].version == "v2" and registry["doc-new"].title == "Kế hoạch doc-new"
    assert registry["doc-5"].outline() == record("doc-5").outline()  # unchanged records kept whole
    assert sum(counting.returned) <= 31  # at most every record once more (all written within the margin)


def test_records_written_long_ago_are_not_read_again(tmp_path, monkeypatch):
    embedder = HashingEmbedder()
    writer, reader = Store.open(tmp_path, embedder), Store.open(tmp_path, embedder)
    clock = {"now": 1_000_000_000_000_000_000}
    monkeypatch.setattr("vectorstore.store.time.time_ns", lambda: clock["now"])
    for n in range(30):
        writer.commit(record(f"doc-{n}"), "text")
    monkeypatch.setattr("vectorstore.store._REGISTRY_TTL", 0.0)
    assert len(reader.registry()) == 30
    reader._docs = counting = CountingCollection(reader._docs)

    clock["now"] += 3600 * 10**9  # an hour later
    writer.commit(record("doc-new"), "text")
    reader.registry()  # the records within the clock margin of the newest seen are read once more
    clock["now"] += 3600 * 10**9
    counting.returned.clear()
    writer.commit(record("doc-newer"), "text")
    writer.remove("doc-7")
    registry = reader.registry()
    assert set(registry) == {f"doc-{n}" for n in range(30) if n != 7} | {"doc-new", "doc-newer"}
    # the new record and the newest one seen before (within the clock margin), not the 30 written hours before
    assert counting.returned == [2]
    writer.commit(record("doc-newest"), "text")
    assert "doc-newest" in reader.registry() and counting.returned == [2, 2]


def test_records_without_a_write_time_are_still_read(tmp_path, monkeypatch):
    """A registry written by an older chidao has no write times: such records are read once."""
    embedder = HashingEmbedder()
    writer, reader = Store.open(tmp_path, embedder), Store.open(tmp_path, embedder)
    writer.commit(record("doc-a"), "text")
    monkeypatch.setattr("vectorstore.store._REGISTRY_TTL", 0.0)
    assert set(reader.registry()) == {"doc-a"}
    writer._docs.upsert(ids=["doc-old"], documents=["text"], metadatas=[record("doc-old").to_metadata()])
    writer._changed()
    assert set(reader.registry()) == {"doc-a", "doc-old"}


def test_records_read_again_within_the_margin_are_not_rebuilt(tmp_path, monkeypatch):
    embedder = HashingEmbedder()
    writer, reader = Store.open(tmp_path, embedder), Store.open(tmp_path, embedder)
    for n in range(30):
        writer.commit(record(f"doc-{n}"), "text")
    monkeypatch.setattr("vectorstore.store._REGISTRY_TTL", 0.0)
    assert len(reader.registry()) == 30
    built = []
    original = DocumentRecord.from_metadata.__func__
    monkeypatch.setattr(DocumentRecord, "from_metadata",
                        classmethod(lambda cls, doc_id, meta: built.append(doc_id) or original(cls, doc_id, meta)))
    writer.commit(record("doc-new"), "text")
    writer.commit(record("doc-4", "v2"), "text")
    registry = reader.registry()
    assert sorted(built) == ["doc-4", "doc-new"]  # the other 29, read again (same write time), are kept
    assert registry["doc-4"].version == "v2" and len(registry) == 31


def test_collections_persist_their_vector_index_every_few_records(tmp_path):
    """Chroma re-reads at every write what it logged since its index last persisted (texts included);
    chidao's collections persist often, and a collection made with Chroma's default is changed."""

    from vectorstore.store import SYNC, open_client

    embedder = HashingEmbedder()
    old = open_client(tmp_path).get_or_create_collection(f"documents-{embedder.key}", embedding_function=None)
    assert old.configuration["hnsw"]["sync_threshold"] == 1000  # Chroma's default
    Store.open(tmp_path, embedder)
    reopened = open_client(tmp_path)
    for name in ("chunks", "documents", "tasks", "stamps"):
        hnsw = reopened.get_collection(f"{name}-{embedder.key}").configuration["hnsw"]
        assert hnsw["sync_threshold"] == SYNC[name]["sync_threshold"], name
    assert SYNC["documents"]["sync_threshold"] <= 20  # one record per document, its whole text


class PagedOnly(CountingCollection):
    """A collection that, like Chroma past 32,766 records, refuses to read more than ``limit`` at once."""

    def __init__(self, inner: Any, limit: int) -> None:
        super().__init__(inner)
        self.limit = limit

    def get(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("ids") and not kwargs.get("where") and (kwargs.get("limit") or 10**9) > self.limit:
            raise RuntimeError("too many SQL variables")
        return super().get(*args, **kwargs)


def test_whole_collection_reads_go_a_page_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr("vectorstore.store._PAGE", 3)
    embedder = HashingEmbedder()
    writer = Store.open(tmp_path, embedder)
    for n in range(8):
        writer.commit(record(f"doc-{n}"), "text")
    reader = Store.open(tmp_path, embedder)
    reader._docs = PagedOnly(reader._docs, 3)
    reader._chunks, reader._tasks = PagedOnly(reader._chunks, 3), PagedOnly(reader._tasks, 3)
    assert sorted(reader.registry()) == sorted(f"doc-{n}" for n in range(8))
    assert reader._docs.returned[:3] == [3, 3, 2]
    assert reader.collect_garbage(full=True) == 0 and reader.live_chunks() == [] and reader.live_tasks() == []


def test_garbage_collection_looks_only_at_the_documents_an_interrupted_write_noted(tmp_path):
    import numpy as np

    from vectorstore.records import StoredChunk

    embedder = HashingEmbedder()
    store = Store.open(tmp_path, embedder)

    def chunk(doc: DocumentRecord, n: int = 0) -> StoredChunk:
        return StoredChunk(f"{doc.id}:{doc.version}:{n}", doc.id, doc.version, f"đoạn {n} của {doc.id}", "I", ("I.",))

    def write(doc: DocumentRecord) -> None:
        store.put_chunks(doc, [chunk(doc)], embedder.embed([chunk(doc).text], query=False))

    for n in range(4):
        write(record(f"doc-{n}"))
        store.commit(record(f"doc-{n}"), "text")
    write(record("doc-1", "v2"))  # a new version killed before its commit ...
    write(record("new"))  # ... a new document killed before its commit ...
    store.remove("doc-3")
    assert store.get_chunks(["doc-3:v1:0"]) == {}
    writer = Store.open(tmp_path, embedder)  # ... and a removal killed after its registry delete:
    writer._pending("doc-2", "")
    writer._docs.delete(ids=["doc-2"])
    writer._changed()

    class NoWholeReads(CountingCollection):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            assert args or kwargs.get("ids") or kwargs.get("where"), "garbage collection read the whole archive"
            return super().get(*args, **kwargs)

    store._chunks, store._tasks = NoWholeReads(store._chunks), NoWholeReads(store._tasks)
    assert store.collect_garbage() == 3
    assert store.get_chunks(["doc-1:v2:0", "new:v1:0", "doc-2:v1:0"]) == {}
    assert sorted(store.get_chunks(["doc-0:v1:0", "doc-1:v1:0"])) == ["doc-0:v1:0", "doc-1:v1:0"]
    assert store.collect_garbage() == 0  # the notes are gone with what they named
    assert not store._stamps.get(where={"pending": True})["ids"]
    assert np.isfinite(store.nearest(embedder.embed_query("đoạn 0 của doc-0"), 1)[0][1])


def test_a_new_process_starts_from_the_snapshot_and_reads_only_what_changed(tmp_path, monkeypatch):
    embedder = HashingEmbedder()
    clock = {"now": 1_000_000_000_000_000_000}
    monkeypatch.setattr("vectorstore.store.time.time_ns", lambda: clock["now"])
    monkeypatch.setattr("vectorstore.store._REGISTRY_TTL", 0.0)
    monkeypatch.setattr("vectorstore.registry_snapshot.SAVE_EVERY", 0.0)
    writer, first = Store.open(tmp_path, embedder), Store.open(tmp_path, embedder)
    for n in range(30):
        writer.commit(record(f"doc-{n}"), "text")
    assert len(first.registry()) == 30  # read whole, then kept on disk
    clock["now"] += 3600 * 10**9
    writer.commit(record("doc-new"), "text")
    assert len(first.registry()) == 31  # a change taken in: the snapshot follows
    clock["now"] += 3600 * 10**9
    writer.commit(record("doc-3", "v2"), "text")
    writer.remove("doc-7")

    restarted = Store.open(tmp_path, embedder)
    restarted._docs = counting = CountingCollection(restarted._docs)
    registry = restarted.registry()
    assert set(registry) == {f"doc-{n}" for n in range(30) if n != 7} | {"doc-new"}
    assert registry["doc-3"].version == "v2" and registry["doc-5"] == record("doc-5")
    assert isinstance(registry["doc-5"].sections, str)  # the outline's text, parsed when shown
    assert registry["doc-5"].outline() == record("doc-5").outline()
    # the records written within the clock margin of the newest the snapshot saw (doc-3, and doc-new
    # unless the writer's own reads saved the snapshot after it), not the 30 others
    assert sum(counting.returned) <= 2 and len(counting.returned) == 1


def test_outlines_are_read_as_text_and_parsed_only_when_asked(tmp_path):
    """A process reads thousands of records and shows an outline only when a document is opened."""
    writer = Store.open(tmp_path, HashingEmbedder())
    writer.commit(record("doc-1"), "text")
    read = Store.open(tmp_path, HashingEmbedder()).registry()["doc-1"]
    assert isinstance(read.sections, str)
    assert read.to_metadata() == record("doc-1").to_metadata()  # written back unchanged
    assert read.outline() == record("doc-1").outline() == [{"path": "I", "title": "NHIỆM VỤ"}] * 20
    assert isinstance(read.sections, list) and read.outline() is read.outline()  # parsed once


def test_a_damaged_or_foreign_snapshot_is_not_used(tmp_path):
    embedder = HashingEmbedder()
    writer = Store.open(tmp_path / "a", embedder)
    for n in range(3):
        writer.commit(record(f"doc-{n}"), "text")
    assert len(Store.open(tmp_path / "a", embedder).registry()) == 3
    snapshot = tmp_path / "a" / "lexical" / embedder.key / "registry.json"
    other = Store.open(tmp_path / "b", embedder)
    other.commit(record("elsewhere"), "text")
    foreign = tmp_path / "b" / "lexical" / embedder.key / "registry.json"
    foreign.parent.mkdir(parents=True, exist_ok=True)
    foreign.write_bytes(snapshot.read_bytes())  # another database's registry, same folder layout
    assert set(Store.open(tmp_path / "b", embedder).registry()) == {"elsewhere"}

    snapshot.write_text('{"version": 1, "collection"', encoding="utf-8")  # cut short
    assert set(Store.open(tmp_path / "a", embedder).registry()) == {"doc-0", "doc-1", "doc-2"}
    assert "doc-2" in snapshot.read_text(encoding="utf-8")  # written again, whole


def test_a_reread_that_finds_nothing_new_keeps_the_same_registry_object(tmp_path, monkeypatch):
    """What is made once per registry (the tables of documents by number and by place) is remade only
    when the registry changes, not at every periodic re-read."""
    embedder = HashingEmbedder()
    writer, reader = Store.open(tmp_path, embedder), Store.open(tmp_path, embedder)
    for n in range(5):
        writer.commit(record(f"doc-{n}"), "text")
    monkeypatch.setattr("vectorstore.store._REGISTRY_TTL", 0.0)
    monkeypatch.setattr("vectorstore.store._REGISTRY_RELOAD", 0.0)  # read again at every call
    first = reader.registry()
    assert reader.registry() is first and reader.registry() is first
    writer.commit(record("doc-2", "v2"), "text")
    changed = reader.registry()
    assert changed is not first and changed["doc-2"].version == "v2" and reader.registry() is changed
    writer.remove("doc-4")
    assert "doc-4" not in reader.registry() and "doc-4" in changed

"""Chroma, embedded in the data directory or a server, holding chunks and the document registry.

Two collections per embedder (vector spaces never mix):

- ``chunks-<embedder>``: passages with their embeddings and metadata;
- ``documents-<embedder>``: one record per document, the registry. A record
  names the live ``version`` of its document.

A new version's chunks, tasks and lexical rows (``lexical_store``, a SQLite file
in the data directory) are written first, then the registry record is flipped,
then the old versions are deleted. Readers only see versions the registry
names, so a crash at any point leaves the previous version queryable.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from vectorstore.chroma_embedding import ChromaEmbedding, NoEmbedding
from vectorstore.chroma_server import running_url
from vectorstore.collection_names import collection_name
from vectorstore.embeddings import Embedder
from vectorstore.lexical_store import LexicalStore
from vectorstore.records import DocumentRecord, StoredChunk, StoredTask
from vectorstore.registry_snapshot import RegistrySnapshot, Snapshot

log = logging.getLogger(__name__)

_REGISTRY_TTL = 1.0  # seconds; other processes' writes show up within this
_REGISTRY_RELOAD = 60.0  # seconds; the registry is re-checked this often even if the stamp did not change
_WRITTEN = "written"  # registry metadata: when the record was written (microseconds since the epoch)
_CLOCK_MARGIN_US = 120_000_000  # records written up to 2 min before the newest one seen are re-read (clock skew)
_STAMP = "registry"
_PENDING = "pending"  # stamps metadata: a version being written or removed (see Store._pending)


# How many records Chroma's vector index takes in before it persists (``sync_threshold``) and adds them
# to the graph (``batch_size``). Until it persists, every write re-reads all records logged since the last
# persist, texts included: with Chroma's default of 1000, a write to the registry (one record of a whole
# document's text per document) cost 35 ms at 100 documents and 870 ms at 500 (benchmarks/chroma_sync.py).
SYNC: dict[str, dict[str, int]] = {
    "chunks": {"sync_threshold": 200, "batch_size": 100},
    "documents": {"sync_threshold": 10, "batch_size": 10},
    "tasks": {"sync_threshold": 50, "batch_size": 50},
    "stamps": {"sync_threshold": 10, "batch_size": 10},
}


def _synced(collection: Any, name: str) -> Any:
    """A collection made before these settings existed gets them (they apply from its next opening)."""
    hnsw = (collection.configuration or {}).get("hnsw") or {}
    if hnsw.get("sync_threshold") != SYNC[name]["sync_threshold"]:
        try:
            collection.modify(configuration={"hnsw": dict(SYNC[name])})
        except Exception:  # an older server that cannot change it: slower writes, nothing wrong
            log.warning("could not set %s's sync threshold", collection.name, exc_info=True)
    return collection


_PAGE = 5000  # records per read: Chroma reads a page with one SQL statement (SQLite allows 32,766 variables)


def _read_all(collection: Any, **query: Any) -> dict[str, list]:
    """``collection.get(**query)`` a page at a time, joined: one read of a whole 100k-passage
    collection fails in Chroma ("too many SQL variables")."""
    out: dict[str, list] = {"ids": [], "metadatas": [], "documents": []}
    while True:
        got = collection.get(limit=_PAGE, offset=len(out["ids"]), **query)
        for key in out:
            out[key] += list(got.get(key) or [])
        if len(got["ids"]) < _PAGE:
            return out


def open_client(data_dir: Path, chroma_url: str | None = None) -> Any:
    """A Chroma server's client (``chroma_url``, or the server ``chidao serve`` runs for this data
    directory: see ``chroma_server``), else Chroma embedded in ``data_dir/chroma``."""
    settings = ChromaSettings(anonymized_telemetry=False)
    chroma_url = chroma_url or running_url(data_dir)
    if chroma_url:
        url = urlparse(chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "localhost", port=url.port or 8000, ssl=url.scheme == "https", settings=settings
        )
    path = Path(data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


class Store:
    def __init__(self, client: Any, embedder: Embedder, lexical_dir: Path) -> None:
        self.embedder = embedder
        self._client = client
        self.lexical = LexicalStore(Path(lexical_dir) / embedder.key)
        self._chunks = _synced(client.get_or_create_collection(
            collection_name("chunks", embedder.key),
            configuration={"hnsw": {"space": "cosine", **SYNC["chunks"]}},
            embedding_function=ChromaEmbedding(embedder),
        ), "chunks")
        self._docs, self._tasks, self._stamps = (_synced(client.get_or_create_collection(
            collection_name(name, embedder.key), configuration={"hnsw": dict(SYNC[name])},
            embedding_function=NoEmbedding(),
        ), name) for name in ("documents", "tasks", "stamps"))
        self._lock = threading.RLock()  # writes
        self._read_lock = threading.RLock()  # the registry cache
        self._registry: dict[str, DocumentRecord] | None = None
        self._fingerprint = ""  # of the registry above; "" until asked for
        self._registry_at = 0.0  # when the stamp was last checked
        self._loaded_at = 0.0  # when the registry was last read
        self._written_seen = 0  # the newest record's write time seen (see _read_registry)
        self._written_of: dict[str, int] = {}  # each record's write time, as last read
        self._stamp: str | None = None
        self._snapshot = RegistrySnapshot(Path(lexical_dir) / embedder.key / "registry.json", str(self._docs.id))
        self._batch = max(1, min(int(client.get_max_batch_size()), 1000))

    @classmethod
    def open(cls, data_dir: Path, embedder: Embedder, chroma_url: str | None = None) -> Store:
        """The store of a data directory; with ``chroma_url`` the chunks live on that server and
        the directory keeps this node's lexical index."""
        return cls(open_client(data_dir, chroma_url), embedder, Path(data_dir) / "lexical")

    # -- registry ---------------------------------------------------------

    def registry(self) -> dict[str, DocumentRecord]:
        """Live documents by id. Re-read when the registry's stamp changes (checked at most once a
        second: one small read), and every minute in any case; own writes refresh it at once."""
        with self._read_lock:
            now = time.monotonic()
            if self._registry is not None and now - self._registry_at <= _REGISTRY_TTL:
                return self._registry
            stamp = self._read_stamp()
            self._registry_at = now
            if self._registry is None or stamp != self._stamp or now - self._loaded_at > _REGISTRY_RELOAD:
                self._registry = self._read_registry(self._registry)
                self._stamp, self._loaded_at, self._fingerprint = stamp, now, ""
            return self._registry

    def _read_registry(self, known: dict[str, DocumentRecord] | None) -> dict[str, DocumentRecord]:
        """The registry, read whole the first time; afterwards only the records written since the
        newest one seen (less a margin for clocks) and those never seen, dropping removed ids. A
        change to one document thus costs one small read, whatever the size of the archive. A new
        process starts from this node's snapshot of it when there is one (see ``registry_snapshot``)."""
        whole, removed, previous = False, False, known
        if known is None and (snapshot := self._snapshot.load()) is not None:
            known, self._written_of, self._written_seen = snapshot.records, snapshot.written_of, snapshot.written_seen
        if known is None:
            whole = True
            got = _read_all(self._docs, include=["metadatas"])
        else:
            ids = set(_read_all(self._docs, include=[])["ids"])
            removed = not ids.issuperset(known)
            known = {doc_id: record for doc_id, record in known.items() if doc_id in ids}
            self._written_of = {doc_id: w for doc_id, w in self._written_of.items() if doc_id in ids}
            since = self._written_seen - _CLOCK_MARGIN_US
            got = self._docs.get(where={_WRITTEN: {"$gt": since}}, include=["metadatas"])
            unseen = sorted(ids - set(known) - set(got["ids"]))
            if unseen:  # written by a version of chidao that did not stamp records
                more = self._docs.get(ids=unseen, include=["metadatas"])
                got = {"ids": list(got["ids"]) + list(more["ids"]),
                       "metadatas": list(got["metadatas"] or []) + list(more["metadatas"] or [])}
        registry = dict(known or {})
        rebuilt = False
        for doc_id, meta in zip(got["ids"], got["metadatas"] or []):
            meta = dict(meta or {})
            written = int(meta.get(_WRITTEN) or 0)
            self._written_seen = max(self._written_seen, written)
            if written and doc_id in registry and self._written_of.get(doc_id) == written:
                continue  # re-read within the clock margin, unchanged: keep the record already built
            self._written_of[doc_id] = written
            registry[doc_id] = DocumentRecord.from_metadata(doc_id, meta)
            rebuilt = True
        if whole or (removed or got["ids"]) and self._snapshot.due():
            self._snapshot.save(Snapshot(registry, self._written_of, self._written_seen))
        if previous is not None and not removed and not rebuilt:
            return previous  # unchanged: the same object, so what was made of it (per-registry tables) stays
        return registry

    def _read_stamp(self) -> str:
        got = self._stamps.get(ids=[_STAMP], include=["metadatas"])
        metas = got.get("metadatas") or []
        return str((metas[0] or {}).get("stamp", "")) if metas else ""

    def _changed(self) -> None:
        """After a registry write: a new stamp tells other processes to re-read it."""
        self._stamps.upsert(ids=[_STAMP], documents=[" "], embeddings=[np.ones(1, dtype=np.float32)],
                            metadatas=[{"stamp": uuid.uuid4().hex}])
        with self._read_lock:
            self._registry_at = 0.0  # the next read sees the new stamp and reads what changed

    def documents(self) -> list[DocumentRecord]:
        return sorted(self.registry().values(), key=lambda d: d.source)

    def document(self, doc_id: str) -> DocumentRecord | None:
        return self.registry().get(doc_id)

    def document_text(self, doc_id: str) -> str:
        got = self._docs.get(ids=[doc_id], include=["documents"])
        docs = got.get("documents") or []
        return docs[0] if docs and docs[0] else ""

    def fingerprint(self) -> str:
        """Changes whenever the set of live (document, version) pairs does (computed once per registry read)."""
        with self._read_lock:
            registry = self.registry()
            if not self._fingerprint:
                pairs = sorted((d.id, d.version) for d in registry.values())
                self._fingerprint = hashlib.sha1(repr(pairs).encode()).hexdigest()[:16]
            return self._fingerprint

    # -- writes -----------------------------------------------------------

    def _pending(self, doc_id: str, version: str) -> str:
        """Note, before writing, that ``doc_id``'s versions are changing (to ``version``; "" when it is
        removed): a write killed half-way leaves the note, and garbage collection then looks at that
        document only (:meth:`collect_garbage`) instead of at every record of the archive."""
        marker = f"{_PENDING}:{doc_id}:{version}"
        self._stamps.upsert(ids=[marker], documents=[" "], embeddings=[np.ones(1, dtype=np.float32)],
                            metadatas=[{_PENDING: True, "document_id": doc_id, "version": version}])
        return marker

    def put_chunks(self, doc: DocumentRecord, chunks: list[StoredChunk], embeddings: np.ndarray) -> None:
        """Write a version's chunks. Not visible until :meth:`commit` names that version."""
        with self._lock:
            self._pending(doc.id, doc.version)
            for start in range(0, len(chunks), self._batch):
                part = chunks[start:start + self._batch]
                self._chunks.upsert(
                    ids=[c.id for c in part],
                    documents=[c.text for c in part],
                    embeddings=[np.asarray(e, dtype=np.float32) for e in embeddings[start:start + self._batch]],
                    metadatas=[c.to_metadata(doc) for c in part],
                )

    def put_tasks(self, tasks: list[StoredTask]) -> None:
        """Write a version's tasks (after its chunks); like them, invisible until :meth:`commit`."""
        with self._lock:
            for start in range(0, len(tasks), self._batch):
                part = tasks[start:start + self._batch]
                self._tasks.upsert(
                    ids=[t.id for t in part], documents=[t.text or " " for t in part],
                    embeddings=[np.ones(1, dtype=np.float32) for _ in part],
                    metadatas=[t.to_metadata() for t in part],
                )

    def put_lexical(self, doc: DocumentRecord, chunks: list[StoredChunk]) -> None:
        """Write a version's lexical rows (one SQLite transaction); invisible until :meth:`commit`."""
        self.lexical.put_version(doc, chunks)

    def commit(self, doc: DocumentRecord, text: str) -> None:
        """Make ``doc.version`` the live version of the document, then drop other versions."""
        with self._lock:
            meta = {**doc.to_metadata(), _WRITTEN: time.time_ns() // 1000}
            self._docs.upsert(ids=[doc.id], documents=[text or " "], metadatas=[meta])
            self._changed()
            self.drop_versions(doc.id, keep=doc.version)
            self._stamps.delete(ids=[f"{_PENDING}:{doc.id}:{doc.version}"])

    def drop_versions(self, doc_id: str, keep: str | None = None) -> None:
        """Delete a document's versions other than ``keep`` (all when None) from every side."""
        stale = _other_versions(doc_id, keep)
        self._chunks.delete(where=stale)
        self._tasks.delete(where=stale)
        self.lexical.drop(doc_id, keep)

    def remove(self, doc_id: str) -> bool:
        with self._lock:
            if doc_id not in self.registry():
                return False
            marker = self._pending(doc_id, "")
            self._docs.delete(ids=[doc_id])
            self._changed()
            self.drop_versions(doc_id)
            self._stamps.delete(ids=[marker])
            return True

    def collect_garbage(self, full: bool = False) -> int:
        """Delete the chunks and tasks of versions no registry record names, left by an interrupted or
        failed write; returns how many chunks. The documents a write noted as changing
        (:meth:`_pending`) are looked at, one by one; with ``full``, every record of the archive
        (``chidao gc``: leftovers of writes made before the notes existed)."""
        with self._lock:
            self._changed()  # also tells readers to re-read a registry a killed commit left unannounced
            live = {d.id: d.version for d in self.registry().values()}
            removed = self._collect_all(live) if full else 0
            noted = self._stamps.get(where={_PENDING: True}, include=["metadatas"])
            for marker, meta in zip(noted["ids"], noted["metadatas"] or []):
                doc_id = str((meta or {}).get("document_id", ""))
                keep = live.get(doc_id)
                removed += len(self._chunks.get(where=_other_versions(doc_id, keep), include=[])["ids"])
                self.drop_versions(doc_id, keep)
                self._stamps.delete(ids=[marker])
            self.lexical.collect_garbage(live)
            return removed

    def _collect_all(self, live: dict[str, str]) -> int:
        removed = 0
        for collection in (self._chunks, self._tasks):
            got = _read_all(collection, include=["metadatas"])
            stale = [
                cid for cid, meta in zip(got["ids"], got["metadatas"] or [])
                if live.get((meta or {}).get("document_id")) != (meta or {}).get("version")
            ]
            for start in range(0, len(stale), self._batch):
                collection.delete(ids=stale[start:start + self._batch])
            removed += len(stale) if collection is self._chunks else 0
        return removed

    # -- reads ------------------------------------------------------------

    def _live(self, chunk: StoredChunk) -> bool:
        doc = self.registry().get(chunk.document_id)
        return doc is not None and doc.version == chunk.version

    def live_chunks(self) -> list[StoredChunk]:
        got = _read_all(self._chunks, include=["metadatas", "documents"])
        chunks = [
            StoredChunk.from_metadata(cid, text or "", dict(meta or {}))
            for cid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])
        ]
        return sorted((c for c in chunks if self._live(c)), key=lambda c: (c.document_id, c.index))

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        got = self._chunks.get(where={"document_id": doc_id}, include=["metadatas", "documents"])
        chunks = [
            StoredChunk.from_metadata(cid, text or "", dict(meta or {}))
            for cid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])
        ]
        return sorted((c for c in chunks if self._live(c)), key=lambda c: c.index)

    def live_tasks(self) -> list[StoredTask]:
        got = _read_all(self._tasks, include=["metadatas", "documents"])
        tasks = [
            StoredTask.from_metadata(tid, text or "", dict(meta or {}))
            for tid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])
        ]
        registry = self.registry()
        return sorted(
            (t for t in tasks if (d := registry.get(t.document_id)) is not None and d.version == t.version),
            key=lambda t: (t.document_id, t.index),
        )

    def version_chunks(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[StoredChunk]]:
        """The stored chunks of the given (document, version) pairs, in reading order."""
        return self._of_versions(self._chunks, keys, StoredChunk.from_metadata)  # type: ignore[return-value]

    def version_tasks(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[StoredTask]]:
        """The stored tasks of the given (document, version) pairs, in order."""
        return self._of_versions(self._tasks, keys, StoredTask.from_metadata)  # type: ignore[return-value]

    def _of_versions(self, collection: Any, keys: Iterable[tuple[str, str]], make: Any) -> dict[tuple[str, str], list]:
        wanted, out = set(keys), {}
        doc_ids = sorted({d for d, _ in wanted})
        for start in range(0, len(doc_ids), 100):
            where = {"document_id": {"$in": doc_ids[start:start + 100]}}
            got = _read_all(collection, where=where, include=["metadatas", "documents"])
            for rid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or []):
                item = make(rid, text or "", dict(meta or {}))
                if (item.document_id, item.version) in wanted:
                    out.setdefault((item.document_id, item.version), []).append(item)
        return {k: sorted(v, key=lambda x: x.index) for k, v in out.items()}

    def _only(self, documents: Collection[str] | None) -> dict[str, Any] | None:
        """A ``where`` clause keeping the chunks of ``documents``: ``$in`` them, or ``$nin`` the
        others when that list is shorter (a chunk of a document not live is dropped later anyway)."""
        if documents is None:
            return None
        others = sorted(set(self.registry()) - set(documents))
        if not others:
            return None
        if len(others) < len(documents):
            return {"document_id": {"$nin": others}}
        return {"document_id": {"$in": sorted(documents)}}

    def get_chunks(self, ids: Iterable[str]) -> dict[str, StoredChunk]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        got = self._chunks.get(ids=ids, include=["metadatas", "documents"])
        return {
            cid: StoredChunk.from_metadata(cid, text or "", dict(meta or {}))
            for cid, text, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])
        }

    def nearest_among(
        self, vector: np.ndarray, ids: list[str], k: int,
        chunks: Callable[[list[str]], dict[str, StoredChunk]] | None = None,
    ) -> list[tuple[StoredChunk, float]]:
        """The ``k`` live chunks of ``ids`` nearest to ``vector``, every one compared (exact): for a few
        documents' passages, reading their vectors by id beats Chroma's filtered search (114 ms for
        three documents at 100k passages, against 2-5 ms)."""
        if k <= 0 or not ids:
            return []
        got = self._chunks.get(ids=ids, include=["embeddings"])
        if not len(got["ids"]):
            return []
        similarity = np.asarray(got["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
        order = np.argsort(-similarity, kind="stable")[: k + 8]
        return self._live_hits([(got["ids"][i], float(similarity[i])) for i in order], k, chunks)

    def warm(self) -> None:
        """Have Chroma load the passages' vector index now (it does at the first search otherwise:
        0.5-1.4 s at 100k passages, on the Chroma server's core while this process builds its own)."""
        got = self._chunks.get(limit=1, include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is not None and len(embeddings):
            self._chunks.query(query_embeddings=[np.asarray(embeddings[0], dtype=np.float32)], n_results=1,
                               include=["distances"])

    def nearest(
        self, vector: np.ndarray, k: int, documents: Collection[str] | None = None,
        chunks: Callable[[list[str]], dict[str, StoredChunk]] | None = None,
    ) -> list[tuple[StoredChunk, float]]:
        """Live chunks nearest to ``vector``, with cosine similarity; with ``documents``, only
        chunks of those documents (Chroma filters before it ranks). Chroma returns ids and distances
        only; the chunks come from ``chunks`` (a cache of the recently used) or are read."""
        if k <= 0 or (documents is not None and not documents):
            return []
        got = self._chunks.query(  # Chroma returns fewer when it holds fewer (none when empty)
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k + 8,
            where=self._only(documents),
            include=["distances"],
        )
        hits = [(cid, 1.0 - float(dist)) for cid, dist in zip(got["ids"][0], (got["distances"] or [[]])[0])]
        return self._live_hits(hits, k, chunks)

    def _live_hits(
        self, hits: list[tuple[str, float]], k: int, chunks: Callable[[list[str]], dict[str, StoredChunk]] | None,
    ) -> list[tuple[StoredChunk, float]]:
        """The first ``k`` of (chunk id, similarity) whose chunk is live, with the chunk (from ``chunks``,
        a cache of the recently used, or read)."""
        found = (chunks or self.get_chunks)([cid for cid, _ in hits])
        return [(found[cid], sim) for cid, sim in hits if cid in found and self._live(found[cid])][:k]


def _other_versions(doc_id: str, keep: str | None) -> dict[str, Any]:
    """A ``where`` clause for a document's records of versions other than ``keep`` (all when None)."""
    mine: dict[str, Any] = {"document_id": doc_id}
    return mine if keep is None else {"$and": [mine, {"version": {"$ne": keep}}]}

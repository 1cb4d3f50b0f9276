"""Files -> parsed documents -> embedded chunks in the store.

Re-ingesting an unchanged file does nothing; a changed file replaces its old
version; a file that cannot be parsed is reported and nothing is touched. A write
the store refuses (a full disk) is reported too: the previous version stays live,
and what the failed write left behind is collected by the next ingest.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath

import numpy as np

from ingest.chunker import chunk_document
from ingest.labels import clean_label
from ingest.loaders import LoadError, MissingDependency, supported_suffixes
from ingest.models import SECTION_SEPARATOR, ParsedDocument
from ingest.pipeline import parse_bytes
from ingest.tasks import TaskExtractor
from vectorstore.embeddings import Embedder, length_batches
from vectorstore.records import DocumentRecord, StoredChunk, StoredTask, embedding_text
from vectorstore.store import Store
from vectorstore.write_guard import IngestLock, describe_write_error

log = logging.getLogger(__name__)

# Bump when parsing or chunking changes, so re-ingest rebuilds old versions.
PIPELINE_VERSION = "p3"

Progress = Callable[[int, int], None]  # (chunks just embedded, chunks in this file)


@dataclass(frozen=True)
class IngestResult:
    source: str
    status: str  # added | updated | unchanged | failed
    document_id: str = ""
    chunks: int = 0
    reason: str = ""
    server_fault: bool = False  # the file may be fine; this server lacks what reading it needs

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def document_id(source: str) -> str:
    """A stable, readable id from the file name: "004_efdf551c7c231efb.txt" -> "004_efdf551c7c231efb"."""
    stem = PurePath(source).stem
    ascii_stem = unicodedata.normalize("NFKD", stem.replace("đ", "d").replace("Đ", "D"))
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_stem.encode("ascii", "ignore").decode()).strip("-").lower()
    if not slug:
        slug = "doc-" + hashlib.sha1(stem.encode()).hexdigest()[:10]
    return slug[:80]


def content_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16] + PIPELINE_VERSION


def _enclosing(section: str) -> list[str]:
    """A section path and the paths that enclose it, deepest first: "A › B › C", "A › B", "A"."""
    parts = section.split(SECTION_SEPARATOR)
    return [SECTION_SEPARATOR.join(parts[:n]) for n in range(len(parts), 0, -1)]


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """Files to ingest under ``paths`` (folders walked recursively) and, for skipped ones, why."""
    suffixes = set(supported_suffixes())
    for path in paths:
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.name.startswith("."):
                    continue
                if child.suffix.lower() in suffixes:
                    yield child, None
                else:
                    yield child, f"định dạng '{child.suffix or '(không có đuôi)'}' không được hỗ trợ"
        elif path.is_file():
            yield path, None
        else:
            yield path, "không tìm thấy tệp hoặc thư mục"


@dataclass(frozen=True)
class Prepared:
    """A parsed, chunked and embedded version of a document, ready to write."""

    record: DocumentRecord
    chunks: list[StoredChunk]
    vectors: np.ndarray
    tasks: list[StoredTask]
    text: str


class Indexer:
    def __init__(
        self, store: Store, embedder: Embedder, chunk_tokens: int = 400, tasks: TaskExtractor | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.tasks = tasks or TaskExtractor()
        self.data_dir = data_dir
        self.lock = IngestLock(data_dir / ".ingest.lock" if data_dir else None)
        # What a killed or failed ingest left behind is collected before this indexer's first write.
        self._needs_gc = True

    def ingest_file(self, path: Path, progress: Progress | None = None) -> IngestResult:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return IngestResult(path.name, "failed", reason=f"không đọc được tệp: {exc.strerror or exc}")
        return self.ingest_bytes(data, path.name, progress)

    def ingest_bytes(self, data: bytes, source: str, progress: Progress | None = None) -> IngestResult:
        source = clean_label(source) or "tai-lieu"
        current = self.store.document(document_id(source))
        if current is not None and current.version == content_version(data):
            return IngestResult(source, "unchanged", current.id, current.chunk_count)
        prepared = self.prepare(data, source, progress)
        return prepared if isinstance(prepared, IngestResult) else self.write(prepared)

    def prepare(self, data: bytes, source: str, progress: Progress | None = None) -> Prepared | IngestResult:
        """Parse, chunk and embed a file's bytes without touching the store (any process may do this)."""
        source = clean_label(source) or "tai-lieu"
        return self._prepare(data, source, document_id(source), content_version(data), progress)

    def write(self, prepared: Prepared) -> IngestResult:
        """Write a prepared version and make it live, unless that very version is live already."""
        source, doc_id, version = prepared.record.source, prepared.record.id, prepared.record.version
        with self.lock.hold():  # one writer: the status below is decided against the latest commit
            self._collect_if_needed()
            current = self.store.document(doc_id)
            if current is not None and current.version == version:
                return IngestResult(source, "unchanged", doc_id, current.chunk_count)
            status = "updated" if current is not None else "added"
            try:
                self._write(prepared)
            except Exception as exc:  # a full disk, a store that went away: keep the previous version
                return self._write_failed(prepared, status, exc)
        log.info("%s %s (%d chunks)", status, source, len(prepared.chunks))
        return IngestResult(source, status, doc_id, len(prepared.chunks))

    def _prepare(
        self, data: bytes, source: str, doc_id: str, version: str, progress: Progress | None
    ) -> Prepared | IngestResult:
        try:
            parsed = parse_bytes(data, source)
        except MissingDependency as exc:
            return IngestResult(source, "failed", doc_id, reason=str(exc), server_fault=True)
        except LoadError as exc:
            return IngestResult(source, "failed", doc_id, reason=str(exc))
        except Exception as exc:  # a parser bug must not take the other files down
            log.exception("parsing %s failed", source)
            return IngestResult(source, "failed", doc_id, reason=f"lỗi khi phân tích: {exc}", server_fault=True)
        record, chunks = self._records(parsed, doc_id, version, len(data))
        tasks = self._tasks(parsed, chunks)
        texts = [embedding_text(c, record, self.embedder.count_tokens, self.embedder.max_tokens) for c in chunks]
        vectors = self._embed(texts, progress)
        return Prepared(record, chunks, vectors, tasks, parsed.text)

    def _write(self, prepared: Prepared) -> None:
        """Chunks, tasks and lexical rows first, then the registry flip that makes them live (and drops
        the other versions: see :class:`Store`). Killed before the flip, the old version stays live."""
        self.store.put_chunks(prepared.record, prepared.chunks, prepared.vectors)
        self.store.put_tasks(prepared.tasks)
        self.store.put_lexical(prepared.record, prepared.chunks)
        self.store.commit(prepared.record, prepared.text)

    def _write_failed(self, prepared: Prepared, status: str, exc: Exception) -> IngestResult:
        record = prepared.record
        log.error("writing %s to the store failed: %s", record.source, exc, exc_info=True)
        self._needs_gc = True
        try:
            live = self.store.document(record.id)
        except Exception:
            live = None
        if live is not None and live.version == record.version:  # committed; only the clean-up failed
            return IngestResult(record.source, status, record.id, len(prepared.chunks))
        self._collect_if_needed()
        return IngestResult(record.source, "failed", record.id, reason=describe_write_error(exc, self.data_dir),
                            server_fault=True)

    def _collect_if_needed(self) -> None:
        """Delete what an earlier failed write left behind (the caller holds the lock)."""
        if not self._needs_gc:
            return
        try:
            removed = self.store.collect_garbage()
        except Exception as exc:  # still full: the next ingest tries again
            log.warning("could not collect the chunks a failed write left: %s", exc)
            return
        self._needs_gc = False
        log.info("collected %d chunks left by a failed write", removed)

    def collect_garbage(self, full: bool = False) -> int:
        """Delete chunks and tasks no live version names (of the documents interrupted writes noted;
        with ``full``, of the whole archive); waits for any ingest writing now."""
        with self.lock.hold():
            removed = self.store.collect_garbage(full)
            self._needs_gc = False
            return removed

    def remove(self, ref: str) -> str | None:
        """Remove a document by id, file name or path; return its id, or None if unknown."""
        with self.lock.hold():
            registry = self.store.registry()
            name = PurePath(ref).name
            for doc_id in (ref, document_id(name)):
                if doc_id in registry:
                    self.store.remove(doc_id)
                    return doc_id
            for doc in registry.values():
                if doc.source == name:
                    self.store.remove(doc.id)
                    return doc.id
            return None

    def _records(
        self, parsed: ParsedDocument, doc_id: str, version: str, size: int
    ) -> tuple[DocumentRecord, list[StoredChunk]]:
        chunks = chunk_document(parsed, self.chunk_tokens, self.embedder.count_tokens)
        meta = parsed.meta
        record = DocumentRecord(
            id=doc_id, source=parsed.source, version=version, title=meta.title, doc_number=meta.doc_number,
            doc_type=meta.doc_type, issuer=meta.issuer, place=meta.place, date=meta.date,
            date_text=meta.date_text, signer=meta.signer, chunk_count=len(chunks),
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            sections=[node.to_dict() for node in parsed.section_tree()], size=size,
            effective_date=meta.effective_date,
        )
        stored = [
            StoredChunk(
                id=f"{doc_id}:{version}:{c.index:04d}", document_id=doc_id, version=version, text=c.text,
                section=c.section, headings=tuple(c.headings), kind=c.kind, page=c.page, index=c.index,
                **c.structure,
            )
            for c in chunks
        ]
        return record, stored

    def _tasks(self, parsed: ParsedDocument, chunks: list[StoredChunk]) -> list[StoredTask]:
        """Tasks of the document, each tied to the chunk whose text states it."""
        by_section: dict[str, list[StoredChunk]] = {}
        for chunk in chunks:
            by_section.setdefault(chunk.section, []).append(chunk)
        stored = []
        for i, task in enumerate(self.tasks.extract(parsed)):
            quote = " ".join(task.quote.split())
            # an article's clauses share passages: the home may sit at an enclosing section
            candidates = [c for section in _enclosing(task.section) for c in by_section.get(section, [])]
            home = next((c for c in candidates if quote in " ".join(c.text.split())), None)
            if home is None:
                log.debug("task quote not found in a chunk of %s: %.60s", task.section, task.quote)
                continue
            stored.append(StoredTask(
                id=f"{home.document_id}:{home.version}:t{i:04d}", document_id=home.document_id,
                version=home.version, agency_id=task.agency_id, agency_name=task.agency_name,
                agency_kind=task.agency_kind, role=task.role, text=task.text, quote=task.quote,
                section=task.section, chunk_id=home.id, deadlines=tuple(d.to_dict() for d in task.deadlines),
                source=task.source, index=i,
            ))
        return stored

    def _embed(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        """Embed in batches of similar length (as many as the embedder takes at once), reporting each."""
        vectors = np.zeros((len(texts), 1), dtype=np.float32)
        batches = length_batches([len(t) for t in texts], max(1, self.embedder.batch_size), max_tokens=1 << 62)
        for number, batch in enumerate(batches):
            part = self.embedder.embed_documents([texts[i] for i in batch])
            if number == 0:
                vectors = np.zeros((len(texts), part.shape[1]), dtype=np.float32)
            vectors[batch] = part
            if progress:
                progress(len(batch), len(texts))
        return vectors

"""Files -> parsed documents -> embedded chunks in the store.

Re-ingesting an unchanged file does nothing; a changed file replaces its old
version; a file that cannot be parsed is reported and nothing is touched.
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
from ingest.loaders import LoadError, MissingDependency, supported_suffixes
from ingest.models import ParsedDocument
from ingest.pipeline import parse_bytes
from ingest.tasks import TaskExtractor
from vectorstore.embeddings import Embedder, length_batches
from vectorstore.records import DocumentRecord, StoredChunk, StoredTask, embedding_text
from vectorstore.store import Store

log = logging.getLogger(__name__)

# Bump when parsing or chunking changes, so re-ingest rebuilds old versions.
PIPELINE_VERSION = "p2"

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


class Indexer:
    def __init__(
        self, store: Store, embedder: Embedder, chunk_tokens: int = 400, tasks: TaskExtractor | None = None
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunk_tokens = chunk_tokens
        self.tasks = tasks or TaskExtractor()

    def ingest_file(self, path: Path, progress: Progress | None = None) -> IngestResult:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return IngestResult(path.name, "failed", reason=f"không đọc được tệp: {exc.strerror or exc}")
        return self.ingest_bytes(data, path.name, progress)

    def ingest_bytes(self, data: bytes, source: str, progress: Progress | None = None) -> IngestResult:
        doc_id = document_id(source)
        version = content_version(data)
        current = self.store.document(doc_id)
        if current is not None and current.version == version:
            return IngestResult(source, "unchanged", doc_id, current.chunk_count)
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
        texts = [embedding_text(c, record) for c in chunks]
        vectors = self._embed(texts, progress)
        self.store.put_chunks(record, chunks, vectors)
        self.store.put_tasks(tasks)
        self.store.commit(record, parsed.text)
        status = "updated" if current is not None else "added"
        log.info("%s %s (%d chunks)", status, source, len(chunks))
        return IngestResult(source, status, doc_id, len(chunks))

    def remove(self, ref: str) -> str | None:
        """Remove a document by id, file name or path; return its id, or None if unknown."""
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
        )
        stored = [
            StoredChunk(
                id=f"{doc_id}:{version}:{c.index:04d}", document_id=doc_id, version=version, text=c.text,
                section=c.section, headings=tuple(c.headings), kind=c.kind, page=c.page, index=c.index,
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
            home = next((c for c in by_section.get(task.section, []) if quote in " ".join(c.text.split())), None)
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

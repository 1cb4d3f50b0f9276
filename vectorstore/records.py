"""What the store holds: document records and stored chunks, and the texts indexed for them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.doctypes import by_name
from ingest.numbering import shorten

# Words that let questions about a document's header or signature find those parts.
PART_KEYWORDS = {
    "header": "số ký hiệu ngày ban hành trích yếu cơ quan ban hành loại văn bản",
    "closing": "người ký ký tên chức vụ nơi nhận",
    "footnote": "chú thích văn bản căn cứ",
}


@dataclass(frozen=True)
class DocumentRecord:
    id: str
    source: str
    version: str  # content hash + pipeline version; changes when the file does
    title: str = ""
    doc_number: str = ""
    doc_type: str = ""
    issuer: str = ""
    place: str = ""
    date: str = ""
    date_text: str = ""
    signer: str = ""
    chunk_count: int = 0
    ingested_at: str = ""
    # The outline: its nodes, or their JSON text as stored, parsed at the first ``outline()`` (a server
    # reads thousands of records and shows an outline only when a document is opened: at 4,284
    # documents the trees were 10 of the registry snapshot's 14.5 MB, most of its parse and ~40 MB).
    sections: list[dict[str, Any]] | str = field(default_factory=list, compare=False, repr=False)
    size: int = 0
    effective_date: str = ""  # ISO, where the text says when it takes effect

    def outline(self) -> list[dict[str, Any]]:
        """The section tree (nodes with heading, section and children)."""
        if isinstance(self.sections, str):
            object.__setattr__(self, "sections", json.loads(self.sections or "[]"))  # frozen: parsed once
        return self.sections  # type: ignore[return-value]

    def sections_json(self) -> str:
        return self.sections if isinstance(self.sections, str) else json.dumps(self.sections, ensure_ascii=False)

    def to_metadata(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "id"}
        data["sections"] = self.sections_json()
        return data

    @classmethod
    def from_metadata(cls, doc_id: str, meta: dict[str, Any]) -> DocumentRecord:
        data = {k: meta[k] for k in cls.__dataclass_fields__ if k in meta and k != "id"}
        data["sections"] = meta.get("sections") or "[]"
        return cls(id=doc_id, **data)

    @property
    def label(self) -> str:
        """How a citation names the document: "Kế hoạch 195/KH-UBND"; a law by its name, "Luật Cư trú 2020"."""
        if self.named_by_title:
            year = next((p for p in (self.date[:4], *self.doc_number.split("/")[1:2])
                         if len(p) == 4 and p.isdigit()), "")  # from the date, or 59/2020/QH14
            year = "" if year in self.title else year
            return f"{self.name} {year}".rstrip()
        parts = [p for p in (self.doc_type, self.doc_number) if p]
        return " ".join(parts) or self.source

    @property
    def named_by_title(self) -> bool:
        doc_type = by_name(self.doc_type)
        return bool(doc_type and doc_type.named_by == "title" and self.title)

    @property
    def name(self) -> str:
        """The document's type and title: "Luật Cư trú 2020", "Kế hoạch Công tác xây dựng …"."""
        return " ".join(p for p in (self.doc_type, self.title) if p) or self.label

    def summary(self) -> dict[str, Any]:
        """The fields ``GET /api/documents`` lists."""
        return {
            "id": self.id, "source": self.source, "title": self.title, "doc_number": self.doc_number,
            "doc_type": self.doc_type, "issuer": self.issuer, "place": self.place, "date": self.date,
            "date_text": self.date_text, "signer": self.signer, "chunks": self.chunk_count,
            "ingested_at": self.ingested_at, "effective_date": self.effective_date,
        }


@dataclass(frozen=True)
class StoredChunk:
    id: str
    document_id: str
    version: str
    text: str
    section: str
    headings: tuple[str, ...]
    kind: str = "body"
    page: int | None = None
    index: int = 0
    article: str = ""  # "12" when the passage lies within Điều 12; "" otherwise
    clause: str = ""  # "2" when it lies within khoản 2 of that article
    point: str = ""  # "a" when it lies within điểm a of that clause

    def to_metadata(self, doc: DocumentRecord) -> dict[str, Any]:
        return {
            "document_id": self.document_id, "version": self.version, "section": self.section,
            "headings": json.dumps(list(self.headings), ensure_ascii=False), "kind": self.kind,
            "page": self.page if self.page is not None else -1, "index": self.index,
            "source": doc.source, "doc_type": doc.doc_type, "doc_number": doc.doc_number, "date": doc.date,
            "article": self.article, "clause": self.clause, "point": self.point,
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> StoredChunk:
        page = meta.get("page", -1)
        return cls(
            id=chunk_id, document_id=meta["document_id"], version=meta["version"], text=text,
            section=meta.get("section", ""), headings=tuple(json.loads(meta.get("headings") or "[]")),
            kind=meta.get("kind", "body"), page=page if isinstance(page, int) and page >= 0 else None,
            index=int(meta.get("index", 0)), article=str(meta.get("article") or ""),
            clause=str(meta.get("clause") or ""), point=str(meta.get("point") or ""),
        )


def _shared(value: Any) -> Any:
    return sys.intern(value) if type(value) is str else value


def document_line(doc: DocumentRecord) -> str:
    return " ".join(p for p in (doc.doc_type, doc.doc_number, doc.title, doc.issuer, doc.place) if p)


def index_text(chunk: StoredChunk, doc: DocumentRecord) -> str:
    """What lexical search sees: the document, the heading path, the passage."""
    headings = " ".join(chunk.headings)
    parts = [document_line(doc), headings, headings, chunk.text, PART_KEYWORDS.get(chunk.kind, "")]
    if chunk.kind == "header":
        parts.append(doc.issuer)
    return "\n".join(p for p in parts if p)


EMBED_CONTEXT_CHARS = 300  # about 90 tokens: the passage, not its context, dominates the vector
NAME_CHARS = 200  # the document's name is cut to this in the context line
TokenCounter = Callable[[str], int]


def _context(doc: DocumentRecord, path: list[str]) -> str:
    name = shorten(doc.name, NAME_CHARS) if doc.doc_type or doc.title else ""
    return " | ".join(p for p in (name, " › ".join(path)) if p)


def embedding_text(
    chunk: StoredChunk, doc: DocumentRecord, count_tokens: TokenCounter | None = None, max_tokens: int = 512
) -> str:
    """What the dense index embeds: the document's name and the heading path give a passage its subject
    ("Luật Cư trú 2020 | Chương II › Điều 12. … › 2. …"). The context line keeps to
    ``EMBED_CONTEXT_CHARS`` and, when ``count_tokens`` is given, to what the passage leaves of the
    embedder's ``max_tokens``: outer headings go first, then the line is cut from the left."""
    budget = max_tokens - count_tokens(chunk.text) - 8 if count_tokens else max_tokens  # prefix and markers

    def fits(head: str) -> bool:
        return len(head) <= EMBED_CONTEXT_CHARS and (count_tokens is None or count_tokens(head) <= budget)

    path = list(chunk.headings)
    head = _context(doc, path)
    while not fits(head) and len(path) > 1:
        path = path[1:]
        head = _context(doc, path)
    keep = EMBED_CONTEXT_CHARS
    while head and not fits(head):
        head = "…" + head[-keep:].lstrip() if keep > 8 else ""
        keep = keep * 3 // 4
    return f"{head}\n{chunk.text}" if head else chunk.text


@dataclass(frozen=True, slots=True)
class StoredTask:
    """A task extracted at ingest (see ``ingest.tasks``), tied to the chunk that states it. Slotted,
    and its strings shared with every other task holding the same value (``from_metadata``): a
    server keeps every task (109,171 at 100k passages, where its views took 608 MB, now 203 MB)."""

    id: str
    document_id: str
    version: str
    agency_id: str
    agency_name: str
    agency_kind: str
    role: str
    text: str
    quote: str
    section: str
    chunk_id: str
    deadlines: tuple[dict[str, Any], ...] = ()
    source: str = "assignment"
    index: int = 0

    def to_metadata(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id, "version": self.version, "agency_id": self.agency_id,
            "agency_name": self.agency_name, "agency_kind": self.agency_kind, "role": self.role,
            "quote": self.quote, "section": self.section, "chunk_id": self.chunk_id,
            "deadlines": json.dumps(list(self.deadlines), ensure_ascii=False), "source": self.source,
            "index": self.index, "has_deadline": bool(self.deadlines),
        }

    @classmethod
    def from_metadata(cls, task_id: str, text: str, meta: dict[str, Any]) -> StoredTask:
        """From a stored record. Each string is the one object of its value (``sys.intern``): a
        document's tasks repeat its id, version, sections, agencies and roles, and an archive repeats
        whole task texts ("Báo cáo kết quả về ..."): at 100k passages 206 MB of strings held 11 MB of values."""
        return cls(
            id=task_id, document_id=_shared(meta["document_id"]), version=_shared(meta["version"]),
            agency_id=_shared(meta["agency_id"]), agency_name=_shared(meta.get("agency_name", "")),
            agency_kind=_shared(meta.get("agency_kind", "agency")), role=_shared(meta.get("role", "")),
            text=_shared(text), quote=_shared(meta.get("quote", "")), section=_shared(meta.get("section", "")),
            chunk_id=_shared(meta.get("chunk_id", "")), deadlines=tuple(json.loads(meta.get("deadlines") or "[]")),
            source=_shared(meta.get("source", "assignment")), index=int(meta.get("index", 0)),
        )

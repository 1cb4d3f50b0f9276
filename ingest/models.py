"""The data that flows out of ``ingest``: parsed documents and their chunks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class DocumentMeta:
    """Header facts of a directive document. Any field may be blank."""

    doc_number: str = ""  # "08/PĐTĐ-BCĐ"; drafts leave the number out: "/KH-BCĐ"
    doc_type: str = ""  # "Kế hoạch", "Công văn", "Phát động thi đua", ...
    issuer: str = ""
    place: str = ""
    date: str = ""  # ISO "2024-02-19", or "2026-02" when the day is left blank
    date_text: str = ""  # the date as written
    title: str = ""  # trích yếu
    signer: str = ""

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date[:4].isdigit() else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Heading:
    """One level of a section path.

    ``kind`` is ``roman`` (I.), ``arabic`` (1.), ``decimal`` (3.1.), ``letter``
    (a), đ)), ``note`` (a footnote) or ``part`` (the header, the opening and the
    closing of a document, which carry no number).
    """

    kind: str
    label: str
    title: str = ""

    @property
    def display(self) -> str:
        """The short form used in section paths: "III", "8. Sở Y tế", "c) Đối với ..."."""
        if self.kind == "roman":
            return self.label
        if self.kind == "part":
            return self.title
        if self.kind == "note":
            return f"Chú thích {self.label}"
        mark = f"{self.label})" if self.kind == "letter" else f"{self.label}."
        if not self.title:
            return mark if self.kind == "letter" else self.label
        return f"{mark} {_shorten(self.title)}"

    @property
    def full(self) -> str:
        """The complete heading: "III. PHÂN CÔNG NHIỆM VỤ"."""
        if self.kind == "part":
            return self.title
        if self.kind == "note":
            return self.display
        mark = f"{self.label})" if self.kind == "letter" else f"{self.label}."
        return f"{mark} {self.title}".strip() if self.title else mark


def _shorten(title: str, limit: int = 90) -> str:
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def section_path(headings: tuple[Heading, ...]) -> str:
    return SECTION_SEPARATOR.join(h.display for h in headings)


@dataclass(frozen=True)
class Paragraph:
    """A unit of running text with the heading path it sits under."""

    text: str
    path: tuple[Heading, ...]
    page: int | None = None
    kind: str = "body"  # body | bullet | heading | footnote | header | closing

    @property
    def section(self) -> str:
        return section_path(self.path)


@dataclass
class SectionNode:
    """A node of the section tree (for display and the documents API)."""

    heading: Heading
    section: str
    children: list[SectionNode] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "heading": self.heading.full,
            "section": self.section,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass(frozen=True)
class ParsedDocument:
    source: str
    meta: DocumentMeta
    paragraphs: tuple[Paragraph, ...]
    footnotes: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)

    def section_tree(self) -> list[SectionNode]:
        roots: list[SectionNode] = []
        index: dict[tuple[Heading, ...], SectionNode] = {}
        for para in self.paragraphs:
            for depth in range(1, len(para.path) + 1):
                key = para.path[:depth]
                if key in index:
                    continue
                node = SectionNode(key[-1], section_path(key))
                index[key] = node
                parent = index.get(key[:-1]) if depth > 1 else None
                (parent.children if parent else roots).append(node)
        return roots


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: text from one section, never across sections."""

    text: str
    path: tuple[Heading, ...]
    index: int
    page: int | None = None
    kind: str = "body"  # header | closing | footnote | body

    @property
    def section(self) -> str:
        return section_path(self.path)

    @property
    def headings(self) -> list[str]:
        return [h.full for h in self.path]

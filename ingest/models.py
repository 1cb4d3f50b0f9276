"""The data that flows out of ``ingest``: parsed documents and their chunks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.numbering import kind, render

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
    title: str = ""  # trích yếu; for a law its name: "Cư trú"
    signer: str = ""
    effective_date: str = ""  # ISO, where the text says when it takes effect

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date[:4].isdigit() else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Heading:
    """One level of a section path.

    ``kind`` names a row of ``ingest/data/numbering.tsv``: ``article`` (Điều 5.),
    ``chapter`` (Chương II), ``clause`` / ``point`` (khoản, điểm of an article),
    ``roman`` (I.), ``arabic`` (1.), ``decimal`` (3.1.), ``letter`` (a), đ)), ...;
    ``note`` (a footnote), ``attachment`` (a document attached after the
    signature) or ``part`` (the header, the opening and the closing of a
    document, which carry no number).
    """

    kind: str
    label: str
    title: str = ""

    @property
    def display(self) -> str:
        """The short form used in section paths: "III", "8. Sở Y tế", "Điều 12. …", "khoản 2"."""
        return render(kind(self.kind).display, self.label, self.title)

    @property
    def full(self) -> str:
        """The complete heading: "III. PHÂN CÔNG NHIỆM VỤ", "Điều 12. Hoạt động của trường quay"."""
        return render(kind(self.kind).full, self.label, self.title)


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

    @property
    def structure(self) -> dict[str, str]:
        """Where the passage lies in a legal text: ``{"article": "12", "clause": "2", "point": "a"}``,
        each empty unless the passage lies within one."""
        return structure_of(self.path)


STRUCTURE_KINDS = ("article", "clause", "point")


def structure_of(path: tuple[Heading, ...]) -> dict[str, str]:
    out = dict.fromkeys(STRUCTURE_KINDS, "")
    for heading in path:
        if heading.kind in out:
            out[heading.kind] = heading.label
    return out

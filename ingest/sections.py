"""Build the section tree from the numbering, whatever the markdown level says.

Ranks come from ``data/numbering.tsv``: Phụ lục > Phần > Chương > Mục >
Tiểu mục > Điều > A. > I. > 1. > 3.1. > a). Inside an article "1." is a
khoản and "a)" an điểm; their text, lead-in lines ending in ":" included,
always stays in the running text. A heading's title is, in order: the
emphasised words right after its number ("**7. Sở Y tế** chủ trì ..."), the
words before a colon ("a) Đối với xã, thị trấn: Quý I, ..."), or the whole
paragraph when it is short and does not end a sentence. A long numbered
paragraph is body text labelled by its number. A "Chương I" line without a
title takes the short line under it ("QUY ĐỊNH CHUNG") as its title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ingest.folding import fold_chars
from ingest.header import is_closing_note
from ingest.models import Heading, Paragraph
from ingest.normalize import RawParagraph, strip_emphasis
from ingest.numbering import Marker, is_title_like, kind, match_marker, rank

HEADER = Heading("part", "", "Phần đầu văn bản")
OPENING = Heading("part", "", "Mở đầu")
CLOSING = Heading("part", "", "Phần kết")
NOTES = Heading("part", "", "Chú thích")
ARTICLE = "article"  # the unit of a legal text: its heading line stays in its own text

_TITLE_MAX = 300
_ENDS_SENTENCE = re.compile(r"""[.;!?…](?:["”’)]*)$""")


@dataclass(frozen=True)
class Classified:
    text: str  # the paragraph without markdown
    heading: Heading | None
    has_body: bool  # False for a heading that stands alone
    kind: str  # heading | body | bullet
    role: str = ""  # the numbering's role: line | item


def _rank(heading: Heading) -> int:
    return rank(heading.kind, heading.label)


def _title(plain: str, spans: list[tuple[int, int]], marker: Marker) -> tuple[str, bool]:
    start = marker.end
    rest = plain[start:].strip()
    end = len(plain.rstrip())
    for s, e in spans:
        if s <= start < e:
            if e < end - 1:
                return plain[start:e].strip(" :.-–"), True
            break
    colon = plain.find(":", start)
    if 0 < colon - start <= 200 and colon < end - 1 and len(plain[start:colon].split()) <= 30:
        return plain[start:colon].strip(" :.-–*"), True
    if marker.kind == "roman" or (len(rest) <= _TITLE_MAX and not _ENDS_SENTENCE.search(rest)):
        return rest.rstrip(" :"), False
    return "", True


def classify(raw: str) -> Classified:
    plain, spans = strip_emphasis(raw)
    text = plain.strip()
    offset = len(plain) - len(plain.lstrip())
    marker = match_marker(text)
    if marker is None:
        return Classified(text, None, True, "body")
    if not marker.is_heading:
        return Classified(text, None, True, "bullet")
    shifted = [(s - offset, e - offset) for s, e in spans]
    title, has_body = _title(text, shifted, marker)
    return Classified(text, Heading(marker.kind, marker.label, title), has_body, "heading", marker.role)


@dataclass(frozen=True)
class _Entry:
    item: Classified
    page: int | None
    notes: tuple[str, ...]


def _adopt_titles(entries: list[_Entry]) -> list[_Entry]:
    """"Chương I" then "QUY ĐỊNH CHUNG" on the next line: the second line is the first's title."""
    out: list[_Entry] = []
    skip = False
    for i, entry in enumerate(entries):
        if skip:
            skip = False
            continue
        item = entry.item
        nxt = entries[i + 1].item if i + 1 < len(entries) else None
        if (item.heading is not None and item.role == "line" and not item.heading.title and not item.has_body
                and nxt is not None and nxt.heading is None and nxt.kind == "body" and nxt.text
                and is_title_like(nxt.text) and len(nxt.text) <= 200):
            item = replace(item, text=f"{item.text} {nxt.text}", heading=replace(item.heading, title=nxt.text))
            entry = _Entry(item, entry.page, entry.notes + entries[i + 1].notes)
            skip = True
        out.append(entry)
    return out


def _closing_tail(items: list[Classified]) -> int:
    """Index where the closing paragraphs ("Trên đây là ...", "... kêu gọi ...") start."""
    start = len(items)
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if item.heading is not None or not is_closing_note(fold_chars(item.text).lower()):
            break
        start = i
    return start


def _in_context(item: Classified, stack: list[Heading]) -> Classified:
    """Inside an article, "1." is a khoản and "a)" an điểm, and their text is always body text."""
    heading = item.heading
    if heading is None or not any(h.kind == ARTICLE for h in stack):
        return item
    inside = kind(heading.kind).inside
    if not inside:
        return item
    return replace(item, heading=replace(heading, kind=inside), has_body=True)


def _push(stack: list[Heading], heading: Heading) -> None:
    while stack and _rank(stack[-1]) >= _rank(heading):
        stack.pop()
    stack.append(heading)


def build_paragraphs(
    raws: list[RawParagraph], footnotes: dict[str, str], root: tuple[Heading, ...] = ()
) -> list[Paragraph]:
    """Body paragraphs with their heading paths; footnotes placed after their first reference.

    ``root`` prefixes every path (an attached document's own heading)."""
    entries = _adopt_titles([_Entry(classify(r.raw), r.page, tuple(r.notes)) for r in raws])
    tail = _closing_tail([e.item for e in entries])
    out: list[Paragraph] = []
    stack: list[Heading] = []
    placed: set[str] = set()
    for i, entry in enumerate(entries):
        item = entry.item
        if i >= tail:
            out.append(Paragraph(item.text, (CLOSING,), entry.page, "closing"))
            continue
        if item.heading is not None:
            item = _in_context(item, stack)
            _push(stack, item.heading)
        path = root + tuple(stack) if (stack or root) else (OPENING,)
        if item.has_body or (item.heading is not None and item.heading.kind == ARTICLE):
            kind_ = "heading" if item.heading is not None else item.kind
            out.append(Paragraph(item.text, path, entry.page, kind_))
        for note in entry.notes:
            if note in footnotes and note not in placed:
                placed.add(note)
                out.append(Paragraph(footnotes[note], path + (Heading("note", note),), entry.page, "footnote"))
    for note, text in footnotes.items():
        if note not in placed:
            out.append(Paragraph(text, root + (NOTES, Heading("note", note)), None, "footnote"))
    return out

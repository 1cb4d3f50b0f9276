"""Build the section tree from the numbering, whatever the markdown level says.

Ranks: I. (roman) > 1. (arabic) > 3.1. (decimal, one rank per dot) > a) (letter).
A heading's title is, in order: the emphasised words right after its number
("**7. Sở Y tế** chủ trì ..."), the words before a colon ("a) Đối với xã,
thị trấn: Quý I, ..."), or the whole paragraph when it is short and does not
end a sentence. A long numbered paragraph is body text labelled by its number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.folding import fold_chars
from ingest.header import is_closing_note
from ingest.models import Heading, Paragraph
from ingest.normalize import RawParagraph, strip_emphasis
from ingest.numbering import Marker, match_marker

HEADER = Heading("part", "", "Phần đầu văn bản")
OPENING = Heading("part", "", "Mở đầu")
CLOSING = Heading("part", "", "Phần kết")
NOTES = Heading("part", "", "Chú thích")

_RANKS = {"roman": 1, "arabic": 2, "decimal": 3, "letter": 9}
_TITLE_MAX = 300
_ENDS_SENTENCE = re.compile(r"""[.;!?…](?:["”’)]*)$""")


@dataclass(frozen=True)
class Classified:
    text: str  # the paragraph without markdown
    heading: Heading | None
    has_body: bool  # False for a heading that stands alone
    kind: str  # heading | body | bullet


def _rank(heading: Heading) -> int:
    if heading.kind == "decimal":
        return _RANKS["decimal"] + heading.label.count(".")
    return _RANKS.get(heading.kind, 0)


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
    return Classified(text, Heading(marker.kind, marker.label, title), has_body, "heading")


def _closing_tail(items: list[Classified]) -> int:
    """Index where the closing paragraphs ("Trên đây là ...", "... kêu gọi ...") start."""
    start = len(items)
    for i in range(len(items) - 1, -1, -1):
        item = items[i]
        if item.heading is not None or not is_closing_note(fold_chars(item.text).lower()):
            break
        start = i
    return start


def build_paragraphs(raws: list[RawParagraph], footnotes: dict[str, str]) -> list[Paragraph]:
    """Body paragraphs with their heading paths; footnotes placed after their first reference."""
    items = [classify(r.raw) for r in raws]
    tail = _closing_tail(items)
    out: list[Paragraph] = []
    stack: list[Heading] = []
    placed: set[str] = set()
    for i, (raw, item) in enumerate(zip(raws, items)):
        if i >= tail:
            out.append(Paragraph(item.text, (CLOSING,), raw.page, "closing"))
            continue
        if item.heading is not None:
            while stack and _rank(stack[-1]) >= _rank(item.heading):
                stack.pop()
            stack.append(item.heading)
        path = tuple(stack) if stack else (OPENING,)
        if item.has_body:
            kind = "heading" if item.heading is not None else item.kind
            out.append(Paragraph(item.text, path, raw.page, kind))
        for note in raw.notes:
            if note in footnotes and note not in placed:
                placed.add(note)
                out.append(Paragraph(footnotes[note], path + (Heading("note", note),), raw.page, "footnote"))
    for note, text in footnotes.items():
        if note not in placed:
            out.append(Paragraph(text, (NOTES, Heading("note", note)), None, "footnote"))
    return out

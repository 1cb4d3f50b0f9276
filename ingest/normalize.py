"""Turn loaded text into clean paragraphs.

- Unicode NFC, one kind of newline and space, superscript numbers spelled out;
- markdown heading marks dropped (emphasis is kept until headings are read,
  see :func:`strip_emphasis`);
- hard-wrapped lines (OCR output) unwrapped into paragraphs;
- footnotes (``<sup>n</sup>`` and their text) lifted out of the running text;
- paragraphs that a page break or a footnote cut in two joined again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ingest.labels import UNSAFE_IN_TEXT
from ingest.loaders import LoadedText
from ingest.numbering import match_marker

PAGE_BREAK = "\f"

_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUPER_PAREN = re.compile(r"⁽([⁰¹²³⁴⁵⁶⁷⁸⁹]+)⁾")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_HEADING_HASHES = re.compile(r"^\s{0,3}#{1,6}\s*")
_RULE = re.compile(r"^\s*([-*_])\s*(\1\s*){2,}$")
_SUP_ENUM = re.compile(r"<sup>\s*\((\d+)\)\s*</sup>\s*")
_SUP_REF = re.compile(r"<sup>\s*(\d+)\s*</sup>")
_SUP_ANY = re.compile(r"</?sup>")
_FOOTNOTE_START = re.compile(r"^\s*(?:\*\*)?<sup>\s*(\d+)\s*</sup>\s*")
_EMPHASIS = re.compile(r"(\*\*|\*|__)(?=\S)(.+?)(?<=\S)\1")
_TERMINAL = re.compile(r"""[.;:!?…](?:["”’)*_\]]*)$""")


@dataclass(frozen=True)
class Line:
    text: str
    page: int | None


@dataclass
class RawParagraph:
    """A paragraph with its markdown emphasis still in place."""

    raw: str
    page: int | None
    notes: list[str] = field(default_factory=list)  # footnote numbers referenced


def clean_text(text: str) -> str:
    """NFC, ``\\n`` newlines, plain spaces, superscript numbers as plain digits; no control or bidi
    formatting characters."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = UNSAFE_IN_TEXT.sub("", text)  # controls and bidi overrides: they would reach titles and sections
    text = _SUPER_PAREN.sub(lambda m: "(" + m[1].translate(_SUPERSCRIPT_DIGITS) + ") ", text)
    text = text.replace("\\*", "*")
    return "\n".join(_SPACES.sub(" ", line).rstrip() for line in text.split("\n"))


def to_lines(loaded: LoadedText) -> list[Line]:
    """Clean text split into lines, each with its page (1-based) when pages are known."""
    if loaded.pages is None:
        pages: tuple[str, ...] = tuple(loaded.text.split(PAGE_BREAK))
        numbered = len(pages) > 1
    else:
        pages, numbered = loaded.pages, True
    lines: list[Line] = []
    for number, page in enumerate(pages, start=1):
        if number > 1:
            lines.append(Line(PAGE_BREAK, number))
        for line in clean_text(page).split("\n"):
            lines.append(Line(line, number if numbered else None))
    return lines


def strip_heading_marks(line: str) -> str:
    return _HEADING_HASHES.sub("", line)


def strip_emphasis(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Remove ``**bold**``/``*italic*`` marks; return the text and the emphasised spans."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    length = 0
    for m in _EMPHASIS.finditer(text):
        before = text[pos:m.start()]
        out.append(before)
        length += len(before)
        inner, inner_spans = strip_emphasis(m[2])
        spans.append((length, length + len(inner)))
        spans.extend((s + length, e + length) for s, e in inner_spans)
        out.append(inner)
        length += len(inner)
        pos = m.end()
    out.append(text[pos:])
    return _drop_stray_marks("".join(out), spans)


def _drop_stray_marks(plain: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """Unpaired ``*`` (left by a line break inside bold text) carry no meaning."""
    if "*" not in plain:
        return plain, sorted(spans)
    removed = [i for i, ch in enumerate(plain) if ch == "*"]

    def shift(offset: int) -> int:
        return offset - sum(1 for i in removed if i < offset)

    return plain.replace("*", ""), sorted((shift(s), shift(e)) for s, e in spans)


def plain_text(raw: str) -> str:
    return strip_emphasis(raw)[0].strip()


def _is_break(line: str) -> bool:
    return not line.strip() or line == PAGE_BREAK or bool(_RULE.match(line))


def _blocks(lines: list[Line]) -> list[list[Line]]:
    blocks: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        if _is_break(line.text):
            if current:
                blocks.append(current)
                current = []
            continue
        current.append(Line(strip_heading_marks(line.text).strip(), line.page))
    if current:
        blocks.append(current)
    return blocks


def _starts_item(raw_line: str) -> bool:
    return match_marker(plain_text(raw_line)) is not None


def _is_caps(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return len(letters) >= 3 and all(ch.isupper() for ch in letters)


def _starts_new(previous: str, line: str) -> bool:
    """Whether ``line`` opens a paragraph rather than continuing the wrapped ``previous`` one."""
    if _starts_item(line):
        return True
    prev_plain, plain = plain_text(previous), plain_text(line)
    marker = match_marker(prev_plain)
    if marker is not None and marker.role == "line" and plain[:1].isupper():
        return True  # "Điều 5. Phạm vi điều chỉnh" or "Chương I" ends its line
    if _is_caps(prev_plain) and not _is_caps(plain):
        return True  # a heading in capitals, then its text
    first = plain[:1]
    return bool(_TERMINAL.search(prev_plain)) and (first.isupper() or first in "“\"(")


def _unwrap(block: list[Line]) -> list[RawParagraph]:
    """Join the hard-wrapped lines of a block; a numbered or bulleted line starts anew."""
    paragraphs: list[RawParagraph] = []
    previous = ""
    for line in block:
        if paragraphs and not _starts_new(previous, line.text):
            paragraphs[-1].raw += " " + line.text
        else:
            paragraphs.append(RawParagraph(line.text, line.page))
        previous = line.text
    return paragraphs


def _lift_note_refs(para: RawParagraph) -> None:
    text = _SUP_ENUM.sub(lambda m: f"({m[1]}) ", para.raw)
    para.notes.extend(_SUP_REF.findall(text))
    text = _SUP_REF.sub("", text)
    para.raw = _SUP_ANY.sub("", text).strip()


def _continues(prev: RawParagraph, cur: RawParagraph) -> bool:
    """True when ``cur`` is the rest of ``prev``, cut by a page break or a footnote."""
    prev_plain = plain_text(prev.raw)
    cur_plain = plain_text(cur.raw)
    if not prev_plain or not cur_plain or _TERMINAL.search(prev_plain) or _is_caps(prev_plain):
        return False
    if match_marker(cur_plain) is not None:
        return False
    first = cur_plain[0]
    return first.islower() or first.isdigit()


def split_paragraphs(lines: list[Line]) -> tuple[list[RawParagraph], dict[str, str]]:
    """Body lines -> paragraphs (emphasis kept) and the footnotes lifted out of them."""
    footnotes: dict[str, str] = {}
    paragraphs: list[RawParagraph] = []
    for block in _blocks(lines):
        if m := _FOOTNOTE_START.match(block[0].text):
            body = " ".join(line.text for line in block)[m.end():]
            footnotes[m[1]] = plain_text(_SUP_ANY.sub("", body.replace("**", "")))
            continue
        for position, para in enumerate(_unwrap(block)):
            _lift_note_refs(para)
            if not para.raw:
                continue
            if position == 0 and paragraphs and _continues(paragraphs[-1], para):
                paragraphs[-1].raw += " " + para.raw
                paragraphs[-1].notes.extend(para.notes)
            else:
                paragraphs.append(para)
    return paragraphs, footnotes

"""Where a document's header ends, where its closing starts, and which documents are attached to it.

A Vietnamese administrative document opens with the issuing body, the national
motto, the number ("Số: 08/PĐTĐ-BCĐ"), place and date, the document type and
its subject (trích yếu), sometimes "Kính gửi: ..."; it closes with "Nơi nhận"
and the signature. A Quyết định often carries the Quy chế or Kế hoạch it
issues after its signature ("QUY CHẾ … (Ban hành kèm theo Quyết định số …)"),
and any document may end with a "PHỤ LỤC". OCR output may put two header
columns on one line and lose every diacritic, so lines are matched in
accent-folded form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.doctypes import type_line
from ingest.folding import fold, fold_chars
from ingest.normalize import Line, plain_text, strip_heading_marks
from ingest.numbering import match_marker

NUMBER_LINE = re.compile(r"^\s*(?:[a-z]+\s+){0,3}s[o06]\s*[:.;]")
DATE = re.compile(
    r"ngay\s*(?P<d>\d{1,2})?\s*thang\s*(?P<m>\d{1,2})\s*nam\s*(?P<y>(?:19|20)\d\d)"
    r"|ngay\s*(?P<d2>\d{1,2})\s*/\s*(?P<m2>\d{1,2})\s*/\s*(?P<y2>(?:19|20)\d\d)"
)
SUBJECT = re.compile(r"^v\s*/\s*v\b")
_ADDRESSEE = re.compile(r"^kinh gui")
_RECEIVERS = re.compile(r"^(noi nhan|noi nh[a-z]{1,3}n)\b")
_ATTACHED = re.compile(r"^\(?\s*(?:ban hanh )?kem theo\b")
_OPENING_WORDS = ("can cu", "thuc hien", "theo de nghi", "xet de nghi", "kinh gui", "de ", "nham ")
_TERMINAL = re.compile(r"""[.;!?…](?:["”’)]*)$""")
_PROSE_LINE = 160  # a header line longer than this is running text


@dataclass(frozen=True)
class Zones:
    """Line ranges: header ``[0, body_start)``, body, closing ``[closing_start, end)``,
    then each attached document ``[start, stop)``."""

    body_start: int
    closing_start: int
    end: int = -1
    attachments: tuple[tuple[int, int], ...] = field(default=())


def plain(line: Line) -> str:
    return plain_text(strip_heading_marks(line.text))


def folded(line: Line) -> str:
    return fold_chars(plain(line)).strip()


def is_type_line(line: Line) -> bool:
    text = plain(line)
    return bool(text) and text.upper() == text and type_line(text) is not None


def blank(line: Line) -> bool:
    return not line.text.strip() or line.text == "\f"


def block_end(lines: list[Line], start: int) -> int:
    """Index just past the block (run of non-blank lines) that contains ``start``."""
    end = start
    while end < len(lines) and not blank(lines[end]):
        end += 1
    return end


def next_nonblank(lines: list[Line], start: int, limit: int) -> int | None:
    for i in range(start, min(limit, len(lines))):
        if not blank(lines[i]):
            return i
    return None


def _is_caps(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and all(ch.isupper() for ch in letters)


def _continues_title(previous: str, text: str) -> bool:
    """Whether ``text`` is the next line of a title (trích yếu) whose last line was ``previous``."""
    if not text or match_marker(text) is not None or len(text) > _PROSE_LINE:
        return False
    if _ATTACHED.match(fold_chars(text).strip()):
        return False
    if fold(text).startswith(tuple(w.strip() for w in _OPENING_WORDS)) or _TERMINAL.search(previous):
        return False
    if _is_caps(previous) != _is_caps(text):
        return not text[:1].isupper() and not _is_caps(text)
    return True


def title_end(lines: list[Line], start: int, limit: int) -> int:
    """Index just past the title lines that start at ``start`` (a block, cut where running text starts)."""
    stop = min(block_end(lines, start), limit)
    end = start + 1
    while end < stop and _continues_title(plain(lines[end - 1]), plain(lines[end])):
        end += 1
    return end


def find_zones(lines: list[Line]) -> Zones:
    attachments = _attachments(lines)
    main_end = attachments[0][0] if attachments else len(lines)
    closing = main_end
    for i in range(main_end - 1, -1, -1):
        if _RECEIVERS.match(folded(lines[i])):
            closing = i
            break
    return Zones(header_end(lines, closing), closing, main_end, attachments)


def _attachments(lines: list[Line]) -> tuple[tuple[int, int], ...]:
    """Documents attached after the signature: a type line followed by "(Ban hành kèm theo …)",
    or a "PHỤ LỤC" heading once "Nơi nhận" has been passed."""
    starts: list[int] = []
    receivers_seen = False
    for i, line in enumerate(lines):
        text = folded(line)
        if _RECEIVERS.match(text):
            receivers_seen = True
        elif i > 0 and _ATTACHED.match(text):
            head = next((j for j in range(i - 1, max(-1, i - 6), -1) if is_type_line(lines[j])), None)
            if head is not None and (not starts or head > starts[-1]) and (receivers_seen or starts):
                starts.append(head)
        elif receivers_seen and _is_appendix_line(line) and (not starts or i > starts[-1]):
            starts.append(i)
    return tuple(zip(starts, [*starts[1:], len(lines)], strict=False))


def _is_appendix_line(line: Line) -> bool:
    marker = match_marker(plain(line))
    return marker is not None and marker.kind == "appendix" and _is_caps(plain(line))


def landmarks(lines: list[Line], limit: int) -> tuple[int | None, int | None]:
    """Line indexes of the document-type line ("KẾ HOẠCH") and of the "V/v ..." subject."""
    type_at = subject_at = None
    for i in range(min(limit, len(lines))):
        if type_at is None and is_type_line(lines[i]):
            type_at = i
        if subject_at is None and SUBJECT.match(folded(lines[i])):
            subject_at = i
    return type_at, subject_at


def header_end(lines: list[Line], limit: int) -> int:
    scan = min(limit, 60)
    type_at, subject_at = landmarks(lines, scan)
    end = 0
    if type_at is not None:
        end = title_end(lines, type_at, scan)
        inline = type_line(plain(lines[type_at]))
        if end == type_at + 1 and not (inline and inline[1]):  # the subject is the next block
            nxt = next_nonblank(lines, end, scan)
            if nxt is not None and len(plain(lines[nxt])) < 250 and match_marker(plain(lines[nxt])) is None:
                end = title_end(lines, nxt, scan)
    if subject_at is not None:
        end = max(end, title_end(lines, subject_at, scan))
    if end == 0:
        return _header_end_by_shape(lines, scan)
    while (nxt := next_nonblank(lines, end, limit)) is not None and _is_header_fact(lines[nxt]):
        end = nxt + 1  # the place and date printed under the subject
    nxt = next_nonblank(lines, end, limit)
    if nxt is not None and _ADDRESSEE.match(folded(lines[nxt])):
        end = block_end(lines, nxt)
        while (nxt := next_nonblank(lines, end, limit)) is not None and plain(lines[nxt])[:1] in "-+•":
            end = block_end(lines, nxt)
    return end


def _is_header_fact(line: Line) -> bool:
    """A number line, or a place and date line ("Lào Cai, ngày 20 tháng 6 năm 2024")."""
    text = folded(line)
    if len(text) > 80 or text.startswith(tuple(w.strip() for w in _OPENING_WORDS)):
        return False
    if NUMBER_LINE.match(text):
        return True
    date = DATE.search(text)
    return date is not None and (date.start() == 0 or "," in text[:date.start()])


def _header_end_by_shape(lines: list[Line], scan: int) -> int:
    """No type line and no "V/v": the header is the short lines before the first prose."""
    for i in range(min(scan, len(lines))):
        text = plain(lines[i])
        if not text:
            continue
        if len(text) > 150 or match_marker(text) is not None:
            return i
        if NUMBER_LINE.match(fold_chars(text)) is None and DATE.search(fold_chars(text)) is None and i > 12:
            return i
    return 0

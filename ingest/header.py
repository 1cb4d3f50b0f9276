"""Read the header facts of a document: number, type, issuer, place, date, title, signer, effective date.

Types and issuer codes are data (``data/doc_types.tsv``, ``data/issuer_codes.tsv``).
Numbers: "08/PĐTĐ-BCĐ", "195 /KH-UBND", "145/2020/NĐ-CP", "Luật số: 59/2020/QH14",
Party style "07-CT/TU"; drafts leave the number out ("/KH-BCĐ"). When a file has
no header (a law's text that opens with its name, then "Điều 1."), the title is
the first line.
"""

from __future__ import annotations

import re

from ingest.agencies import ORG_START
from ingest.doctypes import DocType, by_name, issuer_from_number, type_from_number, type_line
from ingest.folding import fold_chars
from ingest.legal_text import effective_date, sentence_case
from ingest.models import DocumentMeta
from ingest.normalize import Line
from ingest.numbering import is_title_like, match_marker
from ingest.zones import (
    DATE,
    NUMBER_LINE,
    SUBJECT,
    Zones,
    is_type_line,
    landmarks,
    next_nonblank,
    plain,
    title_end,
)

_NUMBER = re.compile(
    r"\bs[o06]\s*[:.;]\s*(?P<num>\d*)\s*(?P<sep>[/\-])\s*(?P<code>[\w&.]+(?:\s*[/\-]\s*[\w&.]+)*)"
)
_MOTTO = re.compile(r"c[o0]ng h[o0]a\b|\bd[oeé]c [l1]ap\b|^[-_–—\s]+$")
_ALIAS_MARK = re.compile(r"\(\s*\*?\s*(?:gọi|viết)\s+tắt\s+là")
_ORG_IN_CLAUSE = re.compile(
    r"(?:^|[,.;:]\s+)((?:Ban Chỉ đạo|Ủy ban nhân dân|Uỷ ban nhân dân|UBND|Văn phòng|Sở|Công an)\b)"
)
_ACTOR = re.compile(
    r",\s*(?P<org>(?:Văn phòng|Ủy ban|Uỷ ban|UBND|Sở|Ban|Công an)[^,;]{2,80}?)\s+"
    r"(?:xây dựng|ban hành|phát động)\b"
)
_CLOSING_NOTE = re.compile(r"^(tren day|tren day la)\b")
_NOT_NAMES = {"nơi nhận", "lưu", "như trên"}


def _header_type(lines: list[Line], end: int) -> tuple[DocType, str, int] | None:
    """The type line of the header, what follows the type on it, and its index."""
    for i, line in enumerate(lines[:end]):
        if is_type_line(line):
            found = type_line(plain(line))
            if found:
                return found[0], found[1], i
    return None


def _join(lines: list[Line], start: int, stop: int) -> str:
    return " ".join(plain(line) for line in lines[start:stop]).strip()


def _subject(lines: list[Line], end: int) -> str:
    """The trích yếu: "V/v …", the lines under the type line, or the rest of the type line itself."""
    type_at, subject_at = landmarks(lines, end)
    if subject_at is not None:
        return _join(lines, subject_at, title_end(lines, subject_at, end))
    if type_at is None:
        return ""
    found = type_line(plain(lines[type_at]))
    inline = found[1] if found else ""
    tail = _join(lines, type_at + 1, title_end(lines, type_at, end))
    if inline or tail:
        return " ".join(p for p in (inline, tail) if p)
    nxt = next_nonblank(lines, type_at + 1, end)
    return _join(lines, nxt, title_end(lines, nxt, end)) if nxt is not None else ""


def _first_line_title(lines: list[Line], zones: Zones) -> str:
    """No type line and no subject: the file's first title-like line that is not a number or date."""
    for line in lines[:zones.closing_start]:
        text = plain(line)
        if not text or text == "\f":
            continue
        f = fold_chars(text)
        if NUMBER_LINE.match(f) or DATE.search(f) or _MOTTO.search(f):
            continue
        if match_marker(text) is not None:
            return ""
        return text if is_title_like(text) and len(text) <= 200 else ""
    return ""


def _number(lines: list[Line], end: int) -> str:
    for line in lines[:end]:
        text = plain(line)
        f = fold_chars(text)
        if (m := _NUMBER.search(f)) and (NUMBER_LINE.match(f) or m.start() < 40):
            code = re.sub(r"\s+", "", text[m.start("code"):m.end("code")]).rstrip(".,;")
            return f"{m['num']}{m['sep']}{code}"
    return ""


def _date(lines: list[Line], end: int) -> tuple[str, str, str]:
    for line in lines[:end]:
        text = plain(line)
        m = DATE.search(fold_chars(text))
        if not m:
            continue
        day = m["d"] or m["d2"]
        month = int(m["m"] or m["m2"])
        year = m["y"] or m["y2"]
        iso = f"{year}-{month:02d}" + (f"-{int(day):02d}" if day else "")
        before = text[:m.start()].rstrip(" ,")
        before = re.sub(r"^\s*\S{1,3}\s*[:.;]\s*\d*\s*/\s*\S+\s*", "", before)  # "Số: 195 /KH-UBND "
        place = before.rsplit(",", 1)[-1].strip()
        return iso, text[m.start():m.end()], place
    return "", "", ""


def _issuer_lines(lines: list[Line], end: int) -> list[str]:
    out: list[str] = []
    for line in lines[:end]:
        text = plain(line)
        f = fold_chars(text)
        if NUMBER_LINE.match(f) or DATE.search(f) or is_type_line(line) or SUBJECT.match(f.strip()):
            break
        if m := _MOTTO.search(f):
            text = text[:m.start()]
        text = text.strip(" -–—_")
        if text and not _MOTTO.search(fold_chars(text)):
            out.append(text)
    return out


def _issuer_from_header(lines: list[Line], end: int) -> str:
    orgs: list[str] = []
    for text in _issuer_lines(lines, end):
        f = fold_chars(text).strip()
        if orgs and (not ORG_START.match(f) or orgs[-1].endswith(",")):
            orgs[-1] += " " + text
        else:
            orgs.append(text)
    return " – ".join(re.sub(r"\s+", " ", org) for org in orgs)


def _issuer_from_body(body: str) -> str:
    for mark in _ALIAS_MARK.finditer(body):
        window = body[max(0, mark.start() - 260):mark.start()]
        window = window.rsplit(")", 1)[-1].rsplit("(", 1)[-1]
        starts = [m.start(1) for m in _ORG_IN_CLAUSE.finditer(window)]
        if starts:
            return re.sub(r"\s+", " ", window[starts[-1]:]).strip(" ,*")
    if m := _ACTOR.search(body):
        return m["org"].strip()
    return ""


def _name_word(word: str) -> bool:
    return word[0].isupper() and not any(ch.isdigit() or ch in ":;,()/" for ch in word)


def _signer(lines: list[Line]) -> str:
    for line in reversed(lines):
        text = plain(line).strip(" .,*_")
        words = text.split()
        if not 2 <= len(words) <= 5 or text.upper() == text or text.lower() in _NOT_NAMES:
            continue
        if text.startswith(("-", "+")) or not all(_name_word(w) for w in words):
            continue
        return text
    return ""


def _doc_type(lines: list[Line], zones: Zones, number: str) -> DocType | None:
    found = _header_type(lines, zones.body_start)
    if found:
        return found[0]
    by_number = type_from_number(number)
    if by_number:
        return by_number
    subject_at = landmarks(lines, zones.body_start)[1]
    return by_name("Công văn") if subject_at is not None else None


def _issuer(lines: list[Line], zones: Zones, body: str, number: str, doc_type: DocType | None) -> str:
    return (
        _issuer_from_header(lines, zones.body_start)
        or (doc_type.issuer if doc_type else "")
        or _issuer_from_body(body[:3000])
        or issuer_from_number(number)
    )


def read_meta(lines: list[Line], zones: Zones, body_text: str) -> DocumentMeta:
    end = zones.body_start
    number = _number(lines, end)
    doc_type = _doc_type(lines, zones, number)
    date, date_text, place = _date(lines, end)
    title = _subject(lines, end) or _first_line_title(lines, zones)
    if doc_type is None and title and (found := type_line(title, strict=False)):
        doc_type, title = found[0], found[1] or title  # "LUẬT CƯ TRÚ 2020" on the first line
    closing = lines[zones.closing_start:zones.end if zones.end >= 0 else len(lines)]
    return DocumentMeta(
        doc_number=number,
        doc_type=doc_type.name if doc_type else "",
        issuer=_issuer(lines, zones, body_text, number, doc_type),
        place=place,
        date=date,
        date_text=date_text,
        title=sentence_case(title),
        signer=_signer(closing) if closing else "",
        effective_date=effective_date(body_text, date),
    )


def is_closing_note(folded_paragraph: str) -> bool:
    """"Trên đây là Kế hoạch ..." and the final call to action close the body."""
    return bool(_CLOSING_NOTE.match(folded_paragraph)) or " keu goi " in f" {folded_paragraph} "

"""Read the header and the signature of a directive document.

A Vietnamese administrative document opens with the issuing body, the national
motto, the number ("Số: 08/PĐTĐ-BCĐ"), place and date, the document type and
its subject (trích yếu), sometimes "Kính gửi: ..."; it closes with "Nơi nhận"
and the signature. OCR output may put two header columns on one line and lose
every diacritic, so lines are matched in accent-folded form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.agencies import ORG_START
from ingest.folding import fold_chars
from ingest.models import DocumentMeta
from ingest.normalize import Line, plain_text, strip_heading_marks
from ingest.numbering import match_marker

DOC_TYPES = {
    "ke hoach": "Kế hoạch",
    "cong van": "Công văn",
    "phat dong thi dua": "Phát động thi đua",
    "quyet dinh": "Quyết định",
    "thong bao": "Thông báo",
    "bao cao": "Báo cáo",
    "chi thi": "Chỉ thị",
    "huong dan": "Hướng dẫn",
    "chuong trinh": "Chương trình",
    "to trinh": "Tờ trình",
    "nghi quyet": "Nghị quyết",
    "cong dien": "Công điện",
    "thong tu": "Thông tư",
    "nghi dinh": "Nghị định",
    "ket luan": "Kết luận",
    "quy che": "Quy chế",
}
TYPE_CODES = {
    "kh": "Kế hoạch", "cv": "Công văn", "pdtd": "Phát động thi đua", "qd": "Quyết định",
    "tb": "Thông báo", "bc": "Báo cáo", "ct": "Chỉ thị", "hd": "Hướng dẫn",
    "ctr": "Chương trình", "ttr": "Tờ trình", "nq": "Nghị quyết", "cd": "Công điện",
}
ISSUER_CODES = {
    "vpubnd": "Văn phòng UBND", "ubnd": "Ủy ban nhân dân", "bcd": "Ban Chỉ đạo",
    "cat": "Công an tỉnh", "ca": "Công an", "tu": "Tỉnh ủy", "hu": "Huyện ủy",
}

_NUMBER_LINE = re.compile(r"^\s*s[o06]\s*[:.;]")
_NUMBER = re.compile(r"\bs[o06]\s*[:.;]\s*(?P<num>\d*)\s*/\s*(?P<code>[\w&\-.]+)")
_DATE = re.compile(
    r"ngay\s*(?P<d>\d{1,2})?\s*thang\s*(?P<m>\d{1,2})\s*nam\s*(?P<y>(?:19|20)\d\d)"
    r"|ngay\s*(?P<d2>\d{1,2})\s*/\s*(?P<m2>\d{1,2})\s*/\s*(?P<y2>(?:19|20)\d\d)"
)
_MOTTO = re.compile(r"c[o0]ng h[o0]a\b|\bd[oeé]c [l1]ap\b|^[-_–—\s]+$")
_SUBJECT = re.compile(r"^v\s*/\s*v\b")
_ADDRESSEE = re.compile(r"^kinh gui")
_ALIAS_MARK = re.compile(r"\(\s*\*?\s*(?:gọi|viết)\s+tắt\s+là")
_ORG_IN_CLAUSE = re.compile(
    r"(?:^|[,.;:]\s+)((?:Ban Chỉ đạo|Ủy ban nhân dân|Uỷ ban nhân dân|UBND|Văn phòng|Sở|Công an)\b)"
)
_ACTOR = re.compile(
    r",\s*(?P<org>(?:Văn phòng|Ủy ban|Uỷ ban|UBND|Sở|Ban|Công an)[^,;]{2,80}?)\s+"
    r"(?:xây dựng|ban hành|phát động)\b"
)
_RECEIVERS = re.compile(r"^(noi nhan|noi nh[a-z]{1,3}n)\b")
_CLOSING_NOTE = re.compile(r"^(tren day|tren day la)\b")


@dataclass(frozen=True)
class Zones:
    """Line ranges: header ``[0, body_start)``, body, closing ``[closing_start, end)``."""

    body_start: int
    closing_start: int


def _plain(line: Line) -> str:
    return plain_text(strip_heading_marks(line.text))


def _folded(line: Line) -> str:
    return fold_chars(_plain(line)).strip()


def _doc_type_of(folded: str) -> str | None:
    words = re.sub(r"[^0-9a-z ]", " ", folded).split()
    if not words or len(words) > 6:
        return None
    key = " ".join(words)
    for name, canonical in DOC_TYPES.items():
        if key == name or (key.startswith(name + " ") and len(words) <= len(name.split()) + 2):
            return canonical
    return None


def _is_type_line(line: Line) -> bool:
    text = _plain(line)
    return bool(text) and text.upper() == text and _doc_type_of(fold_chars(text).strip()) is not None


def _block_end(lines: list[Line], start: int) -> int:
    """Index just past the block (run of non-blank lines) that contains ``start``."""
    end = start
    while end < len(lines) and lines[end].text.strip() and lines[end].text != "\f":
        end += 1
    return end


def _next_nonblank(lines: list[Line], start: int, limit: int) -> int | None:
    for i in range(start, min(limit, len(lines))):
        if lines[i].text.strip() and lines[i].text != "\f":
            return i
    return None


def find_zones(lines: list[Line]) -> Zones:
    closing = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        if _RECEIVERS.match(_folded(lines[i])):
            closing = i
            break
    return Zones(_header_end(lines, closing), closing)


def _landmarks(lines: list[Line], limit: int) -> tuple[int | None, int | None]:
    """Line indexes of the document-type line ("KẾ HOẠCH") and of the "V/v ..." subject."""
    type_at = subject_at = None
    for i in range(min(limit, len(lines))):
        if type_at is None and _is_type_line(lines[i]):
            type_at = i
        if subject_at is None and _SUBJECT.match(_folded(lines[i])):
            subject_at = i
    return type_at, subject_at


def _header_end(lines: list[Line], limit: int) -> int:
    scan = min(limit, 60)
    type_at, subject_at = _landmarks(lines, scan)
    end = 0
    if type_at is not None:
        end = _block_end(lines, type_at)
        if end == type_at + 1:  # the subject is the next block
            nxt = _next_nonblank(lines, end, scan)
            if nxt is not None and len(_plain(lines[nxt])) < 250:
                end = _block_end(lines, nxt)
    if subject_at is not None:
        end = max(end, _block_end(lines, subject_at))
    if end == 0:
        return _header_end_by_shape(lines, scan)
    nxt = _next_nonblank(lines, end, limit)
    if nxt is not None and _ADDRESSEE.match(_folded(lines[nxt])):
        end = _block_end(lines, nxt)
        while (nxt := _next_nonblank(lines, end, limit)) is not None and _plain(lines[nxt])[:1] in "-+•":
            end = _block_end(lines, nxt)
    return end


def _header_end_by_shape(lines: list[Line], scan: int) -> int:
    """No type line and no "V/v": the header is the short lines before the first prose."""
    for i in range(scan):
        text = _plain(lines[i])
        if not text:
            continue
        if len(text) > 150 or match_marker(text) is not None:
            return i
        if _NUMBER_LINE.match(fold_chars(text)) is None and _DATE.search(fold_chars(text)) is None and i > 12:
            return i
    return 0


def _subject(lines: list[Line], end: int) -> str:
    type_at, subject_at = _landmarks(lines, end)
    if subject_at is not None:
        start = subject_at
    elif type_at is not None:
        start = type_at + 1
        if start >= end or not lines[start].text.strip():
            nxt = _next_nonblank(lines, start, end)
            if nxt is None:
                return ""
            start = nxt
    else:
        return ""
    stop = min(_block_end(lines, start), end)
    return " ".join(_plain(line) for line in lines[start:stop]).strip()


def _doc_type(lines: list[Line], end: int, number_code: str) -> str:
    for line in lines[:end]:
        if _is_type_line(line):
            return _doc_type_of(_folded(line)) or ""
    kind = fold_chars(number_code.split("-")[0]).replace("đ", "d")
    return TYPE_CODES.get(kind, "")


def _number(lines: list[Line], end: int) -> tuple[str, int | None]:
    for i, line in enumerate(lines[:end]):
        text = _plain(line)
        folded = fold_chars(text)
        if m := _NUMBER.search(folded):
            if _NUMBER_LINE.match(folded) or m.start() < 40:
                code = text[m.start("code"):m.end("code")].rstrip(".,;")
                return f"{m['num']}/{code}", i
    return "", None


def _date(lines: list[Line], end: int) -> tuple[str, str, str]:
    for line in lines[:end]:
        text = _plain(line)
        folded = fold_chars(text)
        m = _DATE.search(folded)
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
        text = _plain(line)
        folded = fold_chars(text)
        if _NUMBER_LINE.match(folded) or _DATE.search(folded) or _is_type_line(line):
            break
        if m := _MOTTO.search(folded):
            text = text[:m.start()]
        text = text.strip(" -–—_")
        if text and not _MOTTO.search(fold_chars(text)):
            out.append(text)
    return out


def _issuer_from_header(lines: list[Line], end: int) -> str:
    orgs: list[str] = []
    for text in _issuer_lines(lines, end):
        folded = fold_chars(text).strip()
        if orgs and not ORG_START.match(folded):
            orgs[-1] += " " + text
        elif orgs and orgs[-1].endswith(","):
            orgs[-1] += " " + text
        else:
            orgs.append(text)
    return " – ".join(re.sub(r"\s+", " ", org) for org in orgs)


def _issuer_from_body(body: str, number_code: str) -> str:
    for mark in _ALIAS_MARK.finditer(body):
        window = body[max(0, mark.start() - 260):mark.start()]
        window = window.rsplit(")", 1)[-1].rsplit("(", 1)[-1]
        starts = [m.start(1) for m in _ORG_IN_CLAUSE.finditer(window)]
        if starts:
            return re.sub(r"\s+", " ", window[starts[-1]:]).strip(" ,*")
    if m := _ACTOR.search(body):
        return m["org"].strip()
    parts = fold_chars(number_code).split("-")
    return ISSUER_CODES.get(parts[-1], "") if len(parts) > 1 else ""



def _name_word(word: str) -> bool:
    return word[0].isupper() and not any(ch.isdigit() or ch in ":;,()/" for ch in word)

_NOT_NAMES = {"nơi nhận", "lưu", "như trên"}


def _signer(lines: list[Line]) -> str:
    for line in reversed(lines):
        text = _plain(line).strip(" .,*_")
        words = text.split()
        if not 2 <= len(words) <= 5 or text.upper() == text or text.lower() in _NOT_NAMES:
            continue
        if text.startswith(("-", "+")) or not all(_name_word(w) for w in words):
            continue
        return text
    return ""


def read_meta(lines: list[Line], zones: Zones, body_text: str) -> DocumentMeta:
    end = zones.body_start
    number, _ = _number(lines, end)
    code = number.split("/", 1)[1] if "/" in number else ""
    date, date_text, place = _date(lines, end)
    issuer = _issuer_from_header(lines, end) or _issuer_from_body(body_text[:3000], code)
    return DocumentMeta(
        doc_number=number,
        doc_type=_doc_type(lines, end, code),
        issuer=issuer,
        place=place,
        date=date,
        date_text=date_text,
        title=_subject(lines, end),
        signer=_signer(lines[zones.closing_start:]) if zones.closing_start < len(lines) else "",
    )


def is_closing_note(folded_paragraph: str) -> bool:
    """"Trên đây là Kế hoạch ..." and the final call to action close the body."""
    return bool(_CLOSING_NOTE.match(folded_paragraph)) or " keu goi " in f" {folded_paragraph} "

"""Find deadlines and periods in directive text and normalise them.

Kinds: ``date`` ("trước ngày 30/5/2026"), ``month`` ("trong tháng 11/2026"),
``quarter`` ("Quý II/2026", "trong quý IV năm 2025"), and ``yearly`` — a day that
recurs every year ("trước ngày 15 tháng 11 hằng năm", "định kỳ 6 tháng (trước 10/6)").
The original words are kept. A missing year comes from the document's plan year.
Matching runs on accent-folded text of the same length as the original, so OCR
spellings ("truéc ngay 15 thang 11 hang nim") are found and quoted as written.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from ingest.folding import fold_chars

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_BEFORE = r"(?:(?:hoan thanh\s+)?tr[a-z]{2,4}\s+(?:ngay\s+)?)"  # "trước (ngày)", OCR "truéc", "trwée"
_YEARLY = re.compile(r"\bh[a-z]ng\s+n[a-z]m\b|\bdinh\s+k[a-z]\b|\bm[a-z]i\s+n[a-z]m\b")
_PATTERNS = [
    ("date", re.compile(
        _BEFORE + r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>(?:19|20)\d\d)\b")),
    ("date", re.compile(
        _BEFORE + r"(?P<d>\d{1,2})\s+thang\s+(?P<m>\d{1,2})\s+n[a-z]m\s+(?P<y>(?:19|20)\d\d)\b")),
    ("day", re.compile(
        _BEFORE + r"(?P<d>\d{1,2})\s*/\s*(?P<m>\d{1,2})\b(?!\s*/\s*\d)(?:\s+h[a-z]ng\s+n[a-z]m\b)?")),
    ("day", re.compile(
        _BEFORE + r"(?P<d>\d{1,2})\s+thang\s+(?P<m>\d{1,2})\b(?!\s+n[a-z]m\s+\d)(?:\s+h[a-z]ng\s+n[a-z]m\b)?")),
    ("month", re.compile(
        r"(?:(?:hoan thanh\s+)?trong\s+)?thang\s+(?P<m>\d{1,2})\s*(?:/|\s+n[a-z]m\s+)\s*(?P<y>(?:19|20)\d\d)\b")),
    ("quarter", re.compile(
        r"(?:(?:hoan thanh\s+)?trong\s+)?\bquy\s+(?P<q>iv|iii|ii|i|[1-4])\b"
        r"(?:\s*(?:/|\s+n[a-z]m\s+)\s*(?P<y>(?:19|20)\d\d)\b)?")),
]


@dataclass(frozen=True)
class Deadline:
    text: str  # as written
    kind: str  # date | month | quarter | yearly
    start: date | None = None  # first day of the period (the due day for kind "date")
    due: date | None = None  # last day by which it is due
    month_day: tuple[int, int] | None = None  # (month, day) of a yearly deadline

    @property
    def key(self) -> str:
        """A compact normal form: "2026-05-30", "2026-11", "2026-Q2", "yearly-11-15"."""
        if self.kind == "yearly" and self.month_day:
            return f"yearly-{self.month_day[0]:02d}-{self.month_day[1]:02d}"
        if self.kind == "quarter" and self.start:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month" and self.start:
            return f"{self.start.year}-{self.start.month:02d}"
        return self.due.isoformat() if self.due else self.text

    def occurrences(self, first: date, last: date) -> list[date]:
        """Due days falling within ``[first, last]`` (a yearly deadline recurs)."""
        if self.kind == "yearly" and self.month_day:
            days = []
            for year in range(first.year, last.year + 1):
                day = _safe_date(year, *self.month_day)
                if day and first <= day <= last:
                    days.append(day)
            return days
        return [self.due] if self.due and first <= self.due <= last else []

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text, "kind": self.kind, "key": self.key,
            "start": self.start.isoformat() if self.start else None,
            "due": self.due.isoformat() if self.due else None,
            "recurrence": "yearly" if self.kind == "yearly" else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Deadline:
        start = date.fromisoformat(str(data["start"])) if data.get("start") else None
        due = date.fromisoformat(str(data["due"])) if data.get("due") else None
        month_day = None
        if data.get("kind") == "yearly" and isinstance(data.get("key"), str):
            _, month, day = str(data["key"]).split("-")
            month_day = (int(month), int(day))
        return cls(str(data["text"]), str(data["kind"]), start, due, month_day)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _build(kind: str, m: re.Match[str], text: str, plan_year: int | None, yearly: bool) -> Deadline | None:
    words = text[m.start():m.end()].strip(" ,;()")
    groups = m.groupdict()
    year = int(groups["y"]) if groups.get("y") else plan_year
    if kind == "date" and year:
        day = _safe_date(year, int(groups["m"]), int(groups["d"]))
        return Deadline(words, "date", day, day) if day else None
    if kind == "day":
        month, dom = int(groups["m"]), int(groups["d"])
        if not (1 <= month <= 12 and _safe_date(2000, month, dom)):
            return None
        if yearly or year is None:
            first = _safe_date(plan_year, month, dom) if plan_year else None
            return Deadline(words, "yearly", first, first, (month, dom))
        day = _safe_date(year, month, dom)
        return Deadline(words, "date", day, day)
    if kind == "month" and year:
        month = int(groups["m"])
        if not 1 <= month <= 12:
            return None
        last = calendar.monthrange(year, month)[1]
        return Deadline(words, "month", date(year, month, 1), date(year, month, last))
    if kind == "quarter" and year:
        quarter = _ROMAN[groups["q"]]
        first_month = 3 * (quarter - 1) + 1
        last = calendar.monthrange(year, first_month + 2)[1]
        return Deadline(words, "quarter", date(year, first_month, 1), date(year, first_month + 2, last))
    return None


def find_deadlines(text: str, plan_year: int | None = None) -> list[tuple[Deadline, int, int]]:
    """Deadlines in ``text`` with their character spans, in reading order, without overlaps.

    A day without a year recurs yearly when the sentence says so ("hằng năm",
    "định kỳ"); otherwise it falls in ``plan_year``.
    """
    folded = fold_chars(text)
    yearly = bool(_YEARLY.search(folded))
    taken: list[tuple[int, int]] = []
    found: list[tuple[Deadline, int, int]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(folded):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            deadline = _build(kind, m, text, plan_year, yearly)
            if deadline is not None:
                taken.append((m.start(), m.end()))
                found.append((deadline, m.start(), m.end()))
    return sorted(found, key=lambda item: item[1])

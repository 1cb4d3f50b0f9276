"""Search filters: which documents a search or a chat may draw on.

The fields are fixed by the contract: ``document_ids``, ``doc_types``,
``issuers``, ``date_from``, ``date_to`` (ISO dates). Every field given must hold.
They are decided per document against the registry, and the resulting set of
documents is pushed down to both retrievers before their top ``k`` is taken
(Chroma's ``where`` and the lexical index's row mask), so a filtered search
returns the best matching passages *of those documents*.

Matching:

- ``document_ids``: a document's id;
- ``doc_types``: the type, accents and case aside; a code works too ("KH" = "Kế hoạch");
- ``issuers``: the issuing body contains the words given ("UBND tỉnh Lào Cai" matches
  "UY BAN NHAN DAN TINH LAO CAI – BCĐ …"), accents, case and abbreviations aside;
- ``date_from`` / ``date_to``: the document's date lies within them, whole: a date
  known only to the month ("tháng 02 năm 2026") holds when its whole month does;
  an undated document never holds.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from typing import Any

from ingest.doctypes import doc_types
from vectorstore.records import DocumentRecord
from vectorstore.text import default_lexicon, words

MAX_VALUES = 500


class FilterError(ValueError):
    """A filter that cannot be applied; the message says why, in Vietnamese."""


@lru_cache(maxsize=65536)
def _folded_phrase(text: str) -> tuple[str, ...]:
    """Folded words with abbreviations written out ("UBND" -> "uy ban nhan dan")."""
    return tuple(default_lexicon().spell_out(words(text)))


@lru_cache(maxsize=4096)
def _type_key(value: str) -> str:
    """A type written as its name, any spelling or its code ("KH", "ke hoach") -> its folded name."""
    folded = " ".join(words(value))
    code = folded.replace(" ", "")
    for doc_type in doc_types():
        if folded in doc_type.names or code in doc_type.codes:
            return " ".join(words(doc_type.name))
    return folded


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def date_span(value: str) -> tuple[date, date] | None:
    """The first and last day a stored date ("2026-02-19", "2026-02", "2026") may mean."""
    parts = value.split("-") if value else []
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 3:
            day = date(*numbers)
            return day, day
        if len(numbers) == 2:
            last = calendar.monthrange(numbers[0], numbers[1])[1]
            return date(numbers[0], numbers[1], 1), date(numbers[0], numbers[1], last)
        if len(numbers) == 1:
            return date(numbers[0], 1, 1), date(numbers[0], 12, 31)
    except ValueError:
        return None
    return None


def _iso_date(name: str, value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"'{name}' phải là ngày dạng YYYY-MM-DD (ví dụ 2026-02-19), không phải {value!r}") from None


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise FilterError(f"'{name}' phải là một danh sách chuỗi")
    items = list(value)
    if len(items) > MAX_VALUES:
        raise FilterError(f"'{name}' có quá nhiều giá trị (tối đa {MAX_VALUES})")
    if not all(isinstance(v, str) and v.strip() for v in items):
        raise FilterError(f"'{name}' chỉ được chứa chuỗi không rỗng")
    return tuple(v.strip() for v in items)


@dataclass(frozen=True)
class Filters:
    document_ids: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> Filters:
        """Filters from a request's ``filters`` object; :class:`FilterError` says what is wrong."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise FilterError("'filters' phải là một đối tượng JSON")
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise FilterError(f"bộ lọc không hỗ trợ trường {', '.join(unknown)} (chỉ có: {', '.join(allowed)})")
        out = cls(
            _strings("document_ids", data.get("document_ids")), _strings("doc_types", data.get("doc_types")),
            _strings("issuers", data.get("issuers")),
            _iso_date("date_from", data.get("date_from")), _iso_date("date_to", data.get("date_to")),
        )
        if out.date_from and out.date_to and out.date_from > out.date_to:
            raise FilterError(f"'date_from' ({out.date_from}) sau 'date_to' ({out.date_to})")
        return out

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: (v.isoformat() if isinstance(v, date) else list(v)) for k, v in data.items() if v}

    def admits(self, doc: DocumentRecord) -> bool:
        """Whether ``doc`` satisfies every filter given."""
        if self.document_ids and doc.id not in self.document_ids:
            return False
        if self.doc_types and _type_key(doc.doc_type) not in {_type_key(t) for t in self.doc_types}:
            return False
        if self.issuers:
            issuer = _folded_phrase(doc.issuer)
            if not any(_contains(issuer, _folded_phrase(i)) for i in self.issuers):
                return False
        if self.date_from or self.date_to:
            span = date_span(doc.date)
            if span is None or (self.date_from and span[0] < self.date_from) or (
                self.date_to and span[1] > self.date_to
            ):
                return False
        return True

    def documents(self, registry: Mapping[str, DocumentRecord]) -> frozenset[str] | None:
        """Ids of the documents that satisfy the filters; None when there are no filters."""
        if not self:
            return None
        return frozenset(doc_id for doc_id, doc in registry.items() if self.admits(doc))


NO_FILTERS = Filters()

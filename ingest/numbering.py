"""Recognise the numbering that opens a heading or list item, from the table in ``data/numbering.tsv``.

Legal structure (Phần, Chương, Mục, Tiểu mục, Điều 5 / 5a, Phụ lục) and plan
numbering (I. II., also OCR'd as "I1."; 1. 2., also "3.Sở"; 3.1.; a) b) đ),
also OCR'd as "c¢)" or "¢)"; the bullets - + •). Each kind's rank, how its
label is written and how it is displayed are data; this module only applies
them. Inside an article "1." is a khoản and "a)" an điểm (the ``inside`` column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ingest.folding import fold_chars

_VALID_ROMAN = re.compile(r"^(?:X{0,3})(?:IX|IV|V?I{0,3})$")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_ENDS_SENTENCE = re.compile(r"""[.;!?…](?:["”’)]*)$""")
TITLE_MAX = 250  # a heading's title line is shorter than this
SHORT_TITLE = 90  # titles are cut to this in section paths


@dataclass(frozen=True)
class Kind:
    name: str
    rank: int
    role: str  # line | item | bullet | zone
    folded: bool
    pattern: re.Pattern[str] | None
    label: str
    after: str
    inside: str
    display: str
    full: str


@dataclass(frozen=True)
class Marker:
    kind: str  # a kind of the table: article, chapter, roman, arabic, letter, bullet, ...
    label: str  # "III", "3.1", "8", "c", "12a", "-"
    end: int  # offset where the text after the marker starts
    role: str = "item"
    punct: bool = False  # a mark (. or :) follows the number

    @property
    def is_heading(self) -> bool:
        return self.role != "bullet"


@lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    """The numbering table, in matching order."""
    text = resources.files("ingest.data").joinpath("numbering.tsv").read_text(encoding="utf-8")
    table: dict[str, Kind] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, rank, role, match, pattern, label, after, inside, display, full = line.split("\t")
        table[name] = Kind(
            name, int(rank), role, match == "folded", re.compile(pattern) if pattern != "-" else None,
            label, after, inside if inside != "-" else "", display, full,
        )
    return table


def kind(name: str) -> Kind:
    return kinds()[name]


def rank(kind_name: str, label: str = "") -> int:
    """A heading's nesting rank; a decimal number sits one rank deeper per dot."""
    base = kinds()[kind_name].rank if kind_name in kinds() else 0
    return base + label.count(".") if kind_name == "decimal" else base


def _roman(raw: str) -> str | None:
    if not any(ch in "IVX" for ch in raw):
        return None
    value = raw.replace("1", "I").replace("l", "I")
    return value if value and _VALID_ROMAN.match(value) else None


def _label(style: str, raw: str) -> str | None:
    if style == "roman":
        return _roman(raw)
    if style == "int":
        return str(int(raw))
    if style == "letter":
        return "c" if "¢" in raw else raw
    if style == "upper":
        return raw.upper()
    if style == "numeral":  # "II", "3"; a number in words is written in lowercase: "thứ nhất"
        return raw.upper() if re.fullmatch(r"[IVXLCivxlc]+|\d+", raw) else raw.lower()
    return raw


def is_title_like(text: str) -> bool:
    """A short line that does not end a sentence and starts as a title does."""
    text = text.strip()
    if not text:
        return True
    return len(text) <= TITLE_MAX and (text[0].isupper() or text[0] in "“\"(") and not _ENDS_SENTENCE.search(text)


def _follows(spec: Kind, rest: str, punct: bool) -> bool:
    if spec.after == "upper":
        return rest[:1].isupper() or rest[:1] in "“\"*"
    if spec.after == "titled":
        return is_title_like(rest)
    if spec.after == "punct_or_titled":
        return (punct and bool(rest.strip())) or is_title_like(rest)
    return True


def _try(spec: Kind, body: str, folded: str) -> tuple[str, int, bool] | None:
    assert spec.pattern is not None
    m = spec.pattern.match(folded if spec.folded else body)
    if m is None or (spec.role == "line" and not body[:1].isupper()):
        return None
    raw = body[m.start("num"):m.end("num")] if m["num"] is not None else ""
    label = _label(spec.label, raw) if raw else ""
    if label is None:
        return None
    punct = bool(m.groupdict().get("punct"))
    if not _follows(spec, body[m.end():], punct):
        return None
    return label, m.end(), punct


def match_marker(text: str) -> Marker | None:
    """The numbering at the start of ``text`` (markdown already removed), if any."""
    text_start = len(text) - len(text.lstrip())
    body = text[text_start:]
    folded = fold_chars(body)
    for spec in kinds().values():
        if spec.pattern is None:
            continue
        found = _try(spec, body, folded)
        if found is not None:
            label, end, punct = found
            return Marker(spec.name, label, text_start + end, spec.role, punct)
    return None


def render(template: str, label: str, title: str) -> str:
    """Fill a display template; a ``[...]`` part is dropped when what it names is empty."""
    short = shorten(title)

    def optional(m: re.Match[str]) -> str:
        part = m[1]
        if ("{title}" in part or "{short}" in part) and not title:
            return ""
        if "{label}" in part and not label:
            return ""
        return part

    return _OPTIONAL.sub(optional, template).format(label=label, title=title, short=short).strip()


def shorten(title: str, limit: int = SHORT_TITLE) -> str:
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"

"""Recognise the numbering that opens a heading or list item.

I. II. (also OCR'd as "I1."), 1. 2. (also "3.Sở"), 3.1., a) b) đ) (also
OCR'd as "c¢)" or "¢)"), and the bullets - + •.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DECIMAL = re.compile(r"(?P<num>\d{1,2}(?:\.\d{1,2})+)\.?\s*(?=[^\d\s.,/])")
_ROMAN = re.compile(r"(?P<num>[IVXl1]{1,6})\s*[.)]\s*(?=[^\s.])")
_ARABIC = re.compile(r"(?P<num>\d{1,2})\s*[.)]\s*(?=[^\d\s.,/)])")
_LETTER = re.compile(r"(?P<let>c¢|¢|[a-zđ])\s*\)\s*(?=\S)")
_BULLET = re.compile(r"(?P<mark>[-–—•+])\s*(?=\S)")
_VALID_ROMAN = re.compile(r"^X{0,3}(IX|IV|V?I{0,3})$")


@dataclass(frozen=True)
class Marker:
    kind: str  # roman | decimal | arabic | letter | bullet
    label: str  # "III", "3.1", "8", "c", "-"
    end: int  # offset where the text after the marker starts

    @property
    def is_heading(self) -> bool:
        return self.kind != "bullet"


def _roman(raw: str) -> str | None:
    if not any(ch in "IVX" for ch in raw):
        return None
    value = raw.replace("1", "I").replace("l", "I")
    return value if value and _VALID_ROMAN.match(value) else None


def match_marker(text: str) -> Marker | None:
    """The numbering at the start of ``text`` (markdown already removed), if any."""
    text_start = len(text) - len(text.lstrip())
    body = text[text_start:]
    if m := _DECIMAL.match(body):
        return Marker("decimal", m["num"], text_start + m.end())
    if (m := _ROMAN.match(body)) and (label := _roman(m["num"])):
        rest = body[m.end():]
        if rest[:1].isupper() or rest[:1] in "“\"*":
            return Marker("roman", label, text_start + m.end())
    if m := _ARABIC.match(body):
        return Marker("arabic", str(int(m["num"])), text_start + m.end())
    if m := _LETTER.match(body):
        letter = "c" if "¢" in m["let"] else m["let"]
        return Marker("letter", letter, text_start + m.end())
    if m := _BULLET.match(body):
        if m["mark"] == "-" and body[1:2].isdigit():
            return None  # a negative number or a date range, not a bullet
        return Marker("bullet", m["mark"], text_start + m.end())
    return None

"""Accent folding for Vietnamese text.

Two flavours:

- :func:`fold_chars` maps every character to exactly one character (lowercase,
  accents stripped, ``đ`` -> ``d``), so a regex match on the folded string has
  the same offsets in the original. Used to find OCR'd headings and dates.
- :func:`fold` is the comparison form used everywhere text is matched loosely
  (evaluation, lexical search): lowercase, accents stripped, ``đ`` -> ``d``,
  every run of non-alphanumerics collapsed to one space.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    lowered = base.lower()
    if len(lowered) != 1:
        return base
    if lowered.isascii():
        return lowered
    return ch.lower() if len(ch.lower()) == 1 else ch


def fold_chars(text: str) -> str:
    """Fold accents and case, one output character per input character."""
    return "".join(_fold_char(ch) for ch in text)


def fold(text: str) -> str:
    """Lowercase, strip accents, ``đ`` -> ``d``, non-alphanumerics -> one space."""
    return _NON_ALNUM.sub(" ", fold_chars(unicodedata.normalize("NFC", text))).strip()

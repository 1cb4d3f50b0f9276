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


_OCR_DIGITS = {"0": "o", "3": "a", "4": "a", "6": "o"}


def repair_word(word: str) -> str:
    """Undo common OCR slips in a folded word: digits inside letters ("v6i" -> "voi",
    "t01" -> "toi"), and leading zeros of numbers ("06" -> "6")."""
    if word.isdigit():
        return word.lstrip("0") or "0"
    if word == "s":  # "Sở" read by OCR as "S&" or "S:"
        return "so"
    if len(word) <= 7 and any(ch.isdigit() for ch in word) and any(ch.isalpha() for ch in word):
        return "".join(
            ("l" if i == 0 else "i") if ch == "1" else _OCR_DIGITS.get(ch, ch) for i, ch in enumerate(word)
        )
    return word


def folded_words(text: str) -> list[str]:
    """Folded, OCR-repaired words; "%" reads as "phần trăm"."""
    return [repair_word(w) for w in fold(text.replace("%", " phần trăm ")).split()]


# Tone marks, decomposed. Spelling puts them on different vowels ("hòa" / "hoà",
# "thúy" / "thuý"); a toned word carries its tone as a trailing digit instead.
_TONES = {"\u0301": "1", "\u0300": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65536)  # a language's words: a few tens of thousands, met again in every text
def toned(word: str) -> str:
    """A word lowercased with its diacritics kept, the tone mark moved to the end:
    "Hoà" and "hòa" -> "hoa2"; "nghị" -> "nghi5" and "nghỉ" -> "nghi3" stay apart."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [_TONES[ch] for ch in decomposed if ch in _TONES]
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    return base + "".join(tones[:1])


def toned_words(text: str) -> list[str]:
    """The words of ``text`` as :func:`toned` forms (remembered: a chat weighs the same task texts
    every time an agency is asked about)."""
    return list(_toned_words(text))


def toned_words_once(text: str) -> tuple[str, ...]:
    """:func:`toned_words`, not remembered (see ``vectorstore.text.words_once``)."""
    return _toned_words.__wrapped__(text)


@lru_cache(maxsize=32768)
def _toned_words(text: str) -> tuple[str, ...]:
    return tuple(toned(w) for w in _WORD.findall(unicodedata.normalize("NFC", text)))


def has_marks(word: str) -> bool:
    """Whether a word is written with Vietnamese diacritics (``đ`` included)."""
    return not word.isascii()

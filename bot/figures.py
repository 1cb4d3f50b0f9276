"""The figures a passage states, for questions that ask "how many" / "what figure".

A figure is a number that counts or measures something ("85%", "01 xã", "21 năm").
Dates ("17/12/2025"), document numbers ("92/KH-UBND", "07-CT/TU"), spans of years
("2021-2025"), years ("năm 2025") and list numbers ("1.", "a)") state no figure:
a passage holding only those does not answer "bao nhiêu vụ …?". When the question
names what it counts (its ``measure``: "vụ", "người", "tiền", "phần trăm"), the
figure must be followed by that word, or by one counting as it (``equivalents``:
"tiền" — "đồng"). A question asking for a number that names something ("kế hoạch
số mấy?") is answered by a document number too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from ingest.folding import fold_chars
from vectorstore.text import Lexicon, words

_NAMING = re.compile(r"\d+(?:\s*[/-]\s*[\w.]*\w)+")  # dates, document numbers, spans of years
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_LIST = re.compile(r"^\s*[-+*#]*\s*\d+\s*[.)]", re.MULTILINE)
_NUMBER = re.compile(r"(?<![^\W\d_])\d+(?:[.,]\d+)*(?![^\W\d_])")
FOLLOW = 2  # words after a figure that may name what it counts ("01 mô hình", "85 % trở lên")


def _masked(text: str, lexicon: Lexicon, identifier: bool) -> str:
    """``text`` folded (same length), with what names rather than counts blanked."""
    folded = fold_chars(text)
    for pattern in (_LIST,) if identifier else (_NAMING, _YEAR, _LIST, _naming(lexicon.naming)):
        folded = pattern.sub(lambda m: " " * len(m.group(0)), folded)
    return folded


@lru_cache(maxsize=4)
def _naming(naming: frozenset[str]) -> re.Pattern[str]:
    """A naming word ("ngày", "số", "Điều") and the number after it, on folded text."""
    alternatives = sorted((r"\s+".join(map(re.escape, w.split())) for w in naming), key=len, reverse=True)
    return re.compile(rf"\b(?:{'|'.join(alternatives)})\s+\d+")


def states_figure(text: str, lexicon: Lexicon, measure: Sequence[str] = (), identifier: bool = False) -> bool:
    """Whether ``text`` states a figure (of ``measure``, when given; folded words)."""
    masked = _masked(text, lexicon, identifier)
    if not measure:
        return bool(_NUMBER.search(masked))
    wanted = tuple(measure)
    also = {alt for word in measure for alt in lexicon.measures.get(word, ())}
    for m in _NUMBER.finditer(masked):
        after = words(text[m.end():m.end() + 40])[: FOLLOW + len(wanted) - 1]
        runs = {tuple(after[i:i + len(wanted)]) for i in range(len(after))}
        if wanted in runs or not also.isdisjoint(after):
            return True
    return False

"""Small readings of legal text: when a document takes effect, and titles written in capitals.

The effective-date phrases are data (``data/effective.tsv``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from ingest.folding import fold_chars

_DATE_AFTER = re.compile(
    r"(?:ngay\s*)?(?P<d>\d{1,2})\s*thang\s*(?P<m>\d{1,2})\s*nam\s*(?P<y>(?:19|20)\d\d)"
    r"|(?:ngay\s*)?(?P<d2>\d{1,2})\s*[/.-]\s*(?P<m2>\d{1,2})\s*[/.-]\s*(?P<y2>(?:19|20)\d\d)"
)
# A Vietnamese syllable, folded: onset, vowels, final. A capitalised word that is not one is an
# abbreviation (UBND, ANTQ, HĐND) and keeps its capitals when a title is put in sentence case.
_SYLLABLE = re.compile(
    r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?$"
)


@lru_cache(maxsize=1)
def _phrases() -> tuple[tuple[re.Pattern[str], str], ...]:
    text = resources.files("ingest.data").joinpath("effective.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return tuple((re.compile(pattern), when) for pattern, when in rows)


def effective_date(body: str, signed: str = "") -> str:
    """ISO date the document takes effect, where its text says so ("… có hiệu lực thi hành từ ngày
    01 tháng 7 năm 2021" -> "2021-07-01"; "… kể từ ngày ký" -> the date it was signed)."""
    folded = fold_chars(body)
    for pattern, when in _phrases():
        for m in pattern.finditer(folded):
            if when == "signing":
                return signed
            date = _DATE_AFTER.match(folded, m.end())
            if date:
                day, month, year = date["d"] or date["d2"], date["m"] or date["m2"], date["y"] or date["y2"]
                return f"{year}-{int(month):02d}-{int(day):02d}"
    return ""


def _keeps_capitals(word: str) -> bool:
    letters = re.sub(r"[^a-z]", "", fold_chars(word).replace("đ", "d"))
    return bool(letters) and not _SYLLABLE.match(letters)


def sentence_case(title: str) -> str:
    """A title written in capitals, in sentence case ("CƯ TRÚ 2020" -> "Cư trú 2020"); abbreviations keep
    their capitals ("BẢO VỆ ANTQ" -> "Bảo vệ ANTQ"). A title not in capitals is returned as it is."""
    letters = [ch for ch in title if ch.isalpha()]
    if not letters or not all(ch.isupper() for ch in letters):
        return title
    words = title.split(" ")
    out = [w if _keeps_capitals(w) else w.lower() for w in words]
    first = next((i for i, w in enumerate(out) if w[:1].isalpha()), None)
    if first is not None and not _keeps_capitals(words[first]):
        out[first] = out[first][:1].upper() + out[first][1:]
    return " ".join(out)

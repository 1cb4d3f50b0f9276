"""The agency registry: canonical names of agencies and unit types, with aliases.

Read from ``ingest/data/agencies.tsv``. Matching is on accent-folded, OCR-repaired
words, so "Sở GD&ĐT", "so giao duc va dao tao", "Department of Education" and the
OCR "S& Noi vu" all find their agency. Unknown agencies found in documents get an
ad-hoc entry whose id derives from their name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ingest.folding import folded_words

# Accent-folded words that open the name of an organisation ("Sở …", "Ban …", "UBND …").
ORG_START = re.compile(
    r"^(?:ubnd|uy ban|bcd|ban|so|cong an|van phong|bo|tinh uy|huyen uy|dang uy|phong|truong|trung tam|mat tran"
    r"|hoi dong|cuc|chi cuc|doan|doi|to|hoi|vien|toa an|toa|bch)\b"
)

# OCR turns "Sở" into "S&", "Sé", "Sa": read a lone s-word as "so" when matching names.
_OCR_SO = {"se", "sa", "sd"}


@dataclass(frozen=True)
class Agency:
    id: str
    kind: str  # agency | unit (a type of unit: "cơ sở giáo dục", "UBND cấp xã")
    name: str
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "aliases": list(self.aliases)}


@dataclass(frozen=True)
class Mention:
    agency: Agency
    start: int  # word offsets in the matched word list
    end: int


def match_words(text: str) -> list[str]:
    return ["so" if w in _OCR_SO else w for w in folded_words(text)]


def slug(text: str) -> str:
    return "-".join(folded_words(text))[:60] or "khong-ro"


def _trigrams(text: str) -> set[str]:
    padded = f"  {' '.join(match_words(text))} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


_GAP = 30  # words a "…" in an alias may span


def _match_at(seq: list[str], i: int, key: tuple[str, ...], rest: tuple[str, ...]) -> int:
    """End offset of the alias ``key … rest`` starting at ``i`` in ``seq``, or 0."""
    if tuple(seq[i:i + len(key)]) != key:
        return 0
    if not rest:
        return i + len(key)
    start = i + len(key)
    for j in range(start, min(len(seq), start + _GAP) - len(rest) + 1):
        if tuple(seq[j:j + len(rest)]) == rest:
            return j + len(rest)
    return 0


class AgencyRegistry:
    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = {a.id: a for a in agencies}
        self._patterns: dict[str, list[tuple[tuple[str, ...], tuple[str, ...], Agency]]] = {}
        for agency in agencies:
            for name in (agency.name, *agency.aliases):
                head, _, tail = name.partition("…")  # "Ban Chỉ đạo … các xã, phường": a gap of a few words
                key, rest = tuple(match_words(head)), tuple(match_words(tail))
                if key:
                    self._patterns.setdefault(key[0], []).append((key, rest, agency))
        for options in self._patterns.values():
            options.sort(key=lambda item: -(len(item[0]) + len(item[1])))
        self._grams = [
            (agency, _trigrams(name.replace("…", " ")))
            for agency in agencies for name in (agency.name, *agency.aliases)
        ]

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> AgencyRegistry:
        text = resources.files("ingest.data").joinpath("agencies.tsv").read_text(encoding="utf-8")
        agencies = []
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            ident, kind, name, *rest = line.split("\t")
            aliases = tuple(a.strip() for a in (rest[0] if rest else "").split("|") if a.strip())
            agencies.append(Agency(ident.strip(), kind.strip(), name.strip(), aliases))
        return cls(agencies)

    def get(self, agency_id: str) -> Agency | None:
        return self.agencies.get(agency_id)

    def find(self, text: str) -> list[Mention]:
        """Agencies named in ``text``, longest name first, without overlaps, in reading order."""
        return self.find_words(folded_words(text))

    def find_words(self, folded: list[str]) -> list[Mention]:
        """:meth:`find` on words already folded (offsets are indexes into ``folded``)."""
        seq = ["so" if w in _OCR_SO else w for w in folded]
        found: list[Mention] = []
        i = 0
        while i < len(seq):
            for key, rest, agency in self._patterns.get(seq[i], ()):
                end = _match_at(seq, i, key, rest)
                if end:
                    found.append(Mention(agency, i, end))
                    i = end
                    break
            else:
                i += 1
        return found

    def closest(self, title: str, threshold: float = 0.55) -> Agency | None:
        """The agency whose name looks most like ``title`` (for OCR'd headings)."""
        grams = _trigrams(title)
        if not grams:
            return None
        best, score = None, 0.0
        for agency, other in self._grams:
            dice = 2 * len(grams & other) / (len(grams) + len(other))
            if dice > score:
                best, score = agency, dice
        return best if score >= threshold else None

    def ad_hoc(self, name: str) -> Agency:
        """An agency the registry does not know, named as the document names it."""
        name = re.sub(r"\s+", " ", name).strip(" ,;:.-–")
        return Agency("x-" + slug(name), "agency", name[:1].upper() + name[1:])

    def alias_expansions(self, text: str, units: bool = False) -> list[str]:
        """Folded words of the canonical names of agencies named in ``text`` (for search).

        Unit types ("xã, phường", "khu dân cư") are ordinary words of running text, so they
        expand only when ``units`` is asked for (an English question, say).
        """
        out: list[str] = []
        for mention in self.find(text):
            if units or mention.agency.kind == "agency":
                out.extend(match_words(mention.agency.name))
        return out

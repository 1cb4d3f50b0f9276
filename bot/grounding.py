"""Does a passage support a sentence? The check every sentence a language model writes must pass.

A sentence is supported by the passages it cites when

- every number it states occurs in them (leading zeros aside: "01" is "1");
- every date, month and quarter it states is one they state ("15/11" matches "ngày 15 tháng 11";
  a year the passage leaves out may come from elsewhere in it, such as its document's date);
- every agency it names (``ingest/data/agencies.tsv``: "Sở GD&ĐT" is "Sở Giáo dục và Đào tạo") is
  named in them;
- enough of its content words occur in them: the share of its word pairs (adjacent syllables,
  abbreviations expanded) found in the passages is at least :data:`THRESHOLD`, calibrated on the
  labelled pairs of ``tests/data/grounding_pairs.jsonl`` by ``benchmarks/grounding.py``.

Words an answer uses to frame what a document says ("theo", "văn bản", "nêu") need no support;
they are listed in ``bot/lexicon/answer_words.tsv``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ingest.agencies import AgencyRegistry, match_words
from ingest.folding import fold_chars
from vectorstore.text import default_lexicon, words

THRESHOLD = 0.44  # least share of a sentence's word pairs its passages must hold (benchmarks/grounding.py)

_YEAR = r"(?:19|20)\d\d"
_NAM = r"n[a-z]m"  # "năm", OCR "nim", "ndm"
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
# Each pattern runs on fold_chars() text; a match's digits are not read again as plain numbers.
_DATES = [
    re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})\s*[/.-]\s*(?P<m>\d{{1,2}})\s*[/.-]\s*(?P<y>{_YEAR})(?!\d)"),
    re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})\s+thang\s+(?P<m>\d{{1,2}})\s*(?:,\s*)?(?:{_NAM}\s+|/\s*)(?P<y>{_YEAR})(?!\d)"),
    re.compile(rf"\bthang\s+(?P<m>\d{{1,2}})\s*(?:/|\s{_NAM}\s)\s*(?P<y>{_YEAR})(?!\d)"),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})\s*/\s*(?P<m>\d{1,2})(?![\d/])"),
    re.compile(r"(?<!\d)(?P<d>\d{1,2})\s+thang\s+(?P<m>\d{1,2})(?!\d)"),
    re.compile(r"\bthang\s+(?P<m>\d{1,2})(?!\d)"),
    re.compile(rf"\bquy\s+(?P<q>iv|iii|ii|i|[1-4])\b(?:\s*(?:/|\s{_NAM}\s)\s*(?P<y>{_YEAR}))?"),
]
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Facts:
    """What a text states that must match exactly: numbers, dates, periods and agencies."""

    numbers: frozenset[str]  # every number written, leading zeros dropped (a date's parts included)
    dates: frozenset[tuple[int, int, int]]  # (day, month, year); year 0 when not written
    months: frozenset[tuple[int, int]]  # (month, year); year 0 when not written
    quarters: frozenset[tuple[int, int]]  # (quarter, year); year 0 when not written
    loose: frozenset[str]  # numbers outside any date, month or quarter
    agencies: frozenset[str]  # agency ids

    @classmethod
    def of(cls, text: str, registry: AgencyRegistry | None = None) -> Facts:
        folded = fold_chars(text)
        dates: set[tuple[int, int, int]] = set()
        months: set[tuple[int, int]] = set()
        quarters: set[tuple[int, int]] = set()
        for pattern in _DATES:
            for m in pattern.finditer(folded):
                groups = m.groupdict()
                year = int(groups["y"]) if groups.get("y") else 0
                if groups.get("q"):
                    quarters.add((_ROMAN[groups["q"]], year))
                elif groups.get("d") and _valid(int(groups["d"]), int(groups["m"])):
                    dates.add((int(groups["d"]), int(groups["m"]), year))
                elif groups.get("d") or not 1 <= int(groups["m"]) <= 12:
                    continue
                else:
                    months.add((int(groups["m"]), year))
                folded = folded[:m.start()] + " " * (m.end() - m.start()) + folded[m.end():]
        numbers = frozenset(_number(n) for n in _NUMBER.findall(fold_chars(text)))
        loose = frozenset(_number(n) for n in _NUMBER.findall(folded))
        registry = registry or AgencyRegistry.default()
        agencies = frozenset(m.agency.id for m in registry.find(text) if m.agency.kind == "agency")
        return cls(numbers, frozenset(dates), frozenset(months), frozenset(quarters), loose, agencies)

    @property
    def years(self) -> frozenset[str]:
        return frozenset(str(y) for *_, y in (*self.dates, *self.months, *self.quarters) if y)

    def unsupported(self, evidence: Facts) -> list[str]:
        """What this text states that ``evidence`` does not."""
        held = evidence.loose | evidence.years  # a day or month of a date is not a count ("02 xã")
        missing = [n for n in sorted(self.loose) if n not in held]
        for d, m, y in sorted(self.dates):
            if not any(d == d2 and m == m2 and _same_year(y, y2, evidence) for d2, m2, y2 in evidence.dates):
                missing.append(f"{d}/{m}" + (f"/{y}" if y else ""))
        held_months = evidence.months | {(m, y) for _, m, y in evidence.dates}
        for m, y in sorted(self.months):
            if not any(m == m2 and _same_year(y, y2, evidence) for m2, y2 in held_months):
                missing.append(f"tháng {m}" + (f"/{y}" if y else ""))
        for q, y in sorted(self.quarters):
            if not any(q == q2 and _same_year(y, y2, evidence) for q2, y2 in evidence.quarters):
                missing.append(f"quý {q}" + (f"/{y}" if y else ""))
        missing.extend(sorted(self.agencies - evidence.agencies))
        return missing


def _valid(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _number(text: str) -> str:
    return text.lstrip("0") or "0"


def _same_year(claimed: int, held: int, evidence: Facts) -> bool:
    """A year the sentence states matches the passage's, or one the passage states elsewhere."""
    return not claimed or claimed == held or (not held and str(claimed) in evidence.numbers)


# -- content words ----------------------------------------------------------------


@lru_cache(maxsize=1)
def answer_words() -> frozenset[str]:
    """Folded words an answer uses to frame what documents say; they need no support."""
    text = resources.files("bot.lexicon").joinpath("answer_words.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t")[0] for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return frozenset(w for row in rows for w in words(row))


def canonical_words(text: str) -> list[str]:
    """Folded words with abbreviations spelled out ("ANTT" -> "an ninh trat tu")."""
    return default_lexicon().spell_out(words(text))


def content_pairs(seq: list[str]) -> set[str]:
    """Adjacent word pairs that carry content: not digits, not two function words, not framing."""
    skip = default_lexicon().function_words | answer_words()
    kept = [w for w in seq if not w.isdigit()]
    return {f"{a}_{b}" for a, b in zip(kept, kept[1:]) if not (a in skip and b in skip)}


def content_words(seq: list[str]) -> set[str]:
    skip = default_lexicon().function_words | answer_words()
    return {w for w in seq if not w.isdigit() and w not in skip}


@dataclass(frozen=True)
class Evidence:
    """What a set of passages offers as support (their text, headings and document labels)."""

    words: frozenset[str]
    pairs: frozenset[str]
    facts: Facts

    @classmethod
    def of(cls, texts: Iterable[str]) -> Evidence:
        text = "\n".join(texts)
        seq = canonical_words(text)
        pairs = {f"{a}_{b}" for a, b in zip(seq, seq[1:])}
        return cls(frozenset(seq), frozenset(pairs), Facts.of(text))

    @classmethod
    def union(cls, items: Sequence[Evidence]) -> Evidence:
        """What several passages offer together (a sentence citing [1][2])."""
        if len(items) == 1:
            return items[0]
        facts = [e.facts for e in items]
        return cls(
            frozenset().union(*(e.words for e in items)),
            frozenset().union(*(e.pairs for e in items)),
            Facts(*(frozenset().union(*(getattr(f, name) for f in facts)) for name in Facts.__dataclass_fields__)),
        )


@dataclass(frozen=True)
class Verdict:
    supported: bool
    overlap: float  # share of the sentence's content pairs the evidence holds
    missing: tuple[str, ...] = ()  # numbers, dates or agencies the evidence does not state


def agency_words(text: str, registry: AgencyRegistry | None = None) -> set[str]:
    """Words of the agencies ``text`` names, as written and in full ("so", "gd", "giao", "duc" …)."""
    registry = registry or AgencyRegistry.default()
    seq = match_words(text)
    found: set[str] = set()
    for m in registry.find(text):
        if m.agency.kind == "agency":
            written = seq[m.start:m.end]
            found.update(written, canonical_words(" ".join(written)), canonical_words(m.agency.name))
    return found


def overlap(sentence: str, evidence: Evidence) -> float:
    """Share of the sentence's content (word pairs; single words when it has no pair) in the evidence.

    The names of the agencies it names do not count: :class:`Facts` checks those, and "Sở Y tế"
    would otherwise lend any short sentence about Sở Y tế the look of support.
    """
    seq = canonical_words(sentence)
    named = agency_words(sentence)
    pairs = {p for p in content_pairs(seq) if not set(p.split("_")) <= named}
    if pairs:
        return sum(p in evidence.pairs for p in pairs) / len(pairs)
    single = content_words(seq) - named
    return sum(w in evidence.words for w in single) / len(single) if single else 0.0


def check(sentence: str, evidence: Evidence, threshold: float = THRESHOLD) -> Verdict:
    """Whether ``evidence`` supports ``sentence`` (its markers already removed)."""
    missing = tuple(Facts.of(sentence).unsupported(evidence.facts))
    share = overlap(sentence, evidence)
    return Verdict(not missing and share >= threshold, share, missing)

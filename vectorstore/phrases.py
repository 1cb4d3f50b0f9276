"""Vocabulary tables (``vectorstore/lexicon/*.tsv``) and the phrase matcher that reads them.

A table row is a phrase written as people write it ("có nhiệm vụ gì", "ai … ký");
it is matched on a question's accent-folded words, or on its words as typed with
diacritics when the row says ``toned``. "…" in a phrase spans a few words.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

GAP = 8  # words a "…" in a phrase may span


def read_table(name: str) -> list[list[str]]:
    """The rows of ``vectorstore/lexicon/NAME`` (comments and blank lines skipped), as columns."""
    text = resources.files("vectorstore.lexicon").joinpath(name).read_text(encoding="utf-8")
    return [
        [cell.strip() for cell in line.split("\t")]
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    ]


@dataclass(frozen=True)
class Phrase:
    head: tuple[str, ...]
    tail: tuple[str, ...] = ()  # after a "…" gap
    value: str = ""
    toned: bool = False  # matched as written with diacritics
    flags: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        return len(self.head) + len(self.tail)


@dataclass(frozen=True)
class Match:
    phrase: Phrase
    start: int  # word offsets
    end: int

    @property
    def value(self) -> str:
        return self.phrase.value


class PhraseTable:
    """Phrases looked up by their first word; the longest match wins."""

    def __init__(self, phrases: Sequence[Phrase], gap: int = GAP) -> None:
        self.gap = gap
        self._by_first: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            if phrase.head:
                self._by_first.setdefault(phrase.head[0], []).append(phrase)
        for options in self._by_first.values():
            options.sort(key=lambda p: -p.size)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_first.values())

    def matches(self, folded: Sequence[str], toned: Sequence[str] | None = None) -> Iterator[Match]:
        """Every phrase found (overlapping), in reading order, longest first at each word."""
        toned = toned if toned is not None else folded
        for i in range(len(folded)):
            for key in {folded[i], toned[i]}:
                for phrase in self._by_first.get(key, ()):
                    end = self._match_at(phrase, toned if phrase.toned else folded, i)
                    if end:
                        yield Match(phrase, i, end)

    def scan(self, folded: Sequence[str], toned: Sequence[str] | None = None) -> list[Match]:
        """Phrases found without overlaps: at each word the longest, then on after it."""
        by_start: dict[int, Match] = {}
        for m in self.matches(folded, toned):
            best = by_start.get(m.start)
            if best is None or m.end > best.end:
                by_start[m.start] = m
        out, i = [], 0
        for start in sorted(by_start):
            if start >= i:
                out.append(by_start[start])
                i = by_start[start].end
        return out

    def _match_at(self, phrase: Phrase, seq: Sequence[str], i: int) -> int:
        if tuple(seq[i:i + len(phrase.head)]) != phrase.head:
            return 0
        start = i + len(phrase.head)
        if not phrase.tail:
            return start
        last = min(len(seq), start + self.gap + len(phrase.tail))
        for j in range(start, last - len(phrase.tail) + 1):
            if tuple(seq[j:j + len(phrase.tail)]) == phrase.tail:
                return j + len(phrase.tail)
        return 0


@dataclass(frozen=True)
class Spellings:
    """One word list matched as written with diacritics ("sở", not "số") when the text has
    them, and on folded words when it was typed without."""

    toned: PhraseTable
    folded: PhraseTable

    def scan(self, folded: Sequence[str], toned: Sequence[str], marked: bool) -> list[Match]:
        return self.toned.scan(folded, toned) if marked else self.folded.scan(folded)

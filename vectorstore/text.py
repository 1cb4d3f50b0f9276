"""Folding and tokenising shared by indexing and querying, and the vocabulary both use.

Both sides go through the same steps, so a query typed without diacritics, with
abbreviations, or in English meets passages written in full Vietnamese (and
the accent-less OCR document):

1. fold: lowercase, accents stripped, ``đ`` -> ``d``, punctuation -> spaces;
2. repair: OCR digits inside words ("v6i" -> "voi"), leading zeros ("06" -> "6"),
   quarters ("quý 1", "Q1" -> "quy i", numerals from ``lexicon/quarters.tsv``);
3. expand: abbreviations ("antt" -> "an ninh trat tu") and, for queries, an
   English -> Vietnamese glossary;
4. terms: syllables plus adjacent syllable pairs.

:class:`Lexicon` holds every vocabulary table of ``vectorstore/lexicon`` and the
agency registry; it is built once (:func:`load_lexicon`) and passed down.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ingest.agencies import AgencyRegistry
from ingest.folding import folded_words, toned
from vectorstore.phrases import Phrase, PhraseTable, Spellings, read_table

_ROMAN = ("i", "ii", "iii", "iv")
_RAW_WORD = re.compile(r"[^\W_]+|%")


@dataclass(frozen=True)
class Token:
    word: str  # folded, repaired
    toned: str  # as typed, diacritics kept (see ingest.folding.toned)
    start: int  # character offsets in the text
    end: int


WORDS_CACHE = 32768  # texts whose words are kept (a passage's text and its context, a task's text)


@lru_cache(maxsize=1)
def _quarters() -> dict[str, int]:
    return {numeral: int(quarter) for numeral, quarter in read_table("quarters.tsv")}


def tokens(text: str) -> list[Token]:
    """The words of ``text``, folded and repaired, with their spelling and place in the text."""
    quarters = _quarters()
    out: list[Token] = []
    for m in _RAW_WORD.finditer(text):
        raw = m.group()
        if raw.lower() in quarters and raw[0] in "qQ":  # "Q1"
            out.append(Token("quy", "quy", m.start(), m.end()))
            raw = str(quarters[raw.lower()])
        parts, spelled = _word_forms(raw)
        for word in parts:
            if out and out[-1].word == "quy" and word in quarters:
                word = _ROMAN[quarters[word] - 1]
            out.append(Token(word, spelled or word, m.start(), m.end()))
    return out


@lru_cache(maxsize=WORDS_CACHE)
def _word_forms(raw: str) -> tuple[tuple[str, ...], str | None]:
    """A raw word's folded, repaired parts and, for a single part, its toned spelling (remembered:
    an archive's words are a few tens of thousands of syllables, seen again and again)."""
    parts = ("phan", "tram") if raw == "%" else tuple(folded_words(raw))
    return parts, toned(raw) if len(parts) == 1 else None


def words(text: str) -> list[str]:
    """Folded, repaired words of ``text``; quarters as "quy i" .. "quy iv"."""
    return list(_words(text))


@lru_cache(maxsize=WORDS_CACHE)
def _words(text: str) -> tuple[str, ...]:
    """The words of :func:`tokens` without their places (four times as fast: no token objects).
    Remembered: a chat weighs the same passages and task texts on every request, and folding them
    again cost most of a chat's time at 10k passages."""
    quarters = _quarters()
    out: list[str] = []
    for raw in _RAW_WORD.findall(unicodedata.normalize("NFC", text)):
        if raw[0] in "qQ" and raw.lower() in quarters:  # "Q1"
            out.append("quy")
            raw = str(quarters[raw.lower()])
        for word in _word_forms(raw)[0]:
            if out and out[-1] == "quy" and word in quarters:
                word = _ROMAN[quarters[word] - 1]
            out.append(word)
    return tuple(out)


def words_once(text: str) -> tuple[str, ...]:
    """:func:`words`, not remembered: for a text read once and kept by its reader (a task's words in
    its table), which would only push the passages' words out of the cache."""
    return _words.__wrapped__(text)


def with_pairs(seq: list[str]) -> list[str]:
    """Syllables plus each adjacent pair ("an", "ninh", "an_ninh")."""
    return seq + [f"{a}_{b}" for a, b in zip(seq, seq[1:])]


def contains_run(haystack: list[str] | tuple[str, ...], needle: list[str] | tuple[str, ...]) -> bool:
    """Whether ``needle`` occurs as consecutive words of ``haystack``."""
    return bool(needle) and f" {' '.join(needle)} " in f" {' '.join(haystack)} "


def names_place(query_words: tuple[str, ...] | list[str], place: str) -> bool:
    """True when the question names a document's place ("… tỉnh Lai Châu …"); two words at least."""
    place_words = words(place)
    return len(place_words) >= 2 and contains_run(list(query_words), place_words)


def _phrases(rows: list[list[str]], column: int = 0, value: int | None = None) -> PhraseTable:
    """A phrase table from rows whose ``column`` holds the phrase; a "toned" cell marks toned rows."""
    phrases = []
    for row in rows:
        text = row[column]
        flags = frozenset(c for c in row[column + 1:] if c)
        is_toned = "toned" in flags
        head, _, tail = text.partition("…")
        spell = (lambda s: [toned(w) for w in re.findall(r"\w+", s)]) if is_toned else words
        phrases.append(Phrase(tuple(spell(head)), tuple(spell(tail)), row[value] if value is not None else text,
                              is_toned, flags))
    return PhraseTable(phrases)


def _spellings(name: str) -> Spellings:
    rows = read_table(name)
    return Spellings(_phrases([[r[0], "toned"] for r in rows]), _phrases([[r[0]] for r in rows]))


@dataclass(frozen=True)
class Lexicon:
    """Every vocabulary table, read once from ``vectorstore/lexicon``, and the agency registry."""

    abbreviations: dict[tuple[str, ...], tuple[str, ...]]
    glossary: tuple[tuple[tuple[str, ...], str], ...]  # (English words, Vietnamese as written), longest first
    registry: AgencyRegistry
    question_words: PhraseTable
    function_words: frozenset[str]
    english: dict[str, frozenset[str]]  # role (stop | hint | only) -> words
    frames: PhraseTable
    intents: PhraseTable  # value: intent name
    periods: PhraseTable  # value: kind
    doc_types: PhraseTable  # value: the type as written
    references: PhraseTable  # value: article | clause | point
    places: Spellings
    org_openers: Spellings
    name_ends: Spellings
    equivalents: dict[str, tuple[str, ...]]
    all_units: PhraseTable
    figure_names: PhraseTable  # "số" before "mấy": a number that names something is asked
    naming: frozenset[str]  # "ngày", "số", "Điều" before a number: it names, not counts (folded)
    which: dict[str, str]  # "nao" -> after, "which" -> before: asks which place of a kind
    measures: dict[str, tuple[str, ...]]  # what a figure counts: "tien" -> "dong" …

    def expand_abbreviations(self, seq: list[str]) -> list[str]:
        """Expansions of the abbreviations found in ``seq`` (each once)."""
        found: list[str] = []
        seen: set[tuple[str, ...]] = set()
        for i in range(len(seq)):
            for length in (3, 2, 1):
                key = tuple(seq[i:i + length])
                if len(key) == length and key in self.abbreviations and key not in seen:
                    seen.add(key)
                    found.extend(self.abbreviations[key])
        return found

    def spell_out(self, seq: list[str]) -> list[str]:
        """``seq`` with each abbreviation replaced by its words ("antt" -> "an ninh trat tu"), longest first."""
        out: list[str] = []
        i = 0
        while i < len(seq):
            for length in (3, 2, 1):
                key = tuple(seq[i:i + length])
                if len(key) == length and key in self.abbreviations:
                    out.extend(self.abbreviations[key])
                    i += length
                    break
            else:
                out.append(seq[i])
                i += 1
        return out

    def translate(self, english_words: list[str]) -> list[str]:
        """Vietnamese terms (folded) for the English words and phrases in ``english_words``."""
        return [w for phrase in self.translate_phrases(english_words) for w in phrase]

    def translate_phrases(self, english_words: list[str]) -> list[list[str]]:
        """The same, one folded Vietnamese phrase per English word or phrase found."""
        return [words(vietnamese) for vietnamese in self._matches(english_words)]

    def translate_spelled(self, english_words: list[str]) -> str:
        """The same translation as the glossary writes it, with diacritics."""
        return " ".join(self._matches(english_words))

    def untranslated(self, english_words: list[str]) -> list[str]:
        """The words of ``english_words`` no glossary phrase translates."""
        return self._walk(english_words)[1]

    def _matches(self, english_words: list[str]) -> list[str]:
        return self._walk(english_words)[0]

    def _walk(self, english_words: list[str]) -> tuple[list[str], list[str]]:
        out: list[str] = []
        left: list[str] = []
        i = 0
        while i < len(english_words):
            for phrase, vietnamese in self.glossary:
                if tuple(english_words[i:i + len(phrase)]) == phrase:
                    out.append(vietnamese)
                    i += len(phrase)
                    break
            else:
                left.append(english_words[i])
                i += 1
        return out, left


def load_lexicon(registry: AgencyRegistry) -> Lexicon:
    """Read the tables of ``vectorstore/lexicon``; ``registry`` names the agencies."""
    abbreviations = {tuple(words(r[0])): tuple(words(r[1])) for r in read_table("abbreviations.tsv")}
    glossary = sorted(
        ((tuple(re.findall(r"[a-z0-9'-]+", r[0].lower())), r[1]) for r in read_table("glossary_en.tsv")),
        key=lambda row: -len(row[0]),
    )
    english: dict[str, set[str]] = {}
    for word, role in read_table("english.tsv"):
        english.setdefault(role, set()).add(word)
    return Lexicon(
        abbreviations=abbreviations,
        glossary=tuple(glossary),
        registry=registry,
        question_words=_phrases(read_table("question_words.tsv")),
        function_words=frozenset(w for (w,) in read_table("function_words.tsv")),
        english={role: frozenset(ws) for role, ws in english.items()},
        frames=_phrases(read_table("frames.tsv")),
        intents=_phrases(read_table("intents.tsv"), column=1, value=0),
        periods=_phrases(read_table("periods.tsv"), value=1),
        doc_types=_phrases(read_table("doc_types.tsv"), value=0),  # flag "titled"
        references=_phrases(read_table("references.tsv"), value=1),
        places=_spellings("places.tsv"),
        org_openers=_spellings("org_openers.tsv"),
        name_ends=_spellings("name_ends.tsv"),
        equivalents={row[0]: tuple(row[1].split()) for row in read_table("equivalents.tsv")},
        all_units=_phrases(read_table("all_units.tsv")),
        figure_names=_phrases([r for r in read_table("figures.tsv") if r[1] == "asks"]),
        naming=frozenset(" ".join(words(r[0])) for r in read_table("figures.tsv") if r[1] == "names"),
        which={word: side for word, side in read_table("which.tsv")},
        measures={row[0]: tuple(row[1].split()) for row in read_table("measures.tsv")},
    )


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon with the default agency registry (``ingest/data/agencies.tsv``)."""
    return load_lexicon(AgencyRegistry.default())


def passage_terms(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """Index terms of a passage: its words, pairs, and abbreviation expansions."""
    lexicon = lexicon or default_lexicon()
    seq = words(text)
    return with_pairs(seq) + with_pairs(lexicon.expand_abbreviations(seq))

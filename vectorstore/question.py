"""The one reading of a question, made once per request and handed to every part.

:func:`read_question` turns the text into a :class:`Question`: its search terms,
language, what it asks for (intents), the agencies, places, documents, articles
and period it names, and the words typed with diacritics. Every rule comes from
the vocabulary tables of ``vectorstore/lexicon`` (see :class:`vectorstore.text.Lexicon`);
adding a phrasing means adding a row there and a row to ``tests/data/questions_readings.tsv``.
The retriever, the answerers and the judge read the :class:`Question`; none of
them reads the text again.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from ingest.folding import has_marks
from vectorstore.language import looks_english, vietnamese_runs
from vectorstore.mentions import (
    AgencyMention,
    ArticleRef,
    DocRef,
    Period,
    Place,
    read_agencies,
    read_articles,
    read_documents,
    read_period,
    read_places,
)
from vectorstore.text import Lexicon, Token, tokens, with_pairs, words

__all__ = ["AgencyMention", "ArticleRef", "DocRef", "Period", "Place", "Question", "read_question"]


@dataclass(frozen=True)
class Question:
    text: str  # as asked (a follow-up already made standalone)
    language: str  # vi | en
    words: tuple[str, ...]  # folded words incl. expansions and translations
    terms: tuple[str, ...]  # lexical search terms (words + pairs)
    content: frozenset[str]  # words that carry meaning (no question or function words)
    dense_text: str  # what the dense retriever embeds
    translated: tuple[str, ...] = ()  # Vietnamese words for an English question
    untranslated: tuple[str, ...] = ()  # its content words the glossary does not know ("ministry"):
    # no Vietnamese passage holds them, so they count against it (names typed plainly, "Lao Cai", do)
    spelled: str = ""  # that translation with its diacritics ("phạt", not "phat")
    intents: frozenset[str] = frozenset()  # when | how_many | who | signer | duty | where
    dated: bool = False  # it asks for a day ("ngày nào", a deadline), not only a period
    names: tuple[tuple[str, ...], ...] = ()  # runs of capitalised words no agency accounts for
    # ("Đà Nẵng", "Lao Cai"), folded: a passage must hold each
    numbers: tuple[str, ...] = ()  # the numbers it states ("95" in "95%", "138"): a passage must hold them
    which_place: tuple[str, ...] = ()  # "xã nào", "which province": a place of that kind is asked (folded)
    measure: tuple[str, ...] = ()  # what a how-many question counts: the word after "bao nhiêu" ("vụ")
    identifier: bool = False  # it asks for a number that names something ("kế hoạch số mấy?")
    cues: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)  # intent -> cue words
    agencies: tuple[AgencyMention, ...] = ()
    places: tuple[Place, ...] = ()
    documents: tuple[DocRef, ...] = ()
    articles: tuple[ArticleRef, ...] = ()
    period: Period | None = None
    forms: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)  # folded -> toned spellings
    remainder: tuple[tuple[str, int], ...] = ()  # content words besides the asking: (folded, char offset)
    marked: bool = True  # typed with diacritics (some word has them)
    references: frozenset[str] = frozenset()  # folded words naming an article ("dieu", "12", "khoan", "2")
    pairs: tuple[tuple[str, str], ...] = ()  # adjacent pairs of those words ("ho_chieu") and the id of
    # the known agency whose name they are part of ("" for none); function words left out

    @property
    def english(self) -> bool:
        return self.language == "en"

    @property
    def content_terms(self) -> frozenset[str]:
        """Terms a passage must hold to answer: the question's own, or its translation."""
        if self.english:
            found = (t for t in with_pairs(list(self.translated)) if "_" in t or t in self.content)
        else:
            found = iter(self.terms)
        # the article a question names is checked apart (the judge's names_held), not as words to hold
        return frozenset(t for t in found if self.references.isdisjoint(t.split("_")))

    @property
    def named(self) -> dict[str, frozenset[str]]:
        """The agencies (not unit types) of the registry the question names: id -> the words naming it."""
        return {a.id: a.words for a in self.agencies if a.known and a.kind == "agency"}

    def rest(self, excluding: AgencyMention | None = None) -> list[str]:
        """The question's content words besides the asking (and besides one agency's name)."""
        return [w for w, at in self.remainder if excluding is None or not excluding.start <= at < excluding.end]


def read_question(text: str, lexicon: Lexicon) -> Question:
    """Read ``text`` once: everything the retriever and the answerers need to know of it."""
    text = unicodedata.normalize("NFC", text).strip()
    toks = tokens(text)
    folded, spelled_words = [t.word for t in toks], [t.toned for t in toks]
    marked = any(has_marks(text[t.start:t.end]) for t in toks)
    english = looks_english(text, lexicon)
    asking = _asking(folded, spelled_words, lexicon, english)
    parts = _segments(folded, asking)
    seq = [w for part in parts for w in part]
    ends = asking | {m.start for m in lexicon.name_ends.scan(folded, spelled_words, marked)}
    agencies = read_agencies(text, toks, lexicon, ends, marked)
    expansions = [w for a in agencies if a.known and (english or a.kind == "agency") for w in words(a.name)]
    extra = lexicon.expand_abbreviations(seq) + expansions
    translated: list[str] = []
    untranslated: list[str] = []
    spelled = ""
    intents, cues, asked = _intents(folded, spelled_words, [], lexicon)
    if english:  # the words that ask ("when", "how many") are not searched for
        said = {t.start for i, t in enumerate(toks) if i not in asking | asked}
        english_words = [m.group(0) for m in re.finditer(r"[\w'-]+", text.lower())
                         if m.group(0).isascii() and any(m.start() <= at < m.end() for at in said)]
        vietnamese = vietnamese_runs(text, lexicon)
        numbers = [w for w in folded if w.isdigit()]
        translated = lexicon.translate(english_words) + expansions + words(vietnamese) + numbers
        untranslated = _untranslated(english_words, vietnamese, agencies, lexicon)
        spelled = f"{lexicon.translate_spelled(english_words)} {vietnamese}".strip()
    stop = lexicon.function_words
    terms = [t for part in parts for t in with_pairs(part)] + with_pairs(extra) + with_pairs(translated)
    if english:
        intents, cues, asked = _intents(folded, spelled_words, translated, lexicon)
    period, period_spans = read_period(toks, lexicon)
    return Question(
        text=text,
        language="en" if english else "vi",
        words=tuple(seq + extra + translated),
        terms=tuple(t for t in terms if t not in stop),
        content=frozenset(w for w in (translated if english else seq + extra) if w not in stop),
        dense_text=text if not translated else f"{text} ({' '.join(translated)})",
        translated=tuple(translated),
        untranslated=tuple(untranslated),
        spelled=spelled,
        intents=intents,
        names=_names(text, toks, agencies, lexicon, marked),
        numbers=tuple(dict.fromkeys(w for w in folded if w.isdigit())),
        which_place=_which_place(folded, spelled_words, lexicon, marked),
        dated=any("date" in m.phrase.flags for m in lexicon.intents.scan(folded, spelled_words)),
        cues=cues,
        **({} if english else _figure(folded, spelled_words, lexicon)),
        agencies=tuple(agencies),
        places=tuple(read_places(text, toks, lexicon, marked)),
        documents=tuple(read_documents(text, toks, lexicon, ends)),
        articles=tuple(read_articles(toks, lexicon)),
        period=period,
        forms=_forms(text, toks, spelled),
        marked=marked,
        references=_reference_words(folded, lexicon),
        **_remainder(toks, asking | asked | period_spans, agencies, lexicon, english),
    )


def _remainder(
    toks: list[Token], asking: set[int], agencies: list[AgencyMention], lexicon: Lexicon, english: bool
) -> dict[str, tuple]:
    """Content words besides the asking, with their offsets, and their adjacent pairs; an English
    question's translated (a run of words at a time, an agency's name apart)."""
    stop = lexicon.function_words
    runs: list[list[Token]] = [[]]
    inside = None
    for i, t in enumerate(toks):
        agency = next((a for a in agencies if a.start <= t.start < a.end), None)
        if i in asking or t.word in stop or t.word.isdigit() or agency is not inside:
            runs.append([])
        inside = agency
        if i not in asking and t.word not in stop and not t.word.isdigit():
            runs[-1].append(t)
    found: list[tuple[str, int]] = []
    pairs: list[tuple[str, str]] = []
    for run in filter(None, runs):
        phrases = (lexicon.translate_phrases([t.word for t in run]) if english else [[t.word for t in run]])
        found.extend((w, run[0].start if english else run[i].start) for phrase in phrases
                     for i, w in enumerate(phrase))
        named = next((a.id for a in agencies if a.known and a.start <= run[0].start < a.end), "")
        pairs.extend((f"{a}_{b}", named) for phrase in phrases for a, b in zip(phrase, phrase[1:])
                     if a not in stop and b not in stop)
    return {"remainder": tuple((w, at) for w, at in found if w not in stop), "pairs": tuple(dict.fromkeys(pairs))}


def _reference_words(folded: list[str], lexicon: Lexicon) -> frozenset[str]:
    """The words of the article references ("khoản 2 Điều 5" -> khoan, 2, dieu, 5)."""
    found: set[str] = set()
    for m in lexicon.references.scan(folded):
        if m.value != "join" and m.end < len(folded):
            found.update(folded[m.start:m.end + 1])
    return frozenset(found)


def _asking(folded: list[str], spelled: list[str], lexicon: Lexicon, english: bool) -> set[int]:
    """Word offsets of the question frames and question words (and English function words)."""
    found = {i for table in (lexicon.frames, lexicon.question_words)
             for m in table.scan(folded, spelled) if "end" not in m.phrase.flags or m.end == len(folded)
             for i in range(m.start, m.end)}
    if english:
        found |= {i for i, w in enumerate(folded) if w in lexicon.english["stop"]}
    return found


def _segments(folded: list[str], asking: set[int]) -> list[list[str]]:
    """The runs of words between the asking words."""
    parts: list[list[str]] = [[]]
    for i, word in enumerate(folded):
        if i in asking:
            parts.append([])
        else:
            parts[-1].append(word)
    return [p for p in parts if p]


def _intents(
    folded: list[str], spelled: list[str], translated: list[str], lexicon: Lexicon
) -> tuple[frozenset[str], dict[str, frozenset[str]], set[int]]:
    """Intents asked, the cue words of each, and the word offsets of the asking phrases."""
    matches = [(m, True) for m in lexicon.intents.matches(folded, spelled)]
    matches += [(m, False) for m in lexicon.intents.matches(translated)]
    cues: dict[str, set[str]] = {}
    for m, _ in matches:
        if "cue" in m.phrase.flags:
            cues.setdefault(m.value, set()).update(m.phrase.head + m.phrase.tail)
    asked = {i for m, own in matches if own
             for i in [*range(m.start, m.start + len(m.phrase.head)), *range(m.end - len(m.phrase.tail), m.end)]}
    return frozenset(m.value for m, _ in matches), {k: frozenset(v) for k, v in cues.items()}, asked


def _untranslated(english_words: list[str], vietnamese: str, agencies: list[AgencyMention],
                  lexicon: Lexicon) -> list[str]:
    """Content words of an English question that neither the glossary, the agency registry nor
    its Vietnamese words account for (folded, each once)."""
    known = set(words(vietnamese)) | {w for a in agencies for w in a.words} | lexicon.english["stop"]
    left = lexicon.untranslated(english_words)
    found = [w for word in left if not any(lexicon.translate([s]) for s in _stems(word)) for w in words(word)]
    return list(dict.fromkeys(w for w in found if w not in known and not w.isdigit() and len(w) > 1))


def _names(text: str, toks: list[Token], agencies: list[AgencyMention], lexicon: Lexicon,
           marked: bool) -> tuple[tuple[str, ...], ...]:
    """Runs of two or more capitalised words (not abbreviations) outside the agencies named; the
    word opening a place or naming a document type ("Huyện", "Luật") is not part of a name."""
    folded = [t.word for t in toks]
    openers = {i for m in [*lexicon.places.scan(folded, [t.toned for t in toks], marked),
                           *lexicon.doc_types.scan(folded)] for i in range(m.start, m.end)}
    runs: list[list[Token]] = [[]]
    for i, t in enumerate(toks):
        raw = text[t.start:t.end]
        named = raw[0].isupper() and not raw.isupper() and raw.isalpha() and i not in openers
        inside = any(a.start <= t.start < a.end for a in agencies)
        joined = runs[-1] and not text[runs[-1][-1].end:t.start].strip()
        if not named or inside or not joined:
            runs.append([])
        if named and not inside:
            runs[-1].append(t)
    return tuple(dict.fromkeys(tuple(t.word for t in run) for run in runs if len(run) >= 2))


def _which_place(folded: list[str], spelled: list[str], lexicon: Lexicon, marked: bool) -> tuple[str, ...]:
    """The kind of place asked for: "xã" in "tại xã nào", "province" in "which province"."""
    for m in lexicon.places.scan(folded, spelled, marked):
        after = folded[m.end] if m.end < len(folded) else ""
        before = folded[m.start - 1] if m.start else ""
        if lexicon.which.get(after) == "after" or lexicon.which.get(before) == "before":
            return tuple(folded[m.start:m.end])
    return ()


def _stems(word: str) -> list[str]:
    """An English word and what it may be inflected from ("reported", "registers", "province's")."""
    out = [word]
    for suffix in ("'s", "s", "es", "ed", "d", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out += [word[: -len(suffix)], word[: -len(suffix)] + "e"]
    return out


def _figure(folded: list[str], spelled: list[str], lexicon: Lexicon) -> dict:
    """What a how-many question counts (the word after "bao nhiêu", "mấy": "vụ", "tiền", "phần
    trăm") and whether it asks for a number that names something ("số mấy")."""
    for m in lexicon.intents.matches(folded, spelled):
        if m.value != "how_many" or "cue" in m.phrase.flags:
            continue
        after = folded[m.end] if m.end < len(folded) else ""
        named = any(n.end == m.start for n in lexicon.figure_names.matches(folded))
        unit = after and not after.isdigit() and after not in lexicon.function_words and not named
        return {"measure": (after,) if unit else (), "identifier": named}
    return {}


def _forms(text: str, toks: list[Token], spelled: str) -> dict[str, frozenset[str]]:
    """The question's words typed with diacritics (or translated into words that have them):
    folded word -> its toned spellings."""
    forms: dict[str, set[str]] = {}
    for source, found in ((text, toks), (spelled, tokens(spelled))):
        for t in found:
            if has_marks(source[t.start:t.end]) and t.toned != t.word:
                forms.setdefault(t.word, set()).add(t.toned)
    return {key: frozenset(spellings) for key, spellings in forms.items()}

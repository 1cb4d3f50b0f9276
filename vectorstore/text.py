"""Folding and tokenising shared by indexing and querying.

Both sides go through the same steps, so a query typed without diacritics, with
abbreviations, or in English meets passages written in full Vietnamese (and
the accent-less OCR document):

1. fold: lowercase, accents stripped, ``đ`` -> ``d``, punctuation -> spaces;
2. repair: OCR digits inside words ("v6i" -> "voi"), leading zeros ("06" -> "6"),
   quarters ("quý 1", "Q1" -> "quy i");
3. expand: abbreviations ("antt" -> "an ninh trat tu") and, for queries, an
   English -> Vietnamese glossary;
4. terms: syllables plus adjacent syllable pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ingest.agencies import AgencyRegistry
from ingest.folding import folded_words

_ROMAN_QUARTERS = {"1": "i", "2": "ii", "3": "iii", "4": "iv"}

# Words that ask rather than say; they carry no content to match.
QUESTION_WORDS = frozenset("gi nao ai sao vay".split())
# "đâu" (where) asks; folded it would be "đầu" (head, first), which documents say often.
_WHERE = re.compile(r"(?:\b(?:ở|từ|về|tới|đến)\s+)?\bđâu\b", re.IGNORECASE)
ENGLISH_STOPWORDS = frozenset(
    "what which who whom when where why how is are was were be the a an of to do does did in on at for "
    "and or by with must should can could will would has have had it its this that these those my our "
    "your their please tell me us about".split()
)
# Frequent function words of directive Vietnamese: weak evidence on their own
# (they still count inside word pairs: "co quan", "cac xa").
FUNCTION_WORDS = frozenset(
    "va cac cua co trong cho voi la duoc nhung mot ve tai theo tu den phai lam can cung "
    "nay do khi thi de hoac ra vao tren sau".split()
)


def words(text: str) -> list[str]:
    """Folded, repaired words of ``text``; quarters as "quy i" .. "quy iv"."""
    out: list[str] = []
    for word in folded_words(text):
        if re.fullmatch(r"q[1-4]", word):
            out.extend(["quy", _ROMAN_QUARTERS[word[1]]])
        elif out and out[-1] == "quy" and word in _ROMAN_QUARTERS:
            out.append(_ROMAN_QUARTERS[word])
        else:
            out.append(word)
    return out


# Question frames: they say what kind of answer is wanted, not what it is about.
FRAMES = re.compile(
    r"\b(?:(?:co )?(?:trach nhiem|nhiem vu|vai tro) (?:gi|nao)|(?:chiu|co) trach nhiem|phu trach|do ai"
    r"|(?:phai |can |se |duoc )?lam (?:nhung )?gi|(?:nhung )?viec gi|(?:ngay|thang|nam|quy) nao"
    r"|(?:gom |la )?nhung gi|la gi|nhu the nao|the nao|bao nhieu|(?:hay )?cho biet|xin hoi|khi nao|bao gio)\b"
)


def segments(folded_words: list[str], english: bool = False) -> list[list[str]]:
    """Split a query's words at question frames and question words."""
    text = " ".join(folded_words)
    stop = QUESTION_WORDS | ENGLISH_STOPWORDS if english else QUESTION_WORDS
    parts = []
    for piece in FRAMES.split(text):
        current: list[str] = []
        for word in piece.split():
            if word in stop:
                if current:
                    parts.append(current)
                current = []
            else:
                current.append(word)
        if current:
            parts.append(current)
    return parts


def with_pairs(seq: list[str]) -> list[str]:
    """Syllables plus each adjacent pair ("an", "ninh", "an_ninh")."""
    return seq + [f"{a}_{b}" for a, b in zip(seq, seq[1:])]


@dataclass(frozen=True)
class Lexicon:
    """Abbreviations and the English glossary, read from ``vectorstore/lexicon``."""

    abbreviations: dict[tuple[str, ...], tuple[str, ...]]
    glossary: tuple[tuple[tuple[str, ...], str], ...]  # (English words, Vietnamese as written), longest first

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

    def translate(self, english_words: list[str]) -> list[str]:
        """Vietnamese terms (folded) for the English words and phrases in ``english_words``."""
        return [w for vietnamese in self._matches(english_words) for w in words(vietnamese)]

    def translate_spelled(self, english_words: list[str]) -> str:
        """The same translation as the glossary writes it, with diacritics."""
        return " ".join(self._matches(english_words))

    def _matches(self, english_words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(english_words):
            for phrase, vietnamese in self.glossary:
                if tuple(english_words[i:i + len(phrase)]) == phrase:
                    out.append(vietnamese)
                    i += len(phrase)
                    break
            else:
                i += 1
        return out


def _read_table(name: str) -> list[tuple[str, str]]:
    text = resources.files("vectorstore.lexicon").joinpath(name).read_text(encoding="utf-8")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("\t")
            rows.append((key.strip(), value.strip()))
    return rows


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    abbreviations = {tuple(words(k)): tuple(words(v)) for k, v in _read_table("abbreviations.tsv")}
    glossary = sorted(
        ((tuple(re.findall(r"[a-z0-9'-]+", k.lower())), v) for k, v in _read_table("glossary_en.tsv")),
        key=lambda row: -len(row[0]),
    )
    return Lexicon(abbreviations, tuple(glossary))


def passage_terms(text: str, lexicon: Lexicon | None = None) -> list[str]:
    """Index terms of a passage: its words, pairs, and abbreviation expansions."""
    lexicon = lexicon or default_lexicon()
    seq = words(text)
    return with_pairs(seq) + with_pairs(lexicon.expand_abbreviations(seq))


_ENGLISH_HINTS = frozenset(
    "what which who when where why how the is are must does do should school police department "
    "report deadline register plan tasks task".split()
)
_VIETNAMESE_MARKS = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)


# English words no Vietnamese question uses: two of them make a question with Vietnamese names
# in it ("what is Sở Y tế assigned") an English one.
_ENGLISH_ONLY = (_ENGLISH_HINTS | frozenset("of for with was were did has have assigned responsible".split())) - {"do"}
_SYLLABLE = re.compile(
    r"(?:ngh|ch|gh|gi|kh|ng|nh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)


def looks_english(text: str) -> bool:
    if _VIETNAMESE_MARKS.search(text):
        return sum(t in _ENGLISH_ONLY for t in re.findall(r"\w+", text.lower())) >= 2
    tokens = re.findall(r"[a-z']+", text.lower())
    return sum(t in _ENGLISH_HINTS for t in tokens) >= 1 and len(tokens) >= 2


def vietnamese_runs(text: str) -> str:
    """The Vietnamese words of a mixed question: words with diacritics, and the plain
    Vietnamese syllables next to them ("Y" in "what is Sở Y tế assigned")."""
    tokens = re.findall(r"\w+", text)
    keep = [not t.isascii() for t in tokens]

    def plain_syllable(t: str) -> bool:
        low = t.lower()
        return bool(_SYLLABLE.fullmatch(low)) and low not in ENGLISH_STOPWORDS and low not in _ENGLISH_ONLY

    changed = True
    while changed:
        changed = False
        for i, t in enumerate(tokens):
            near = (i > 0 and keep[i - 1]) or (i + 1 < len(tokens) and keep[i + 1])
            if not keep[i] and near and plain_syllable(t):
                keep[i] = changed = True
    return " ".join(t for t, k in zip(tokens, keep) if k)


@dataclass(frozen=True)
class QueryTerms:
    text: str  # the question as asked
    words: tuple[str, ...]  # folded words incl. expansions and translations
    terms: tuple[str, ...]  # lexical search terms (words + pairs)
    content: frozenset[str]  # words that carry meaning (no question or function words)
    english: bool
    dense_text: str  # what the dense retriever embeds
    translated: tuple[str, ...] = ()  # Vietnamese words for an English question
    spelled: str = ""  # that translation with its diacritics ("phạt", not "phat")

    @property
    def content_terms(self) -> frozenset[str]:
        """Terms a passage must hold to answer: the question's own, or its translation."""
        if self.english:
            return frozenset(t for t in with_pairs(list(self.translated)) if t not in FUNCTION_WORDS)
        return frozenset(self.terms)


def analyse_query(text: str, lexicon: Lexicon | None = None) -> QueryTerms:
    lexicon = lexicon or default_lexicon()
    english = looks_english(text)
    parts = segments(words(_WHERE.sub(" | ", text)), english)
    seq = [w for part in parts for w in part]
    agencies = AgencyRegistry.default().alias_expansions(text, units=english)  # "Sở GD&ĐT", "Department of …"
    extra = lexicon.expand_abbreviations(seq) + agencies
    translated: list[str] = []
    spelled = ""
    if english:
        english_words = [w for w in re.findall(r"[\w'-]+", text.lower()) if w.isascii()]
        vietnamese = vietnamese_runs(text)  # names left in Vietnamese inside an English question
        translated = lexicon.translate(english_words) + agencies + words(vietnamese)
        spelled = f"{lexicon.translate_spelled(english_words)} {vietnamese}".strip()
    terms = [t for part in parts for t in with_pairs(part)] + with_pairs(extra) + with_pairs(translated)
    terms = [t for t in terms if t not in FUNCTION_WORDS]
    all_words = tuple(seq + extra + translated)
    base = translated if english else seq + extra
    content = frozenset(w for w in base if w not in QUESTION_WORDS and w not in FUNCTION_WORDS)
    dense_text = text if not translated else f"{text} ({' '.join(translated)})"
    return QueryTerms(text, all_words, tuple(terms), content, english, dense_text, tuple(translated), spelled)



def names_place(query_words: tuple[str, ...] | list[str], place: str) -> bool:
    """True when the question names a document's place ("… tỉnh Lai Châu …"); two words at least."""
    place_words = words(place)
    return len(place_words) >= 2 and f" {' '.join(place_words)} " in f" {' '.join(query_words)} "

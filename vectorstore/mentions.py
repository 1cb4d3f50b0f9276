"""What a question names: agencies, places, documents, articles and a period.

Each reader takes the question's tokens (``vectorstore.text.tokens``) and the
lexicon's tables; names are the capitalised words after an opening word ("tỉnh
Lào Cai", "Sở Ngoại vụ", "Luật Cư trú"). :func:`vectorstore.question.read_question`
is the one caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vectorstore.text import Lexicon, Token, words

_STOPS = frozenset(",;:?!.()[]\"“”'")
_NUMBER = re.compile(r"(?<![\w/])\d+(?:[/-][\wĐđ]+)+")  # the shape of a số hiệu: 59/2020/QH14, 07-CT/TU
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}


@dataclass(frozen=True)
class AgencyMention:
    id: str
    name: str  # canonical name (registry) or as written (an agency the registry does not know)
    kind: str  # agency | unit
    words: frozenset[str]  # folded words naming it, as asked and canonical
    start: int  # character offsets in the question
    end: int
    known: bool = True  # in the agency registry
    run: tuple[str, ...] = ()  # folded words as asked


@dataclass(frozen=True)
class Place:
    name: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class DocRef:
    text: str  # as written: "Nghị định 145", "59/2020/QH14", "Luật Cư trú"
    doc_type: str = ""
    number: str = ""
    title: str = ""

    def runs(self) -> list[tuple[str, ...]]:
        """Word runs one of which a passage naming this document holds."""
        kind = tuple(words(self.doc_type))
        if self.title:
            return [kind + tuple(words(self.title))]
        number = tuple(words(self.number))
        if "/" in self.number or "-" in self.number:
            return [number]
        return [kind + number, kind + ("so",) + number]


@dataclass(frozen=True)
class ArticleRef:
    text: str
    article: str
    clause: str = ""
    point: str = ""


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter | half | year | yearly
    months: frozenset[int]
    year: int | None = None


def _capitalised(text: str, t: Token) -> bool:
    return text[t.start].isupper()


def _joined(text: str, a: Token, b: Token) -> bool:
    return not any(ch in _STOPS for ch in text[a.end:b.start])


def name_end(text: str, toks: list[Token], i: int, ends: set[int], strict: bool = False,
             title: bool = False) -> int:
    """End of the capitalised name starting at ``toks[i]`` (``i`` when there is none).

    A capitalised word may be followed by one lowercase syllable ("Ngoại vụ"); "và"
    joins two capitalised words; a name-end word ("có", "quy định") or punctuation
    ends it. ``strict``: every word capitalised (place names). ``title``: a document's
    title, which goes on in lowercase words and over commas ("Phòng, chống ma túy")."""
    if i >= len(toks) or not _capitalised(text, toks[i]) or toks[i].word.isdigit():
        return i
    j, after_capital = i + 1, True
    while j < len(toks) and j - i < 8 and j not in ends and (
            _joined(text, toks[j - 1], toks[j]) or title and text[toks[j - 1].end:toks[j].start].strip() == ","):
        if title or _capitalised(text, toks[j]) and not toks[j].word.isdigit():
            after_capital = True
        elif not strict and after_capital and not toks[j].word.isdigit():
            after_capital = False
        elif toks[j].word == "va" and j + 1 < len(toks) and _capitalised(text, toks[j + 1]):
            after_capital = False
        else:
            break
        j += 1
    return j


def _span(text: str, toks: list[Token], start: int, end: int) -> str:
    return text[toks[start].start:toks[end - 1].end]


def read_agencies(text: str, toks: list[Token], lexicon: Lexicon, ends: set[int], marked: bool) -> list[AgencyMention]:
    """Agencies of the registry, and organisations it does not know ("Sở Ngoại vụ")."""
    folded = [t.word for t in toks]
    out, taken = [], set()
    for m in lexicon.registry.find_words(folded):
        a = m.agency
        out.append(AgencyMention(a.id, a.name, a.kind, frozenset(folded[m.start:m.end]) | frozenset(words(a.name)),
                                 toks[m.start].start, toks[m.end - 1].end, True, tuple(folded[m.start:m.end])))
        taken.update(range(m.start, m.end))
    for m in lexicon.org_openers.scan(folded, [t.toned for t in toks], marked):
        if m.start in taken or not _capitalised(text, toks[m.start]):
            continue
        end = name_end(text, toks, m.end, ends)
        if end > m.end and taken.isdisjoint(range(m.start, end)):
            name = _span(text, toks, m.start, end)
            run = tuple(folded[m.start:end])
            out.append(AgencyMention(lexicon.registry.ad_hoc(name).id, name, "agency", frozenset(run),
                                     toks[m.start].start, toks[end - 1].end, False, run))
    return sorted(out, key=lambda a: a.start)


def read_places(text: str, toks: list[Token], lexicon: Lexicon, marked: bool) -> list[Place]:
    """Places after "tỉnh", "huyện", "thành phố" …: "Lào Cai", "Trạm Tấu"."""
    folded = [t.word for t in toks]
    out = []
    for m in lexicon.places.scan(folded, [t.toned for t in toks], marked):
        end = name_end(text, toks, m.end, set(), strict=True)
        if end > m.end:
            out.append(Place(_span(text, toks, m.end, end), tuple(folded[m.end:end])))
    return out


def read_documents(text: str, toks: list[Token], lexicon: Lexicon, ends: set[int]) -> list[DocRef]:
    """Documents named by số hiệu ("195/KH-UBND"), type and number ("Nghị định 145") or
    type and title ("Luật Cư trú")."""
    numbers = {m.start(): m.group(0).rstrip("-/.") for m in _NUMBER.finditer(text)
               if re.search(r"[^\W\d_]", m.group(0))}
    folded = [t.word for t in toks]
    out, used = [], set()
    for m in lexicon.doc_types.scan(folded):
        i = m.end + (1 if m.end < len(toks) and folded[m.end] == "so" else 0)
        if i >= len(toks) or not _joined(text, toks[m.end - 1], toks[i]):
            continue
        kind = _span(text, toks, m.start, m.end)
        if toks[i].word.isdigit():
            number = numbers.get(toks[i].start, text[toks[i].start:toks[i].end])
            used.add(toks[i].start)
            out.append(DocRef(f"{kind} {number}", kind, number))
        elif "titled" in m.phrase.flags and (end := name_end(text, toks, i, ends, title=True)) > i:
            out.append(DocRef(_span(text, toks, m.start, end), kind, title=_span(text, toks, i, end)))
    out.extend(DocRef(number, number=number) for start, number in numbers.items() if start not in used)
    return out


def read_articles(toks: list[Token], lexicon: Lexicon) -> list[ArticleRef]:
    """"Điều 33", "khoản 2 Điều 5", "điểm a khoản 1 Điều 12"."""
    folded = [t.word for t in toks]
    refs, parts, last = [], {}, -1
    found = list(lexicon.references.scan(folded))
    joins = {i for m in found if m.value == "join" for i in range(m.start, m.end)}
    for m in found:
        if m.end >= len(toks) or m.value == "join":
            continue
        while last in joins:  # "clause 2 of Article 5", "khoản 2 của Điều 5"
            last += 1
        value = folded[m.end]
        ok = value.isalpha() and len(value) == 1 if m.value == "point" else value.isdigit()
        if not ok:
            continue
        if m.value in parts or (parts and m.start != last):
            refs.append(parts)
            parts = {}
        parts[m.value] = value
        last = m.end + 1
    refs.append(parts)
    return [ArticleRef(" ".join(f"{k} {v}" for k, v in p.items()), p["article"], p.get("clause", ""),
                       p.get("point", "")) for p in refs if "article" in p]


def _year(folded: list[str], i: int) -> tuple[int | None, int]:
    """A year at ``folded[i]`` ("2026", "năm 2026"), and the offset after it."""
    j = i + 1 if i < len(folded) and folded[i] == "nam" else i
    if j < len(folded) and folded[j].isdigit() and len(folded[j]) == 4 and folded[j][:2] in ("19", "20"):
        return int(folded[j]), j + 1
    return None, i


def read_period(toks: list[Token], lexicon: Lexicon) -> tuple[Period | None, set[int]]:
    """The time asked about (a month, a quarter, a half-year, a year, or every year), and the
    word offsets that say it."""
    folded = [t.word for t in toks]
    found: dict[str, Period] = {}
    spans: set[int] = set()
    for m in lexicon.periods.scan(folded):
        nxt = folded[m.end] if m.end < len(folded) else ""
        end = m.end
        if m.value == "month" and nxt.isdigit() and 1 <= int(nxt) <= 12:
            year, end = _year(folded, m.end + 1)
            found.setdefault("month", Period("month", frozenset({int(nxt)}), year))
            end = max(end, m.end + 1)
        elif m.value == "quarter" and nxt in _ROMAN:
            first = 3 * (_ROMAN[nxt] - 1) + 1
            year, end = _year(folded, m.end + 1)
            found.setdefault("quarter", Period("quarter", frozenset({first, first + 1, first + 2}), year))
            end = max(end, m.end + 1)
        elif m.value == "year" and (read := _year(folded, m.end))[0]:
            found.setdefault("year", Period("year", frozenset(range(1, 13)), read[0]))
            end = read[1]
        elif m.value in ("half", "yearly"):
            found.setdefault(m.value, Period(m.value, frozenset()))
        else:
            continue
        spans.update(range(m.start, end))
    order = ("month", "quarter", "half", "year", "yearly")
    return next((found[k] for k in order if k in found), None), spans


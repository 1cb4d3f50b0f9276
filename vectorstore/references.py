"""The documents and articles a question names, matched against the registry.

A question names a document by its số hiệu ("195/KH-UBND"), by type and number
("Kế hoạch 195"), or, for the types cited by title, by type and title ("Luật Cư trú",
"luat cu tru", "the Residence Law" once translated). Everything is compared on folded
words, so a question typed without diacritics names the same documents. A locality
("huyện Trạm Tấu") is weaker evidence: it names the documents whose issuer, title or
place hold it. :class:`vectorstore.retriever.HybridRetriever` reads these to rank the
named documents (and the named article's passages) first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from ingest.doctypes import by_name
from vectorstore.question import ArticleRef, DocRef, Question
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.text import contains_run, names_place, words

T = TypeVar("T")


def _title_words(doc: DocumentRecord) -> tuple[str, ...]:
    """The document's title, folded, without a trailing year ("Cư trú 2020" -> cu tru)."""
    seq = words(doc.title)
    while seq and seq[-1].isdigit():
        seq = seq[:-1]
    return tuple(seq)


def _number_matches(ref: DocRef, doc: DocumentRecord) -> bool:
    own, theirs = tuple(words(ref.number)), tuple(words(doc.doc_number))
    if not own or not theirs:
        return False
    if own == theirs:
        return True
    if len(own) == 1 and theirs[:1] == own:  # "Kế hoạch 195" names 195/KH-UBND when the type agrees
        return not ref.doc_type or words(ref.doc_type) == words(doc.doc_type)
    return False


def _title_named(said: list[str], translated: list[str], doc: DocumentRecord) -> bool:
    """The question says the document's type and title together ("luat cu tru"); an English
    question's translation holds both (in either order: "Residence Law")."""
    doc_type = by_name(doc.doc_type)
    title = _title_words(doc)
    if not doc_type or doc_type.named_by != "title" or not title:
        return False
    kind = tuple(words(doc.doc_type))
    if contains_run(said, kind + title):
        return True
    return bool(translated) and contains_run(translated, title) and contains_run(translated, kind)


_TABLES: dict[str, tuple[object, object]] = {}  # per table: (the registry last seen, its table)


def _per_registry(name: str, registry: Mapping[str, DocumentRecord], build: Callable[[Mapping], T]) -> T:
    """``build(registry)``, made once per registry read (one assignment: a reader sees one
    registry's table): an archive of thousands of documents is not walked for every question."""
    seen, table = _TABLES.get(name, (None, None))
    if seen is not registry:
        table = build(registry)
        _TABLES[name] = (registry, table)
    return table  # type: ignore[return-value]


def _titled(registry: Mapping[str, DocumentRecord]) -> tuple[DocumentRecord, ...]:
    """The registry's documents of a type cited by title (laws, codes)."""
    def build(docs: Mapping[str, DocumentRecord]) -> tuple[DocumentRecord, ...]:
        return tuple(doc for doc in docs.values()
                     if (kind := by_name(doc.doc_type)) and kind.named_by == "title" and _title_words(doc))

    return _per_registry("titled", registry, build)


def _numbered(registry: Mapping[str, DocumentRecord]) -> dict[str, tuple[DocumentRecord, ...]]:
    """The registry's documents by the first word of their số hiệu ("195" for 195/KH-UBND): a
    reference can match only those (see ``_number_matches``; 22 ms a question walking 4,300)."""
    def build(docs: Mapping[str, DocumentRecord]) -> dict[str, tuple[DocumentRecord, ...]]:
        table: dict[str, list[DocumentRecord]] = {}
        for doc in docs.values():
            number = words(doc.doc_number)
            if number:
                table.setdefault(number[0], []).append(doc)
        return {first: tuple(found) for first, found in table.items()}

    return _per_registry("numbered", registry, build)


def named_documents(q: Question, registry: Mapping[str, DocumentRecord]) -> set[str]:
    """Ids of the documents the question names by số hiệu, type and number, or type and title."""
    said = list(q.words)
    translated = list(q.translated)
    found = {doc.id for doc in _titled(registry) if _title_named(said, translated, doc)}
    numbered = _numbered(registry)
    for ref in q.documents:
        number = words(ref.number)
        if number:
            found.update(doc.id for doc in numbered.get(number[0], ()) if _number_matches(ref, doc))
    return found


def placed_documents(q: Question, registry: Mapping[str, DocumentRecord]) -> set[str]:
    """Ids of the documents whose place the question names (the places grouped once per registry)."""
    def build(docs: Mapping[str, DocumentRecord]) -> dict[str, set[str]]:
        places: dict[str, set[str]] = {}
        for doc in docs.values():
            places.setdefault(doc.place, set()).add(doc.id)
        return places

    places = _per_registry("places", registry, build)
    return {d for place, ids in places.items() if names_place(q.words, place) for d in ids}


def local_documents(q: Question, registry: Mapping[str, DocumentRecord]) -> set[str]:
    """Ids of the documents whose place, issuer or title holds a locality the question names."""
    places = [p.words for p in q.places if len(p.words) >= 2]
    if not places:
        return set()
    held, by_pair = _localities(registry)
    found = set()
    for place in places:
        pairs = [by_pair.get(pair, frozenset()) for pair in zip(place, place[1:])]
        found.update(d for d in pairs[0].intersection(*pairs[1:]) if contains_run(held[d], place))
    return found


def _localities(registry: Mapping[str, DocumentRecord]) -> tuple[dict[str, tuple[str, ...]], dict]:
    """Each document's place, issuer and title words, and the documents holding each adjacent pair
    of them: a locality (two words at least) is looked for only in the documents holding all of its
    pairs (29 ms a question at 4,300 documents, walking them all)."""
    def build(docs: Mapping[str, DocumentRecord]) -> tuple[dict[str, tuple[str, ...]], dict]:
        held: dict[str, tuple[str, ...]] = {}
        pairs: dict[tuple[str, str], set[str]] = {}
        for doc in docs.values():
            seq = tuple(words(" ".join((doc.place, doc.issuer, doc.title))))
            held[doc.id] = seq
            for pair in zip(seq, seq[1:]):
                pairs.setdefault(pair, set()).add(doc.id)
        return held, {pair: frozenset(ids) for pair, ids in pairs.items()}

    return _per_registry("localities", registry, build)


def article_rank(chunk: StoredChunk, refs: Iterable[ArticleRef]) -> int | None:
    """How closely the passage lies within an article the question names: 0 in the named point,
    1 in the named clause, 2 elsewhere in the article (its other clauses); None outside."""
    best = None
    for ref in refs:
        if chunk.article != ref.article:
            continue
        rank = 2
        if ref.clause and chunk.clause == ref.clause:
            rank = 0 if ref.point and chunk.point == ref.point else 1
        elif not ref.clause:
            rank = 1 if not chunk.clause else 2  # the article's opening passage first
        best = rank if best is None else min(best, rank)
    return best

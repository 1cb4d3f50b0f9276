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

from collections.abc import Iterable, Mapping

from ingest.doctypes import by_name
from vectorstore.question import ArticleRef, DocRef, Question
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.text import contains_run, words


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


_TITLED: list = [None, ()]  # the registry last seen, and its documents cited by title


def _titled(registry: Mapping[str, DocumentRecord]) -> tuple[DocumentRecord, ...]:
    """The registry's documents of a type cited by title (laws, codes), found once per registry read:
    an archive of plans and dispatches is not walked document by document for every question."""
    if _TITLED[0] is not registry:
        titled = []
        for doc in registry.values():
            doc_type = by_name(doc.doc_type)
            if doc_type and doc_type.named_by == "title" and _title_words(doc):
                titled.append(doc)
        _TITLED[:] = [registry, tuple(titled)]
    return _TITLED[1]


def named_documents(q: Question, registry: Mapping[str, DocumentRecord]) -> set[str]:
    """Ids of the documents the question names by số hiệu, type and number, or type and title."""
    said = list(q.words)
    translated = list(q.translated)
    found = {doc.id for doc in _titled(registry) if _title_named(said, translated, doc)}
    if q.documents:
        found.update(doc.id for doc in registry.values() if any(_number_matches(ref, doc) for ref in q.documents))
    return found


def local_documents(q: Question, registry: Mapping[str, DocumentRecord]) -> set[str]:
    """Ids of the documents whose place, issuer or title holds a locality the question names."""
    places = [p.words for p in q.places if len(p.words) >= 2]
    if not places:
        return set()
    found = set()
    for doc in registry.values():
        held = words(" ".join((doc.place, doc.issuer, doc.title)))
        if any(contains_run(held, p) for p in places):
            found.add(doc.id)
    return found


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

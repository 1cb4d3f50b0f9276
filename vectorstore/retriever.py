"""Hybrid retrieval: lexical (BM25 on folded text) and dense (Chroma), fused.

:class:`HybridRetriever` is the plain interface the bot uses;
``vectorstore.langchain_retriever`` exposes it as a LangChain ``BaseRetriever``.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from vectorstore.embeddings import Embedder
from vectorstore.filters import Filters
from vectorstore.fusion import Fusion, ScoreFusion
from vectorstore.lexical import LexicalIndex
from vectorstore.lexical_sync import LexicalSync
from vectorstore.question import Question, read_question
from vectorstore.recent_chunks import RecentChunks
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.references import article_rank, local_documents, named_documents, placed_documents
from vectorstore.store import Store
from vectorstore.text import Lexicon, default_lexicon, passage_terms

log = logging.getLogger(__name__)

QUERY_EMBED_THREADS = 2  # questions embedded at once by one retriever (a serving process answers one per core)

CHUNK_CACHE = 20_000
DOCUMENT_MOST = 20_000  # a document's passages read by id up to this many
EXACT_DENSE = 2_000  # passages at most in a filter or the named documents compared one by one


@dataclass(frozen=True)
class Passage:
    chunk: StoredChunk
    document: DocumentRecord
    score: float
    lexical_rank: int | None = None
    dense_rank: int | None = None
    dense_score: float = 0.0
    heading_match: float = 0.0  # how much of the passage's own heading the question names (0..1)

    def to_dict(self) -> dict[str, Any]:
        c, d = self.chunk, self.document
        return {
            "chunk_id": c.id, "document_id": d.id, "source": d.source, "title": d.title,
            "doc_number": d.doc_number, "doc_type": d.doc_type, "date": d.date, "section": c.section,
            "headings": list(c.headings), "page": c.page, "text": c.text, "score": round(self.score, 4),
            "lexical_rank": self.lexical_rank, "dense_rank": self.dense_rank,
        }


class Retriever(ABC):
    @abstractmethod
    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        """The ``k`` passages that best answer ``query``, best first."""


class HybridRetriever(Retriever):
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        fusion: Fusion | None = None,
        lexicon: Lexicon | None = None,
        candidates: int = 30,
        heading_weight: float = 0.3,
        place_weight: float = 0.15,
        article_weight: float = 0.5,
        unmarked_lexical_weight: float = 0.85,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.fusion = fusion or ScoreFusion()
        self.lexicon = lexicon or default_lexicon()
        self.candidates = candidates
        self.heading_weight = heading_weight
        self.place_weight = place_weight
        self.article_weight = article_weight
        self.unmarked_lexical_weight = unmarked_lexical_weight
        self.lexical = LexicalSync(store)
        self._recent = RecentChunks(store, CHUNK_CACHE)
        self._lock = threading.Lock()
        self._embedding: ThreadPoolExecutor | None = None

    def _query_vector(self, text: str) -> Future:
        """The question's vector, computed on another thread while this one ranks the lexical side
        and reads the registry (the embedders' engines release the interpreter lock), once per search."""
        with self._lock:
            if self._embedding is None:
                self._embedding = ThreadPoolExecutor(QUERY_EMBED_THREADS, thread_name_prefix="query-embed")
        return self._embedding.submit(self.embedder.embed_query, text)

    def lexical_index(self) -> LexicalIndex:
        """The lexical view of the live documents (updated one document version at a time)."""
        return self.lexical.index()

    def chunks(self, ids: list[str]) -> dict[str, StoredChunk]:
        """Chunks by id, the recently used from memory."""
        return self._recent.get(ids)

    # -- search -------------------------------------------------------------

    def analyse(self, query: str) -> Question:
        """The question read once (:func:`vectorstore.question.read_question`), for search and the answerers."""
        return read_question(query, self.lexicon)

    def search(self, query: str, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        return self.search_terms(self.analyse(query), k, filters)

    def search_terms(self, q: Question, k: int = 5, filters: Filters | None = None) -> list[Passage]:
        """The best ``k`` passages for an analysed question; with ``filters``, only passages of the
        documents they admit (both retrievers are restricted before they rank). A document the
        question names (số hiệu, type and title) comes first, and a named article's passages
        first of all (:mod:`vectorstore.references`)."""
        index = self.lexical_index()
        if not len(index):
            return []
        vector = self._query_vector(q.dense_text)
        registry = self.store.registry()
        allowed = filters.documents(registry) if filters else None
        if allowed is not None and not allowed:
            return []
        named = named_documents(q, registry)
        if allowed is not None:
            named &= set(allowed)
        if named:
            return self._named_first(q, vector, index, registry, allowed, named, k)
        ranked = self._ranked(q, vector, index, registry, allowed, self.candidates if q.articles else k)
        return self._article_boosted(q, ranked, k)

    def _ranked(
        self, q: Question, vector: Future, index: LexicalIndex, registry: dict[str, DocumentRecord], allowed: Any,
        k: int,
    ) -> list[Passage]:
        """Lexical and dense candidates fused, with the heading and locality boosts; best ``k``."""
        lexical = index.search(list(q.terms), self.candidates, allowed)
        chunks = self.chunks([cid for cid, _ in lexical])
        local = placed_documents(q, registry) | local_documents(q, registry)  # all before the vector is waited for
        few = index.chunk_ids_of(allowed, EXACT_DENSE) if allowed is not None else None
        if few is not None:  # a few documents' passages: every one compared, without Chroma's filtered search
            dense_hits = self.store.nearest_among(vector.result(), few, self.candidates, chunks=self.chunks)
        else:
            dense_hits = self.store.nearest(vector.result(), self.candidates, allowed, chunks=self.chunks)
        dense = [(c.id, s) for c, s in dense_hits]
        chunks.update({c.id: c for c, _ in dense_hits})
        lex_rank = {cid: i for i, (cid, _) in enumerate(lexical, start=1)}
        den_rank = {cid: i for i, (cid, _) in enumerate(dense, start=1)}
        den_score = dict(dense)
        query_terms = set(q.terms)
        out: list[Passage] = []
        for cid, score in self._fusion_for(q).fuse(lexical, dense):
            chunk = chunks.get(cid)
            doc = registry.get(chunk.document_id) if chunk else None
            if chunk is None or doc is None or doc.version != chunk.version:
                continue
            if allowed is not None and doc.id not in allowed:
                continue
            match = self._heading_match(chunk, query_terms, index)
            score += self.heading_weight * match + (self.place_weight if doc.id in local else 0.0)
            out.append(
                Passage(chunk, doc, score, lex_rank.get(cid), den_rank.get(cid), den_score.get(cid, 0.0), match)
            )
        out.sort(key=lambda p: -p.score)
        return out[:k]

    def _fusion_for(self, q: Question) -> Fusion:
        """The fusion for this question: the model read accented text, so the dense side of a
        Vietnamese question typed without diacritics is weaker and its lexical side weighs
        at least ``unmarked_lexical_weight`` (score fusion only)."""
        if q.marked or q.english or not isinstance(self.fusion, ScoreFusion):
            return self.fusion
        return ScoreFusion(max(self.fusion.alpha, self.unmarked_lexical_weight))

    # -- documents and articles the question names (vectorstore.references) ----------------

    def _named_first(
        self, q: Question, vector: Future, index: LexicalIndex, registry: dict[str, DocumentRecord], allowed: Any,
        named: set[str], k: int,
    ) -> list[Passage]:
        """The named documents' passages first (a named article's before the rest), then, when
        they give fewer than ``k``, the best of the other documents."""
        own = self._ranked(q, vector, index, registry, named, k)
        if q.articles:
            own = self._article_passages(q, registry, named, own, k)
        if len(own) >= k:
            return own[:k]
        seen = {p.chunk.id for p in own}
        rest = [p for p in self._ranked(q, vector, index, registry, allowed, k + len(own)) if p.chunk.id not in seen]
        return own + rest[:k - len(own)]

    def _article_passages(
        self, q: Question, registry: dict[str, DocumentRecord], named: set[str], ranked: list[Passage], k: int
    ) -> list[Passage]:
        """The passages of the articles the question names, read by metadata from the named
        documents (named point, then clause, then the rest of the article), then ``ranked``."""
        scored = {p.chunk.id: p for p in ranked}
        top = ranked[0].score if ranked else 0.0
        found: list[tuple[int, float, int, Passage]] = []
        for doc_id in sorted(named):
            doc = registry[doc_id]
            for chunk in self.chunks_of(doc_id):
                rank = article_rank(chunk, q.articles)
                if rank is None or chunk.version != doc.version:
                    continue
                was = scored.get(chunk.id)
                score = was.score if was else 0.0
                found.append((rank, -score, chunk.index, was or Passage(chunk, doc, score)))
        found.sort(key=lambda f: f[:3])
        first = [Passage(p.chunk, p.document, top + 1.0 - i * 1e-3, p.lexical_rank, p.dense_rank, p.dense_score,
                         p.heading_match) for i, (_, _, _, p) in enumerate(found[:k])]
        taken = {p.chunk.id for p in first}
        return first + [p for p in ranked if p.chunk.id not in taken]

    def _article_boosted(self, q: Question, ranked: list[Passage], k: int) -> list[Passage]:
        """With no document named, the passages of a named article ("Điều 33") move up."""
        if not q.articles:
            return ranked
        boosted = [Passage(p.chunk, p.document, p.score + (self.article_weight if article_rank(p.chunk, q.articles)
                                                               is not None else 0.0),
                           p.lexical_rank, p.dense_rank, p.dense_score, p.heading_match) for p in ranked]
        return sorted(boosted, key=lambda p: -p.score)[:k]

    def document_passages(self, doc_id: str) -> list[Passage]:
        """All live passages of one document, in reading order."""
        doc = self.store.document(doc_id)
        return [Passage(c, doc, 0.0) for c in self.chunks_of(doc_id)] if doc else []

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        """A live document's chunks in reading order, by their ids in the lexical index (from the
        recently used; Chroma's search by document reads its metadata table: 27 ms at 100k passages)."""
        doc = self.store.document(doc_id)
        if doc is None:
            return []
        ids = self.lexical_index().chunk_ids_of({doc_id}, DOCUMENT_MOST)
        if not ids:  # not (yet) in the lexical index: read by document
            return self.store.chunks_of(doc_id)
        found = [c for c in self.chunks(ids).values() if c.version == doc.version]
        return sorted(found, key=lambda c: c.index)

    def _heading_match(self, chunk: StoredChunk, query_terms: set[str], index: LexicalIndex) -> float:
        """How much of the passage's own heading the question names (IDF-weighted, 0..1)."""
        if not chunk.headings or chunk.kind != "body":
            return 0.0
        title = chunk.headings[-1].split(" ", 1)[-1] if " " in chunk.headings[-1] else ""
        terms = set(passage_terms(title, self.lexicon))
        if not terms:
            return 0.0
        total = sum(index.idf(t) for t in terms)
        hit = sum(index.idf(t) for t in terms if t in query_terms)
        return hit / total if total else 0.0

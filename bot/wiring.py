"""The one place that builds the parts from settings and connects them."""

from __future__ import annotations

from bot.answer import ExtractiveAnswerer
from bot.service import ChatService
from bot.settings import Settings
from vectorstore.embeddings import Embedder, build_embedder
from vectorstore.fusion import ReciprocalRankFusion, ScoreFusion, build_fusion
from vectorstore.indexer import Indexer
from vectorstore.retriever import HybridRetriever
from vectorstore.store import Store


def build_store(settings: Settings, embedder: Embedder | None = None) -> Store:
    embedder = embedder or build_embedder(settings.embedder, settings.embedding_model)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Store.open(settings.data_dir, embedder, settings.chroma_url)


def build_indexer(settings: Settings, store: Store | None = None) -> Indexer:
    store = store or build_store(settings)
    return Indexer(store, store.embedder, settings.chunk_tokens)


def build_service(settings: Settings, store: Store | None = None) -> ChatService:
    store = store or build_store(settings)
    if settings.fusion == ScoreFusion.name:
        fusion = ScoreFusion(settings.lexical_weight)
    elif settings.fusion == ReciprocalRankFusion.name:
        fusion = ReciprocalRankFusion()
    else:
        fusion = build_fusion(settings.fusion)
    retriever = HybridRetriever(
        store, store.embedder, settings.data_dir, fusion, heading_weight=settings.heading_weight
    )
    answerer = ExtractiveAnswerer(
        lambda term: retriever.lexical_index().idf(term),
        settings.min_coverage,
        document_passages=retriever.document_passages,
    )
    return ChatService(store, retriever, answerer, build_indexer(settings, store))

"""The one place that builds the parts from settings and connects them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.answer import Answerer, ExtractiveAnswerer
from bot.contextualize import Contextualizer, Reader, RuleContextualizer
from bot.contextualize_llm import LLMContextualizer
from bot.judge import Judge
from bot.service import ChatService
from bot.settings import Settings
from bot.task_answer import TaskAnswerer
from ingest.agencies import AgencyRegistry
from vectorstore.embed_cache import CachedEmbedder
from vectorstore.embeddings import Embedder, build_embedder
from vectorstore.fusion import ReciprocalRankFusion, ScoreFusion, build_fusion
from vectorstore.indexer import Indexer
from vectorstore.retriever import HybridRetriever, Passage
from vectorstore.store import Store
from vectorstore.task_index import TaskIndex
from vectorstore.text import load_lexicon

if TYPE_CHECKING:
    from vectorstore.retriever import Retriever


def build_configured_embedder(settings: Settings, cache: bool = True) -> Embedder:
    """The embedder the settings name, behind the passage cache unless that is off."""
    embedder = build_embedder(
        settings.embedder, settings.embedding_model, device=settings.device, model_dir=settings.model_dir
    )
    path = settings.embed_cache_path if cache else None
    return CachedEmbedder(embedder, path) if path is not None else embedder


def build_store(settings: Settings, embedder: Embedder | None = None) -> Store:
    embedder = embedder or build_configured_embedder(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Store.open(settings.data_dir, embedder, settings.chroma_url)


def build_indexer(settings: Settings, store: Store | None = None) -> Indexer:
    store = store or build_store(settings)
    return Indexer(store, store.embedder, settings.chunk_tokens, data_dir=settings.data_dir)


def build_service(settings: Settings, store: Store | None = None) -> ChatService:
    store = store or build_store(settings)
    if settings.fusion == ScoreFusion.name:
        fusion = ScoreFusion(settings.lexical_weight)
    elif settings.fusion == ReciprocalRankFusion.name:
        fusion = ReciprocalRankFusion()
    else:
        fusion = build_fusion(settings.fusion)
    registry = AgencyRegistry.default()
    lexicon = load_lexicon(registry)
    retriever = HybridRetriever(
        store, store.embedder, fusion, lexicon=lexicon, heading_weight=settings.heading_weight
    )
    weight = answerer_weight(retriever)
    judge = Judge(weight, lexicon, settings.min_coverage, section_text=section_text(retriever))
    answerer = ExtractiveAnswerer(weight, document_passages=retriever.document_passages)
    answerer, contextualizer = with_language_model(
        settings, answerer, retriever, reader=retriever.analyse)
    tasks = TaskAnswerer(TaskIndex(store, registry), judge, retriever.lexical_index)
    return ChatService(
        store, retriever, answerer, judge, build_indexer(settings, store), contextualizer=contextualizer,
        task_answerer=tasks,
    )


def section_text(retriever: HybridRetriever) -> Callable[[Passage], str]:
    """The text of a passage's whole section (its passages joined)."""
    def text(passage: Passage) -> str:
        return "\n".join(p.chunk.text for p in retriever.document_passages(passage.document.id)
                         if p.chunk.section == passage.chunk.section)
    return text


def answerer_weight(retriever: HybridRetriever) -> Callable[[str], float]:
    """A term's IDF in the retriever's current lexical index."""
    return lambda term: retriever.lexical_index().idf(term)


def with_language_model(
    settings: Settings, extractive: ExtractiveAnswerer, retriever: Retriever | None = None,
    reader: Reader | None = None,
) -> tuple[Answerer, Contextualizer]:
    """The LLM answerer and contextualiser when LLM_PROVIDER names a model; else the extractive ones.

    ``retriever`` serves the LLM chain, as a LangChain retriever, when it is asked without passages
    (LangChain's retriever machinery is imported only then); ``reader`` reads a question once (the
    retriever's), for the rules that resolve follow-ups.
    """
    from bot.llm import build_chat_model

    rules = RuleContextualizer(settings.history_chars, reader)
    model = build_chat_model(settings)
    if model is None:
        return extractive, rules
    from bot.llm_answer import LLMAnswerer
    from vectorstore.langchain_retriever import LangChainRetriever

    chain_retriever = LangChainRetriever(retriever=retriever) if retriever is not None else None
    answerer = LLMAnswerer(model, extractive, extractive.weight, deadline=settings.llm_timeout,
                           retriever=chain_retriever)
    return answerer, LLMContextualizer(model, rules, max_chars=settings.history_chars)

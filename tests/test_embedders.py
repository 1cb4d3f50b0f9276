"""The embedder is chosen by configuration: the bundled e5 default, or sentence-transformers."""

from __future__ import annotations

import numpy as np
import pytest

from vectorstore.embeddings import SentenceTransformerEmbedder, build_embedder

pytestmark = pytest.mark.slow


def test_e5_vectors_are_unit_length_and_query_differs_from_passage(e5):
    passage = e5.embed_documents(["Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán."])[0]
    query = e5.embed_query("Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán.")
    assert passage.shape == (384,) and abs(float(np.linalg.norm(passage)) - 1) < 1e-4
    assert not np.allclose(passage, query)  # "passage: " and "query: " prefixes
    assert e5.count_tokens("Sở Y tế") < 20


def test_configuration_picks_the_backend():
    assert build_embedder("e5").key == "e5-small"
    st = build_embedder("sentence-transformers")
    assert isinstance(st, SentenceTransformerEmbedder) and st.key.startswith("st-")
    with pytest.raises(ValueError, match="Không biết"):
        build_embedder("word2vec")


def test_sentence_transformers_backend_end_to_end(tmp_path):
    """The packaged all-MiniLM-L6-v2 loads offline and serves a whole ingest + search."""
    from bot.settings import Settings
    from bot.wiring import build_indexer, build_service, build_store

    settings = Settings(data_dir=tmp_path / "data", embedder="sentence-transformers")
    store = build_store(settings)
    assert store.embedder.key.startswith("st-")
    plan = tmp_path / "plan.txt"
    plan.write_text(
        "KẾ HOẠCH\n\nPhòng cháy\n\nI. NHIỆM VỤ\n\n1. Sở Y tế\n\n- Bảo đảm cấp cứu nạn nhân vụ cháy.\n\n"
        "2. Sở Xây dựng\n\n- Kiểm tra thiết kế phòng cháy của công trình.\n", encoding="utf-8")
    assert build_indexer(settings, store).ingest_file(plan).status == "added"
    service = build_service(settings, store)
    top = service.search("Department of Construction fire design inspection", 1)[0]
    assert top.chunk.section == "I › 2. Sở Xây dựng"
    vectors = store.embedder.embed_documents(["a", "b"])
    assert vectors.shape == (2, 384)

"""Filters: parsed with Vietnamese reasons, decided per document, pushed down before the top k."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import httpx
import pytest

from vectorstore.filters import FilterError, Filters
from vectorstore.records import DocumentRecord

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
QUESTION = "Cơ sở giáo dục phải đăng ký gì trong Quý I?"  # best answered by 004 and 000
PLAN_002 = "002_11ae31a54952ac5b"


def doc(**fields) -> DocumentRecord:
    return DocumentRecord(id=fields.pop("id", "d"), source="d.txt", version="v", **fields)


@pytest.mark.parametrize(("data", "reason"), [
    ({"date_from": "19/02/2024"}, "YYYY-MM-DD"),
    ({"date_to": "2024-02-30"}, "YYYY-MM-DD"),
    ({"date_from": "2026-03-01", "date_to": "2026-02-01"}, "sau 'date_to'"),
    ({"doc_type": ["Kế hoạch"]}, "không hỗ trợ trường doc_type"),
    ({"issuers": "UBND"}, "danh sách"),
    ({"document_ids": [""]}, "không rỗng"),
    ({"document_ids": [3]}, "không rỗng"),
    ([], "đối tượng JSON"),
])
def test_bad_filters_say_what_is_wrong_in_vietnamese(data, reason):
    with pytest.raises(FilterError, match=reason.replace("(", r"\(")):
        Filters.parse(data)


@pytest.mark.parametrize(("filters", "record", "admitted"), [
    ({"doc_types": ["Kế hoạch"]}, doc(doc_type="Kế hoạch"), True),
    ({"doc_types": ["ke hoach"]}, doc(doc_type="Kế hoạch"), True),
    ({"doc_types": ["KH"]}, doc(doc_type="Kế hoạch"), True),
    ({"doc_types": ["PĐTĐ", "CV"]}, doc(doc_type="Phát động thi đua"), True),
    ({"doc_types": ["Kế hoạch"]}, doc(doc_type="Công văn"), False),
    ({"issuers": ["UBND tỉnh Lào Cai"]}, doc(issuer="UY BAN NHAN DAN TINH LAO CAI"), True),
    ({"issuers": ["Ủy ban nhân dân tỉnh Lào Cai"]}, doc(issuer="UBND TỈNH LÀO CAI – BCĐ PHÒNG CHỐNG TP"), True),
    ({"issuers": ["UBND tỉnh Lào Cai"]}, doc(issuer="UBND tỉnh Lai Châu"), False),
    ({"issuers": ["UBND tỉnh Lào Cai"]}, doc(issuer="Ban Chỉ đạo phòng chống tội phạm tỉnh Lào Cai"), False),
    ({"date_from": "2026-02-01", "date_to": "2026-02-28"}, doc(date="2026-02"), True),  # the whole month
    ({"date_from": "2026-02-10"}, doc(date="2026-02"), False),  # day unknown: may be before
    ({"date_to": "2025-12-31"}, doc(date="2025-12-17"), True),
    ({"date_from": "2025-12-18"}, doc(date="2025-12-17"), False),
    ({"date_from": "2000-01-01"}, doc(date=""), False),  # undated never satisfies a date filter
    ({"document_ids": ["a", "b"]}, doc(id="b"), True),
    ({"document_ids": ["a"], "doc_types": ["KH"]}, doc(id="a", doc_type="Công văn"), False),  # all must hold
])
def test_a_document_is_admitted_when_every_filter_holds(filters, record, admitted):
    assert Filters.parse(filters).admits(record) is admitted


def test_no_filters_admit_everything_and_round_trip():
    assert not Filters.parse({}) and Filters.parse(None).documents({"a": doc(id="a")}) is None
    parsed = Filters.parse({"doc_types": ["KH"], "date_from": "2026-01-01"})
    assert parsed.date_from == date(2026, 1, 1)
    assert Filters.parse(parsed.to_dict()) == parsed


# -- pushed down: filtered search returns the filtered documents' best passages ----------------------


@pytest.mark.slow
def test_both_retrievers_filter_before_taking_the_top_k(seeded_service):
    from vectorstore.question import read_question
    from vectorstore.text import default_lexicon

    retriever = seeded_service.retriever
    unfiltered = seeded_service.search(QUESTION, 5)
    assert PLAN_002 not in {p.document.id for p in unfiltered}  # the best matches are elsewhere
    terms = list(read_question(QUESTION, default_lexicon()).terms)
    lexical = retriever.lexical_index().search(terms, 5, {PLAN_002})
    assert len(lexical) == 5 and all(cid.startswith(PLAN_002 + ":") for cid, _ in lexical)
    dense = seeded_service.store.nearest(retriever.embedder.embed_query(QUESTION), 5, {PLAN_002})
    assert len(dense) == 5 and {c.document_id for c, _ in dense} == {PLAN_002}
    filtered = seeded_service.search(QUESTION, 5, Filters.parse({"document_ids": [PLAN_002]}))
    assert len(filtered) == 5 and {p.document.id for p in filtered} == {PLAN_002}


@pytest.mark.slow
def test_a_few_documents_are_searched_by_comparing_every_passage_as_chroma_ranks_them(seeded_service, monkeypatch):
    store, retriever = seeded_service.store, seeded_service.retriever
    registry = store.registry()
    vector = retriever.embedder.embed_query(QUESTION)
    for documents in ({PLAN_002}, set(list(registry)[:2]), set(registry)):
        ids = retriever.lexical_index().chunk_ids_of(documents, 10_000)
        assert ids is not None and {i.split(":")[0] for i in ids} == documents
        exact = store.nearest_among(vector, ids, 8)
        by_chroma = store.nearest(vector, 8, documents)
        assert [c.id for c, _ in exact] == [c.id for c, _ in by_chroma]
        assert [s for _, s in exact] == pytest.approx([s for _, s in by_chroma], abs=1e-5)
    assert retriever.lexical_index().chunk_ids_of(set(registry), 10) is None  # too many: Chroma's search

    def no_filtered_query(*args, **kwargs):
        raise AssertionError("Chroma's filtered search was used for one document")

    monkeypatch.setattr(store, "nearest", no_filtered_query)
    filtered = seeded_service.search(QUESTION, 5, Filters.parse({"document_ids": [PLAN_002]}))
    assert len(filtered) == 5 and {p.document.id for p in filtered} == {PLAN_002}


@pytest.mark.slow
@pytest.mark.parametrize("filters", [
    {"document_ids": [PLAN_002]},
    {"doc_types": ["Kế hoạch"]},
    {"issuers": ["UBND tỉnh Lào Cai"]},
    {"date_from": "2025-12-01", "date_to": "2025-12-31"},
    {"doc_types": ["KH"], "date_from": "2026-02-01"},
])
def test_http_search_and_chat_return_only_what_the_filters_admit(live_server, seeded_service, filters):
    parsed = Filters.parse(filters)
    registry = seeded_service.store.registry()
    admitted = {d for d, record in registry.items() if parsed.admits(record)}
    assert admitted and admitted != set(registry)
    got = httpx.post(live_server.url + "/api/search", json={"query": QUESTION, "k": 8, "filters": filters},
                     timeout=60).json()["results"]
    assert len(got) == 8 and {r["document_id"] for r in got} <= admitted
    answer = httpx.post(live_server.url + "/api/chat", json={"message": QUESTION, "filters": filters},
                        timeout=60).json()
    assert {c["document_id"] for c in answer["citations"]} <= admitted
    completion = httpx.post(live_server.url + "/v1/chat/completions", timeout=60, json={
        "model": "chidao", "messages": [{"role": "user", "content": QUESTION}], "filters": filters}).json()
    assert {c["document_id"] for c in completion["citations"]} <= admitted


@pytest.mark.slow
@pytest.mark.parametrize("stream", [False, True])
def test_http_chat_answers_from_the_filtered_document_when_the_best_answer_is_elsewhere(live_server, stream):
    question = "Công an tỉnh có nhiệm vụ gì?"  # answered from 003 unless the filters say otherwise
    unfiltered = httpx.post(live_server.url + "/api/chat", json={"message": question}, timeout=60).json()
    assert PLAN_002 not in {c["document_id"] for c in unfiltered["citations"]}
    body = {"message": question, "stream": stream, "filters": {"document_ids": [PLAN_002]}}
    with httpx.stream("POST", live_server.url + "/api/chat", timeout=60, json=body) as reply:
        text = reply.read().decode()
    final = json.loads(text.rsplit("data: ", 1)[-1]) if stream else json.loads(text)
    assert final["answered"] and final["citations"]
    assert {c["document_id"] for c in final["citations"]} == {PLAN_002}


@pytest.mark.slow
@pytest.mark.parametrize(("path", "body"), [
    ("/api/search", {"query": QUESTION, "filters": {"date_from": "hôm qua"}}),
    ("/api/chat", {"message": QUESTION, "filters": {"date_from": "2026-03-01", "date_to": "2026-01-01"}}),
    ("/api/chat", {"message": QUESTION, "filters": {"types": ["KH"]}}),
    ("/v1/chat/completions", {"model": "chidao", "messages": [{"role": "user", "content": QUESTION}],
                              "filters": {"issuers": "x"}}),
])
def test_bad_filters_are_a_422_with_a_vietnamese_reason(live_server, path, body):
    """(On /v1, in OpenAI's shape and status: a 400 whose error.message carries the same reason.)"""
    reply = httpx.post(live_server.url + path, json=body, timeout=60)
    openai = path.startswith("/v1")
    assert reply.status_code == (400 if openai else 422)
    detail = reply.json()["error"]["message"] if openai else reply.json()["detail"]
    assert "filters" in detail and any(word in detail for word in ("ngày", "sau", "không hỗ trợ", "danh sách"))


@pytest.mark.slow
def test_cli_search_and_ask_take_the_filter_options(seeded_dir):
    def chidao(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", *args, "--data-dir", str(seeded_dir)],
                              capture_output=True, text=True, cwd=ROOT, timeout=300)

    found = chidao("search", QUESTION, "-k", "6", "--json", "--doc", "002_11ae31a54952ac5b.txt")
    assert found.returncode == 0, found.stderr
    assert {r["document_id"] for r in json.loads(found.stdout)["results"]} == {PLAN_002}
    answer = chidao("ask", QUESTION, "--json", "--type", "Kế hoạch", "--since", "2025-12-01", "--until", "2025-12-31")
    assert answer.returncode == 0, answer.stderr
    assert {c["document_id"] for c in json.loads(answer.stdout)["citations"]} <= {PLAN_002}
    bad = chidao("search", QUESTION, "--since", "19/02/2024")
    assert bad.returncode != 0 and "--since" in bad.stderr and "YYYY-MM-DD" in bad.stderr


@pytest.mark.slow
def test_a_documents_passages_are_read_by_id_and_equal_chromas_by_document(seeded_service, monkeypatch):
    store, retriever = seeded_service.store, seeded_service.retriever
    expected = {doc_id: [c.id for c in store.chunks_of(doc_id)] for doc_id in store.registry()}
    monkeypatch.setattr(store, "chunks_of", lambda doc_id: pytest.fail("read by document"))
    for doc_id, ids in expected.items():
        assert [c.id for c in retriever.chunks_of(doc_id)] == ids and ids
    assert retriever.chunks_of("no-such-document") == []

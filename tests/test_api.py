"""The contract's HTTP shapes, over a real uvicorn server on loopback."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_healthz(live_server):
    assert httpx.get(live_server.url + "/healthz").json() == {"status": "ok"}


def test_search_shape(live_server):
    question = "Cơ sở giáo dục phải đăng ký gì trong Quý I?"
    r = httpx.post(live_server.url + "/api/search", json={"query": question, "k": 5})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "Cơ sở giáo dục phải đăng ký gì trong Quý I?"
    assert len(body["results"]) == 5
    for item in body["results"]:
        assert {"chunk_id", "document_id", "source", "title", "doc_number", "section", "text", "score"} <= set(item)
        assert isinstance(item["score"], float) and item["text"]
    top = body["results"][0]
    assert (top["source"], top["doc_number"], top["section"]) == (
        "004_efdf551c7c231efb.txt", "08/PĐTĐ-BCĐ", "1 › c) Đối với cơ sở giáo dục")


def test_chat_shape_and_citations(live_server):
    r = httpx.post(live_server.url + "/api/chat", json={
        "message": "Sở Tài chính có nhiệm vụ gì?",
        "history": [{"role": "user", "content": "Xin chào"}, {"role": "assistant", "content": "Chào anh"}],
    }, timeout=60)
    assert r.status_code == 200
    body = r.json()
    assert body["answered"] is True and "[1]" in body["answer"]
    c = body["citations"][0]
    assert {"n", "chunk_id", "document_id", "source", "title", "doc_number", "section", "quote"} <= set(c)
    assert c["n"] == 1 and c["section"] == "III › 14. Sở Tài chính" and "kinh phí" in c["quote"]
    assert [x["n"] for x in body["citations"]] == sorted(x["n"] for x in body["citations"])


def test_chat_not_found(live_server):
    question = "Thủ tục cấp căn cước cho trẻ em gồm những giấy tờ gì?"
    r = httpx.post(live_server.url + "/api/chat", json={"message": question}, timeout=60)
    body = r.json()
    assert r.status_code == 200 and body["answered"] is False and body["citations"] == []
    assert "Không tìm thấy" in body["answer"]


def test_documents_list(live_server):
    docs = httpx.get(live_server.url + "/api/documents").json()
    assert len(docs) == 5
    by_source = {d["source"]: d for d in docs}
    d = by_source["002_11ae31a54952ac5b.txt"]
    assert {"id", "source", "title", "doc_number", "doc_type", "issuer", "place", "date"} <= set(d)
    assert (d["doc_number"], d["doc_type"], d["date"]) == ("195/KH-UBND", "Kế hoạch", "2025-12-17")


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/api/search", {"query": ""}, "query"),
        ("/api/search", {"query": "   "}, "trống"),
        ("/api/search", {"query": "x", "k": 0}, "k"),
        ("/api/search", {"k": 3}, "thiếu"),
        ("/api/chat", {"message": "x" * 5000}, "quá dài"),
        ("/api/chat", {"message": "a", "history": [{"role": "robot", "content": "x"}]}, "role"),
    ],
)
def test_bad_input_gets_a_reason(live_server, path, body, needle):
    r = httpx.post(live_server.url + path, json=body)
    assert r.status_code == 422
    assert needle in r.json()["detail"]


def test_malformed_json_gets_a_reason(live_server):
    r = httpx.post(live_server.url + "/api/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


def test_web_chat_page_is_served(live_server):
    r = httpx.get(live_server.url + "/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert 'lang="vi"' in r.text

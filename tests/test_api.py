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


def parse_sse(text: str) -> list[tuple[str, dict]]:
    import json

    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_chat_streams_server_sent_events(live_server):
    with httpx.stream("POST", live_server.url + "/api/chat",
                      json={"message": "Sở Y tế phải làm gì?", "stream": True}, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = parse_sse(text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1 and kinds.count("delta") >= 3
    final = events[-1][1]
    assert "".join(d["text"] for k, d in events if k == "delta") == final["answer"]
    assert final["answered"] and final["citations"][0]["section"] == "III › 7. Sở Y tế"


def test_document_detail_has_sections_text_and_passages(live_server):
    body = httpx.get(live_server.url + "/api/documents/003_aab6fb287954f5ee").json()
    assert body["doc_number"] == "/KH-BCĐ" and body["source"] == "003_aab6fb287954f5ee.txt"
    tops = [node["section"] for node in body["sections"]]
    assert "III" in tops and "Phần đầu văn bản" in tops
    iii = next(node for node in body["sections"] if node["section"] == "III")
    assert "III › 8. Sở Giáo dục và Đào tạo" in [child["section"] for child in iii["children"]]
    assert "Sở Giáo dục và Đào tạo tổ chức triển khai" in body["text"]
    sections = {p["section"] for p in body["passages"]}
    assert "III › 8. Sở Giáo dục và Đào tạo" in sections
    assert httpx.get(live_server.url + "/api/documents/khong-co").status_code == 404

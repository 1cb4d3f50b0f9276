"""Feedback: the SQLite store, ``POST /api/feedback`` (with bad input) and ``chidao feedback export``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.feedback import FILENAME, FeedbackStore, UnknownAnswer
from tests.conftest import LiveServer

ANSWER = {
    "answer": "Theo **Kế hoạch 195/KH-UBND**, mục *III › 14. Sở Tài chính*: “bảo đảm kinh phí” [1]",
    "answered": True,
    "citations": [{"n": 1, "chunk_id": "d:c:0001", "document_id": "d", "section": "III › 14. Sở Tài chính",
                   "quote": "bảo đảm kinh phí"}],
    "mode": "extractive",
}


# ---------- the store ----------

def test_rating_is_stored_with_question_answer_and_citations(tmp_path: Path):
    store = FeedbackStore.in_dir(tmp_path / "data")
    answer_id = store.record_answer("Sở Tài chính có nhiệm vụ gì?", ANSWER)
    assert store.answer(answer_id)["question"] == "Sở Tài chính có nhiệm vụ gì?"
    assert list(store.export()) == []  # answers without a rating are not feedback

    store.rate(answer_id, "up", "đúng")
    [row] = list(store.export())
    assert row["answer_id"] == answer_id and row["rating"] == "up" and row["comment"] == "đúng"
    assert row["question"] == "Sở Tài chính có nhiệm vụ gì?"
    assert row["answer"] == ANSWER["answer"] and row["answered"] is True
    assert row["citations"] == ANSWER["citations"]
    assert (tmp_path / "data" / FILENAME).is_file()


def test_rating_again_changes_it(tmp_path: Path):
    store = FeedbackStore(tmp_path / FILENAME)
    answer_id = store.record_answer("q", ANSWER)
    store.rate(answer_id, "up")
    store.rate(answer_id, "down")
    assert [r["rating"] for r in store.export()] == ["down"]


def test_unknown_answer_and_bad_rating(tmp_path: Path):
    store = FeedbackStore(tmp_path / FILENAME)
    with pytest.raises(UnknownAnswer):
        store.rate("khong-co", "up")
    answer_id = store.record_answer("q", ANSWER)
    with pytest.raises(ValueError):
        store.rate(answer_id, "meh")


def test_unrated_answers_are_pruned_rated_ones_kept(tmp_path: Path):
    store = FeedbackStore(tmp_path / FILENAME, keep_unrated=2)
    first = store.record_answer("q0", ANSWER)
    store.rate(first, "down")
    ids = [store.record_answer(f"q{i}", ANSWER) for i in range(1, 6)]
    assert store.answer(first) is not None  # rated: kept whatever its age
    assert [store.answer(i) is not None for i in ids] == [False, False, False, True, True]


def test_store_survives_reopening(tmp_path: Path):
    answer_id = FeedbackStore(tmp_path / FILENAME).record_answer("q", ANSWER)
    FeedbackStore(tmp_path / FILENAME).rate(answer_id, "up")
    assert [r["answer_id"] for r in FeedbackStore(tmp_path / FILENAME).export()] == [answer_id]


# ---------- the export command ----------

def _export(*args: str) -> tuple[int, str, str]:
    from bot.cli import main

    result = CliRunner().invoke(main, ["feedback", "export", *args])
    return result.exit_code, result.stdout, result.stderr


def test_export_to_stdout_and_file(tmp_path: Path):
    data = tmp_path / "data"
    store = FeedbackStore.in_dir(data)
    a, b = store.record_answer("câu một", ANSWER), store.record_answer("câu hai", {**ANSWER, "answered": False})
    store.rate(a, "up")
    store.rate(b, "down")

    code, out, _ = _export("--data-dir", str(data))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["question"], r["rating"], r["answered"]) for r in rows] == [("câu một", "up", True),
                                                                         ("câu hai", "down", False)]
    assert "câu một" in out  # UTF-8, not \u escapes

    target = tmp_path / "out" / "feedback.jsonl"
    target.parent.mkdir()
    code, out, err = _export("--data-dir", str(data), "--output", str(target))
    assert code == 0 and out == "" and "2 đánh giá" in err
    assert [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()] == rows


def test_export_without_feedback_is_empty_and_creates_nothing(tmp_path: Path):
    code, out, err = _export("--data-dir", str(tmp_path / "data"))
    assert code == 0 and out == "" and "Chưa có đánh giá" in err
    assert not (tmp_path / "data" / FILENAME).exists()


def test_export_to_unwritable_path_says_why(tmp_path: Path):
    store = FeedbackStore.in_dir(tmp_path)
    store.rate(store.record_answer("q", ANSWER), "up")
    code, _, err = _export("--data-dir", str(tmp_path), "--output", str(tmp_path / "missing" / "x.jsonl"))
    assert code == 1 and "Không ghi được" in err


# ---------- the HTTP endpoint ----------

@pytest.fixture(scope="module")
def feedback_server(seeded_service, tmp_path_factory) -> Iterator[tuple[LiveServer, Path]]:
    """The seeded service; feedback goes to a data directory of this module's own."""
    from bot.api import create_app
    from bot.settings import Settings

    data = tmp_path_factory.mktemp("feedback")
    with LiveServer(create_app(seeded_service, Settings(data_dir=data))) as server:
        yield server, data


@pytest.mark.slow
def test_chat_answers_carry_an_id_that_feedback_names(feedback_server):
    server, data = feedback_server
    question = "Sở Tài chính có nhiệm vụ gì?"
    body = httpx.post(server.url + "/api/chat", json={"message": question}, timeout=60).json()
    assert len(body["answer_id"]) == 32
    r = httpx.post(server.url + "/api/feedback", json={"answer_id": body["answer_id"], "rating": "up"})
    assert r.status_code == 200 and r.json()["rating"] == "up"
    [row] = [x for x in FeedbackStore.in_dir(data).export() if x["answer_id"] == body["answer_id"]]
    assert row["question"] == question and row["answer"] == body["answer"]
    assert row["citations"] == body["citations"] and row["citations"][0]["quote"]


@pytest.mark.slow
def test_streamed_answer_carries_an_id(feedback_server):
    server, data = feedback_server
    with httpx.stream("POST", server.url + "/api/chat", timeout=60,
                      json={"message": "Sở Y tế phải làm gì?", "stream": True}) as r:
        text = r.read().decode()
    answer_line = text.split("event: answer\ndata: ", 1)[1].split("\n", 1)[0]
    answer = json.loads(answer_line)
    assert FeedbackStore.in_dir(data).answer(answer["answer_id"])["answer"] == answer["answer"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"answer_id": "0" * 32, "rating": "up"}, 404, "Không tìm thấy câu trả lời"),
        ({"answer_id": "abc", "rating": "meh"}, 422, "'rating': giá trị không hợp lệ"),
        ({"rating": "up"}, 422, "'answer_id': thiếu trường bắt buộc"),
        ({"answer_id": "", "rating": "down"}, 422, "'answer_id': không được để trống"),
        ({"answer_id": "x" * 65, "rating": "down"}, 422, "quá dài"),
        ({"answer_id": "abc", "rating": "up", "comment": 5}, 422, "'comment': phải là chuỗi ký tự"),
        (["up"], 422, "phải là một đối tượng JSON"),
    ],
)
def test_bad_feedback_gets_a_vietnamese_reason(feedback_server, body, status, needle):
    server, _ = feedback_server
    r = httpx.post(server.url + "/api/feedback", json=body)
    assert r.status_code == status
    assert needle in r.json()["detail"]


@pytest.mark.slow
def test_malformed_feedback_json(feedback_server):
    server, _ = feedback_server
    r = httpx.post(server.url + "/api/feedback", content=b"{rating: up", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON không hợp lệ" in r.json()["detail"]

"""The one judge of "answered" (bot.judge): unit checks and the sample documents indexed with the
hashing embedder (tests/hashed.py) — no model, a few seconds."""

from __future__ import annotations

import re

import pytest

from bot.answer import ExtractiveAnswerer
from bot.citations import Answer, Citation
from bot.judge import Judge
from tests.hashed import hashed_service
from vectorstore.question import read_question
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.retriever import Passage
from vectorstore.text import default_lexicon

DOC = DocumentRecord("d1", "kh.txt", "v1", title="Phòng, chống tội phạm năm 2026", doc_number="/KH-BCĐ",
                     doc_type="Kế hoạch", date="2026-02", place="Lào Cai")


def passage(text: str, heading: str = "7. Sở Y tế", chunk_id: str = "c1") -> Passage:
    return Passage(StoredChunk(chunk_id, "d1", "v1", text, f"III › {heading}", ("III", heading)), DOC, 1.0)


def judge() -> Judge:
    return Judge(lambda term: 1.0, default_lexicon())


def ask(text: str):
    return read_question(text, default_lexicon())


def test_a_blank_passage_never_yields_an_answer_without_citation():
    question = ask("Sở Y tế có nhiệm vụ gì?")
    blank = passage("  \n  ")
    verdict = judge().assess(question, [blank])
    assert verdict.answerable  # its heading names the agency: the passage is about the question …
    composed = ExtractiveAnswerer(lambda term: 1.0).answer(question, list(verdict.passages))
    final = judge().accept(question, composed, verdict)
    assert final.answered is False and final.citations == ()  # … but there is nothing to quote
    assert "Không tìm thấy" in final.answer


def test_a_blank_passage_through_the_service(monkeypatch):
    service = hashed_service()
    blank = passage("   ", heading="2. Hình thức khen thưởng tổng kết")
    monkeypatch.setattr(service.retriever, "search_terms", lambda question, k=5, filters=None: [blank])
    answer = service.chat("Hình thức khen thưởng tổng kết gồm những gì?")
    assert answer.answered is False and answer.citations == ()


def test_a_quote_that_is_not_text_of_its_section_is_dropped_and_markers_renumbered():
    question = ask("Sở Y tế có nhiệm vụ gì?")
    good = passage("Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán.")
    bad = Citation(1, good, "một câu không có trong văn bản")
    kept = Citation(2, good, "hỗ trợ nạn nhân bị mua bán")
    answer = Answer("Sai [1]. Đúng [2].", True, (bad, kept))
    final = judge().accept(question, answer, judge().assess(question, [good]))
    assert final.answered and [c.quote for c in final.citations] == ["hỗ trợ nạn nhân bị mua bán"]
    assert final.answer == "Sai. Đúng [1]." and [c.n for c in final.citations] == [1]


def test_answered_means_cited():
    question = ask("Sở Y tế có nhiệm vụ gì?")
    good = passage("Sở Y tế chủ trì hỗ trợ nạn nhân bị mua bán.")
    verdict = judge().assess(question, [good])
    uncited = judge().accept(question, Answer("Sở Y tế hỗ trợ nạn nhân.", True), verdict)
    assert uncited.answered is False and "Không tìm thấy" in uncited.answer
    english = judge().accept(ask("What is the Department of Health assigned?"), Answer("x", True), verdict)
    assert english.answered is False and english.answer.startswith("No passage")


def test_when_is_answered_only_by_a_passage_stating_a_date():
    question = ask("Sở Y tế gửi báo cáo trước ngày nào?")
    dated = passage("Sở Y tế gửi báo cáo trước ngày 10/6.")
    undated = passage("Sở Y tế gửi báo cáo kết quả về Công an tỉnh.")
    assert judge().score(question, dated) >= judge().threshold > judge().score(question, undated) == 0.0


def test_a_passage_must_hold_some_of_the_question_word_pairs():
    """Syllables alone match by accident: "hộ chiếu" is not "hộ gia đình … chiếu sáng"."""
    question = ask("Cấp hộ chiếu phổ thông ở đâu?")
    scattered = passage("Hộ gia đình được phổ biến tin tức; hệ thống chiếu sáng giao thông; cấp xã.")
    assert judge().score(question, scattered) == 0.0
    assert judge().score(question, passage("Cấp hộ chiếu phổ thông tại Công an tỉnh.")) > 0.9


@pytest.mark.parametrize(
    ("absent", "present"),
    [("Công an tỉnh Nghệ An phải đạt tỷ lệ điều tra, khám phá án hình sự bao nhiêu phần trăm?",
      "Công an tỉnh Lào Cai phải đạt tỷ lệ điều tra, khám phá án hình sự bao nhiêu phần trăm?"),
     ("Sở Ngoại vụ có nhiệm vụ gì trong công tác phòng, chống tội phạm?",
      "Sở Tư pháp có nhiệm vụ gì trong công tác phòng, chống tội phạm?"),
     ("Luật Cư trú quy định gì về cai nghiện ma túy?",
      "Luật Phòng, chống ma túy quy định gì về cai nghiện ma túy?"),
     ("Nghị định 145/2020/NĐ-CP quy định gì về phối hợp giữa Bộ Công an và Bộ Quốc phòng?",
      "Nghị định 03/2019/NĐ-CP quy định gì về phối hợp giữa Bộ Công an và Bộ Quốc phòng?"),
     ("Kế hoạch 512/KH-UBND giao nhiệm vụ gì cho Công an tỉnh?",
      "Kế hoạch 195/KH-UBND giao nhiệm vụ gì cho Công an tỉnh?")],
)
def test_what_the_question_names_must_be_in_the_passage(absent, present):
    service = hashed_service()
    refused, answered = service.chat(absent), service.chat(present)
    assert refused.answered is False and refused.citations == ()
    assert answered.answered and answered.citations


@pytest.mark.parametrize("text", ["Xin chào", "Bạn có khỏe không?", "Cảm ơn nhé!", "hello",
                                  "Điều 33 Luật Cư trú quy định gì?", "Sở Y tế có nhiệm vụ gì về bóng đá?"])
def test_refused(text):
    answer = hashed_service().chat(text)
    assert answer.answered is False and answer.citations == ()


def test_the_answerer_is_not_asked_when_the_judge_refuses(monkeypatch):
    """The judge decides before composing: an answerer (a language model) need not decide "answered"."""
    service = hashed_service()
    calls = []
    monkeypatch.setattr(service.answerer, "stream", lambda q, p: calls.append(p) or iter([Answer("x", True)]))
    assert service.chat("Mức phạt đối với người lái xe có nồng độ cồn là bao nhiêu tiền?").answered is False
    assert calls == []
    answer = service.chat("Hình thức khen thưởng tổng kết phong trào thi đua gồm những gì?")
    assert len(calls) == 1 and calls[0]  # asked with the passages the judge found answering …
    assert answer.answered is False  # … and an uncited answer is not let through


def test_one_scale_for_the_task_list():
    """The task list answers only when the agency's tasks hold the rest of the question."""
    service = hashed_service()
    assert service.chat("Sở Y tế có nhiệm vụ gì?").mode == "tasks"
    answer = service.chat("Sở Y tế phối hợp với Sở Công Thương làm gì?")
    assert answer.answered and all("Công Thương" in c.quote for c in answer.citations)
    assert all(re.search(r"\[\d+\]", line) for line in answer.answer.splitlines() if line.startswith("- "))

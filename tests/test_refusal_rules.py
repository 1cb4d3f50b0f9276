"""Refusing what the documents do not say (issue 13): what a question asks for, read from the
lexicon tables (tests/data/question_asks.tsv), what a passage states (tests/data/figures.tsv),
the judge on single passages, and follow-ups without diacritics. The sample documents are
indexed with the hashing embedder (tests/hashed.py): no model, a few seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.contextualize import RuleContextualizer
from bot.figures import states_figure
from bot.judge import Judge
from bot.service import Turn
from tests.hashed import hashed_service
from vectorstore.question import read_question
from vectorstore.records import DocumentRecord, StoredChunk
from vectorstore.retriever import Passage
from vectorstore.text import default_lexicon

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


def _list(cell: str) -> tuple[str, ...]:
    return () if cell == "-" else tuple(cell.split(","))


def ask(text: str):
    return read_question(text, default_lexicon())


@pytest.mark.parametrize("row", _rows("question_asks.tsv"), ids=lambda row: row[0][:40])
def test_what_a_question_asks_for(row):
    text, measure, identifier, dated, place, numbers, untranslated = row
    question = ask(text)
    assert question.measure == _list(measure)
    assert question.identifier == (identifier == "yes")
    assert question.dated == (dated == "yes")
    assert question.which_place == _list(place)
    assert question.numbers == _list(numbers)
    assert question.untranslated == _list(untranslated)


@pytest.mark.parametrize("row", _rows("figures.tsv"), ids=lambda row: row[0][:40])
def test_what_figure_a_passage_states(row):
    text, measure, identifier, expected = row
    assert states_figure(text, default_lexicon(), _list(measure), identifier == "yes") == (expected == "yes")


DOC = DocumentRecord("d1", "kh.txt", "v1", title="Phòng, chống tội phạm năm 2026", doc_number="/KH-BCĐ",
                     doc_type="Kế hoạch", date="2026-02", place="Lào Cai")


def passage(text: str, heading: str = "1. Công an tỉnh") -> Passage:
    return Passage(StoredChunk("c1", "d1", "v1", text, f"III › {heading}", ("III", heading)), DOC, 1.0)


def judge() -> Judge:
    return Judge(lambda term: 1.0, default_lexicon())


@pytest.mark.parametrize(("question", "absent", "present"), [
    ("Có bao nhiêu người nghiện ma túy trên địa bàn tỉnh?",
     "Thực hiện Kế hoạch số 54/KH-UBND ngày 15/8/2025 về cai nghiện ma túy trên địa bàn tỉnh.",
     "Trên địa bàn tỉnh có 1.200 người nghiện ma túy."),
    ("Công an tỉnh phải báo cáo trước ngày nào?",
     "Công an tỉnh báo cáo hằng năm.",
     "Công an tỉnh báo cáo trước ngày 20/11 hằng năm."),
    ("Ngày hội năm 2026 tổ chức tại xã nào?",
     "Tổ chức Ngày hội năm 2026 tại các xã, phường.",
     "Tổ chức Ngày hội năm 2026 tại xã Bản Xèo."),
    ("Công an tỉnh phải đạt tỷ lệ 95% trong điều tra án hình sự?",
     "Công an tỉnh phấn đấu tỷ lệ điều tra án hình sự đạt từ 85% trở lên.",
     "Công an tỉnh phấn đấu tỷ lệ điều tra án hình sự đạt 95% trở lên."),
])
def test_a_passage_must_state_what_is_asked(question, absent, present):
    asked = ask(question)
    assert judge().score(asked, passage(absent)) == 0.0
    assert judge().score(asked, passage(present)) >= judge().threshold


def test_english_words_without_a_translation_count_against_a_passage():
    text = "Sở Tài chính phân bổ kinh phí ngân sách, báo cáo trước ngày 10/6."
    known = ask("When is the deadline for the Department of Finance budget report?")
    unknown = ask("When is the deadline for the Ministry of Finance budget report?")
    assert unknown.untranslated == ("ministry",) and not known.untranslated
    assert judge().score(known, passage(text, "14. Sở Tài chính")) > judge().score(unknown, passage(text))


@pytest.mark.parametrize("text", [
    "Năm 2025 Lào Cai xảy ra bao nhiêu vụ tai nạn giao thông?",
    "Có bao nhiêu người nghiện ma túy trên địa bàn tỉnh Lào Cai năm 2025?",
    "Phạt bao nhiêu tiền khi không đăng ký tạm trú?",
    "When is the deadline for the Ministry of Finance budget report?",
    "Ngày hội toàn dân bảo vệ an ninh Tổ quốc năm 2026 tổ chức tại xã nào?",
])
def test_absent_facts_are_refused(text):
    answer = hashed_service().chat(text)
    assert answer.answered is False and answer.citations == ()


@pytest.mark.parametrize(("text", "fact"), [
    ("Tỷ lệ giải quyết tố giác, tin báo về tội phạm phải đạt bao nhiêu?", "90%"),
    ("Năm 2026 kỷ niệm bao nhiêu năm Ngày truyền thống Công an nhân dân Việt Nam?", "81"),
    ("Văn phòng UBND tỉnh Lai Châu báo cáo 01 năm trước ngày nào?", "30/10/2026"),
])
def test_figures_and_dates_that_are_there_are_answered(text, fact):
    answer = hashed_service().chat(text)
    assert answer.answered and fact in answer.answer


def _reader():
    lexicon = default_lexicon()
    return lambda text: read_question(text, lexicon)


@pytest.mark.parametrize("previous", ["so giao duc va dao tao co nhiem vu gi", "Sở GD&ĐT có nhiệm vụ gì?"])
@pytest.mark.parametrize("follow_up", ["Còn Sở Y tế thì sao?", "con so y te thi sao", "con so y te"])
def test_follow_ups_swap_the_agency_with_or_without_diacritics(previous, follow_up):
    history = [Turn("user", previous), Turn("assistant", "…")]
    rewritten = RuleContextualizer(reader=_reader()).rewrite(follow_up, history)
    question = ask(rewritten)
    assert [a.id for a in question.agencies] == ["so-y-te"]
    assert "nhiem vu" in rewritten or "nhiệm vụ" in rewritten


@pytest.mark.parametrize("follow_up", ["Còn Sở Y tế thì sao?", "con so y te thi sao"])
def test_a_follow_up_answer_does_not_mix_the_previous_agency(follow_up):
    service = hashed_service()
    history = [Turn("user", "so giao duc va dao tao co nhiem vu gi"),
               Turn("assistant", service.chat("so giao duc va dao tao co nhiem vu gi").answer)]
    answer = service.chat(follow_up, history)
    assert answer.answered and answer.citations
    assert all("Giáo dục" not in c.passage.chunk.section for c in answer.citations)
    assert any("Sở Y tế" in c.passage.chunk.section for c in answer.citations)


@pytest.mark.parametrize(("text", "names"), [
    ("Đà Nẵng có kế hoạch phòng, chống tội phạm năm 2026 không?", (("da", "nang"),)),
    ("Huyện Mù Cang Chải yêu cầu gửi đăng ký thi đua trước ngày nào?", (("mu", "cang", "chai"),)),
    ("How many traffic accidents happened in Lao Cai?", (("lao", "cai"),)),
    ("Sở Văn hóa, Thể thao và Du lịch có nhiệm vụ gì?", ()),  # an agency's name
    ("UBND tỉnh ban hành Kế hoạch số 195/KH-UBND ngày nào?", ()),
])
def test_names_a_question_gives(text, names):
    assert ask(text).names == names


def test_a_name_the_passage_lacks_leaves_it_unanswered():
    asked = ask("Đà Nẵng giao Công an tỉnh nhiệm vụ gì?")
    assert judge().score(asked, passage("Công an tỉnh chủ trì phòng, chống tội phạm.")) == 0.0
    assert judge().score(asked, passage("Đà Nẵng giao Công an tỉnh chủ trì phòng, chống tội phạm.")) > 0.0

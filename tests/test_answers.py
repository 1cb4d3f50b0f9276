"""Retrieval and extractive answers on the five sample documents.

Tests marked slow use the real model and real Chroma (``seeded_service``); the others use the
same documents indexed with the hashing embedder (tests/hashed.py) and run in seconds.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bot.extract import states_date
from ingest.folding import fold
from tests.conftest import ROOT
from tests.hashed import hashed_service

slow = pytest.mark.slow


def sources(passages):
    return [p.document.source for p in passages]


@slow
def test_accentless_and_english_questions_find_the_same_passages(seeded_service):
    for question in ("Cơ sở giáo dục phải đăng ký gì trong Quý I?", "co so giao duc dang ky gi trong quy 1",
                     "what must a school register in Q1"):
        top = seeded_service.search(question, 5)
        assert any(p.chunk.section == "1 › c) Đối với cơ sở giáo dục" for p in top), question


@slow
def test_english_question_naming_a_vietnamese_agency(seeded_service):
    answer = seeded_service.chat("what is Sở Y tế assigned")
    assert answer.answered and answer.citations[0].passage.chunk.section == "III › 7. Sở Y tế"


@slow
def test_abbreviation_in_question_matches_spelled_out_text(seeded_service):
    top = seeded_service.search("Sở GD&ĐT có nhiệm vụ gì về PCTP?", 3)
    assert top[0].chunk.section == "III › 8. Sở Giáo dục và Đào tạo"


@slow
def test_ocr_document_is_searchable(seeded_service):
    top = seeded_service.search("Công an tỉnh có trách nhiệm gì trong việc triển khai Kế hoạch 195?", 5)
    assert any(p.chunk.section == "VI › 2. Cong an tinh" for p in top)


@slow
def test_answer_cites_each_marker_with_exact_quotes(seeded_service):
    answer = seeded_service.chat("Cơ sở giáo dục phải đăng ký gì trong Quý I?")
    assert answer.answered
    markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)})
    assert markers == [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    cited = {c.passage.document.source: c for c in answer.citations}
    assert {"004_efdf551c7c231efb.txt", "000_37051849595c08ae.txt"} <= set(cited)
    assert cited["004_efdf551c7c231efb.txt"].passage.chunk.section == "1 › c) Đối với cơ sở giáo dục"
    assert "an toàn về an ninh, trật tự" in answer.answer.lower()


@slow
@pytest.mark.parametrize(
    "question",
    ["Sở Y tế phối hợp thực hiện những việc gì?", "Văn phòng UBND tỉnh Lai Châu phải báo cáo 6 tháng trước ngày nào?",
     "Ai ký phát động thi đua của huyện Trạm Tấu?", "Hình thức khen thưởng tổng kết phong trào thi đua gồm những gì?"],
)
def test_quotes_are_text_of_the_cited_section(seeded_service, question):
    answer = seeded_service.chat(question)
    assert answer.answered and answer.citations
    for c in answer.citations:
        doc_id = c.passage.document.id
        section_text = "\n".join(
            p.chunk.text for p in seeded_service.retriever.document_passages(doc_id)
            if p.chunk.section == c.passage.chunk.section
        )
        assert c.quote and c.quote in section_text and c.quote in c.passage.chunk.text
        parts = c.passage.chunk.section.split(" › ")
        headings = c.passage.chunk.headings
        assert len(parts) == len(headings)
        assert all(full.startswith(short.rstrip("…")) for short, full in zip(parts, headings))


@slow
def test_deadline_answer_quotes_the_date(seeded_service):
    answer = seeded_service.chat("Văn phòng UBND tỉnh Lai Châu phải báo cáo 6 tháng trước ngày nào?")
    assert "30/5/2026" in answer.answer
    assert answer.citations[0].passage.document.source == "001_cd0bcd3875959a6e.txt"


@slow
@pytest.mark.parametrize(
    ("question", "date"),
    [("Hạn nộp báo cáo năm là khi nào?", "30/10/2026"),  # the passage says "trước ngày", not "hạn" or "nộp"
     ("Thời hạn gửi báo cáo năm cho Công an tỉnh?", "10/12"),
     ("Khi nào nộp báo cáo 6 tháng?", "30/5/2026"),
     ("Sở Y tế gửi báo cáo 6 tháng trước ngày nào?", "10/6")],  # addressed to "các ngành thành viên"
)
def test_deadline_words_are_answered_by_a_stated_date(seeded_service, question, date):
    answer = seeded_service.chat(question)
    assert answer.answered, question
    assert any(date in c.quote for c in answer.citations), [c.quote for c in answer.citations]
    assert all(states_date(c.quote) for c in answer.citations)  # dates, not the agency's other duties


@slow
def test_a_named_agency_is_answered_only_by_passages_about_it(seeded_service):
    # Sở Y tế's section states no date; Sở Nông nghiệp's states dates and reports but is not
    # about Sở Y tế. Neither answers "when", so nothing may be passed off as the answer.
    answer = seeded_service.chat("when must the Department of Health report")
    assert not answer.answered or any(states_date(c.quote) for c in answer.citations), answer.answer


@slow
def test_signer_question_quotes_the_signature(seeded_service):
    answer = seeded_service.chat("Ai ký công văn phát động thi đua năm 2026 của Ban Chỉ đạo tỉnh Lào Cai?")
    assert "Ngô Hạnh Phúc" in answer.answer
    assert answer.citations[0].quote.endswith("Ngô Hạnh Phúc")
    assert answer.citations[0].passage.chunk.section == "Phần kết"


@slow
@pytest.mark.parametrize(
    "question",
    ["Mức phạt đối với người lái xe có nồng độ cồn là bao nhiêu tiền?",
     "Thủ tục cấp căn cước cho trẻ em gồm những giấy tờ gì?",
     "Giá vé máy bay Hà Nội đi Đà Nẵng tháng này là bao nhiêu?",
     "Lịch thi đại học năm nay?",  # "đại", "học", "thi", "năm" each occur, "đại học" nowhere
     "Lịch nghỉ Tết Nguyên đán năm 2026?",  # folded, "nghỉ" would be the documents' "nghị"
     "How much is the fine for speeding?"],  # "phạt" (fine), not "phát" (phát động)
)
def test_not_found_is_said_plainly(seeded_service, question):
    answer = seeded_service.chat(question)
    assert not answer.answered
    assert answer.citations == ()
    assert "Không tìm thấy" in answer.answer


@slow
def test_langchain_retriever(seeded_service):
    from langchain_core.documents import Document

    from vectorstore.langchain_retriever import LangChainRetriever

    retriever = LangChainRetriever(retriever=seeded_service.retriever, k=3)
    docs = retriever.invoke("Sở Tài chính có nhiệm vụ gì?")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    assert docs[0].metadata["section"] == "III › 14. Sở Tài chính"
    assert "kinh phi" in fold(docs[0].page_content)


def test_a_service_without_a_language_model_never_imports_langchains_retrievers(tmp_path):
    """LangChain's retriever machinery (langsmith's run trees with it, ~0.4 s of a server's start)
    is imported only where an LLM chain is built."""
    code = ("import sys; from pathlib import Path; from bot.settings import Settings; "
            "from bot.wiring import build_service; "
            f"service = build_service(Settings(data_dir=Path({str(tmp_path)!r}), embedder='e5')); "
            "print(service.search('Sở Y tế', 3), 'langchain_core.retrievers' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if "LLM_" not in k}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert out.stdout.split() == ["[]", "False"], out.stderr[-2000:]


@slow
def test_registry_aliases_find_the_same_passages(seeded_service):
    """The agency registry is shared with search: abbreviation, full name and English meet."""
    tops = [
        [p.chunk.id for p in seeded_service.search(q, 3)]
        for q in ("nhiệm vụ của Sở GD&ĐT", "nhiệm vụ của Sở Giáo dục và Đào tạo",
                  "tasks of the Department of Education")
    ]
    assert tops[0][0] == tops[1][0] == tops[2][0]
    top = seeded_service.search("tasks of the Department of Education", 1)[0]
    assert top.chunk.section == "III › 8. Sở Giáo dục và Đào tạo"


# -- composing answers: the hashing index, no model ---------------------------------------------

THREE_PLANS = "Định kỳ báo cáo kết quả thực hiện trước ngày nào?"


def documents_in_order(answer) -> list[str]:
    """The documents the answer quotes, in the order its text groups them."""
    return list(dict.fromkeys(c.passage.document.source for c in sorted(answer.citations, key=lambda c: c.n)))


def assert_grouped_newest_first(answer) -> None:
    sources = documents_in_order(answer)
    dates = [next(c.passage.document.date for c in answer.citations if c.passage.document.source == s)
             for s in sources]
    assert dates == sorted(dates, reverse=True), dates
    labels = [next(c.passage.document.label for c in answer.citations if c.passage.document.source == s)
              for s in sources]
    positions = [answer.answer.index(f"**{label}**") for label in labels]
    assert positions == sorted(positions)  # each document's heading, in that order
    for c in answer.citations:  # each document's quotes under its own heading
        heading = answer.answer.index(f"**{c.passage.document.label}**")
        assert heading < answer.answer.index(f"[{c.n}]")


def test_a_deadline_stated_in_three_documents_cites_all_three_grouped_newest_first():
    answer = hashed_service().chat(THREE_PLANS)
    assert answer.answered
    assert set(documents_in_order(answer)) == {
        "001_cd0bcd3875959a6e.txt", "002_11ae31a54952ac5b.txt", "003_aab6fb287954f5ee.txt"}
    assert_grouped_newest_first(answer)
    assert documents_in_order(answer)[-1] == "002_11ae31a54952ac5b.txt"  # 195/KH-UBND, 17/12/2025: oldest
    for date in ("10/6", "30/5/2026", "15 thang 11"):
        assert date in answer.answer
    assert "thời hạn khác nhau" in answer.answer  # the documents differ, and the answer says so


@slow
def test_a_deadline_stated_in_three_documents_with_the_real_model(seeded_service):
    answer = seeded_service.chat(THREE_PLANS)
    assert len(set(documents_in_order(answer))) == 3
    assert_grouped_newest_first(answer)


def test_one_source_per_section_with_several_quotes():
    answer = hashed_service().chat("Sở Y tế có nhiệm vụ gì?")
    assert answer.mode == "tasks" and answer.answered
    sections = [(c.passage.document.id, c.passage.chunk.section) for c in answer.citations]
    assert len(sections) == len(set(sections)) == 1
    (citation,) = answer.citations
    assert len(citation.quotes) >= 3 and all(q in citation.passage.chunk.text for q in citation.quotes)
    assert answer.answer.count("[1]") == len(citation.quotes)
    assert citation.to_dict()["quotes"] == list(citation.quotes)


@pytest.mark.parametrize(
    ("question", "framing"),
    [("What is the Department of Finance assigned?", "is assigned these tasks"),
     ("when must the yearly report be sent", "According to"),
     ("what must a school register in Q1", "documents (newest first; quoted in Vietnamese)")],
)
def test_an_english_question_gets_english_framing_around_vietnamese_quotes(question, framing):
    answer = hashed_service().chat(question)
    assert answer.answered and framing in answer.answer
    assert all(fold(c.quote) in fold(c.passage.chunk.text) for c in answer.citations)
    assert "Theo **" not in answer.answer and "Các văn bản" not in answer.answer


def test_a_vietnamese_question_gets_vietnamese_framing():
    answer = hashed_service().chat("Cơ sở giáo dục phải đăng ký gì trong Quý I?")
    assert answer.answered and "văn bản" in answer.answer and "According to" not in answer.answer


def test_an_english_question_not_found_says_so_in_both_languages():
    answer = hashed_service().chat("What is the capital of France?")
    assert not answer.answered and answer.answer.startswith("No passage") and "Không tìm thấy" in answer.answer

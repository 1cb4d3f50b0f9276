"""Chunks that respect articles, carry their context, and cut any paragraph without recursion."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ingest.chunker import chunk_document, estimate_tokens, split_text
from ingest.folding import fold
from ingest.pipeline import parse_bytes, parse_file
from vectorstore.records import DocumentRecord, StoredChunk, embedding_text, index_text

LEGAL = Path(__file__).parent / "data" / "legal"

POINTS = "\n".join(f"{letter}) Nội dung điểm {letter} về trách nhiệm phối hợp trong quản lý cư trú tại địa phương;"
                   for letter in "abcdeghik")
LAW = f"""LUẬT THỬ NGHIỆM 2024

Chương I
QUY ĐỊNH CHUNG

Điều 1. Phạm vi điều chỉnh
Luật này quy định về thử nghiệm.

Điều 2. Đối tượng áp dụng
Luật này áp dụng đối với cơ quan, tổ chức.

Điều 3. Nguyên tắc
1. Công khai.
2. Minh bạch.
3. Đúng pháp luật.

Chương II
TRÁCH NHIỆM

Điều 4. Trách nhiệm của Bộ Công an
1. Bộ Công an có trách nhiệm sau đây:
{POINTS}
2. Bộ Công an báo cáo Chính phủ hằng năm.

Điều 5. Hiệu lực thi hành
Luật này có hiệu lực thi hành từ ngày 01 tháng 01 năm 2025.
"""


@pytest.fixture(scope="module")
def law():
    return parse_bytes(LAW.encode(), "luat_thu_nghiem.txt")


def _chunks(doc, max_tokens=400):
    return chunk_document(doc, max_tokens, estimate_tokens, article_tokens=max_tokens)


def test_short_articles_are_not_glued_and_short_clauses_stay_together(law):
    chunks = [c for c in _chunks(law) if c.kind == "body"]
    assert [c.structure["article"] for c in chunks] == ["1", "2", "3", "4", "5"]
    third = chunks[2]
    assert third.section == "Chương I › Điều 3. Nguyên tắc"
    assert third.text == "Điều 3. Nguyên tắc\n1. Công khai.\n2. Minh bạch.\n3. Đúng pháp luật."


def test_a_passage_never_holds_two_articles_and_each_article_heads_its_own(law):
    for budget in (40, 80, 400):
        for chunk in _chunks(law, budget):
            if chunk.kind != "body":
                continue
            lines = chunk.text.split("\n")
            assert not any(line.startswith("Điều ") for line in lines[1:]), (budget, chunk.text)
            if lines[0].startswith("Điều "):
                assert lines[0].split(".")[0] == f"Điều {chunk.structure['article']}"
            assert f"Điều {chunk.structure['article']}." in chunk.section


def test_a_cut_article_repeats_its_lead_in_and_names_the_clause(law):
    chunks = [c for c in _chunks(law, 80) if c.structure["article"] == "4"]
    assert chunks[0].text.startswith("Điều 4. Trách nhiệm của Bộ Công an\n1. Bộ Công an có trách nhiệm sau đây:")
    assert all(estimate_tokens(c.text) <= 80 for c in chunks)
    with_points = [c for c in chunks if "Nội dung điểm" in c.text]
    assert len(with_points) >= 3
    for chunk in with_points:  # every passage of points opens with the line that introduces them
        assert "1. Bộ Công an có trách nhiệm sau đây:" in chunk.text.split("\n")[:2]
    inside = [c for c in chunks if c.section == "Chương II › Điều 4. Trách nhiệm của Bộ Công an › khoản 1"]
    assert len(inside) >= 2 and all(c.structure == {"article": "4", "clause": "1", "point": ""} for c in inside)
    last = chunks[-1]
    assert last.text.endswith("2. Bộ Công an báo cáo Chính phủ hằng năm.")
    assert last.structure["article"] == "4" and last.section.startswith("Chương II › Điều 4.")


def test_nothing_is_lost_in_chunks(law):
    for budget in (40, 400):
        chunked = fold(" ".join(c.text for c in _chunks(law, budget)))
        for para in law.paragraphs:
            assert fold(para.text) in chunked


def test_point_passages_carry_clause_and_point():
    doc = parse_file(LEGAL / "nghi_dinh.txt")
    chunks = chunk_document(doc, 12, estimate_tokens, article_tokens=12)
    point = next(c for c in chunks if "Biên lai nộp lệ phí" in c.text)
    assert point.structure == {"article": "3", "clause": "1", "point": "b"}
    assert point.section == "Chương II › Điều 3. Hồ sơ đăng ký lần đầu › khoản 1 › điểm b"


def test_articles_get_half_the_budget_and_plans_all_of_it(law):
    doc = parse_file(LEGAL / "ke_hoach.txt")
    for budget in (40, 60):
        legal = [c for c in chunk_document(law, budget, estimate_tokens) if c.structure["article"]]
        assert all(estimate_tokens(c.text) <= budget // 2 for c in legal)
        assert any(estimate_tokens(c.text) > budget // 2 for c in chunk_document(doc, budget, estimate_tokens))
    assert len([c for c in chunk_document(law, 80, estimate_tokens) if c.structure["article"] == "4"]) > \
        len([c for c in _chunks(law, 80) if c.structure["article"] == "4"])


def test_plan_sections_are_chunked_as_before():
    doc = parse_file(LEGAL / "ke_hoach.txt")
    chunks = _chunks(doc)
    assert {c.section for c in chunks if c.kind == "body"} >= {"I › 1. Mục đích › a)", "I › 1. Mục đích › b)",
                                                                "I › 2. Yêu cầu", "II › 1"}
    assert all(c.structure == {"article": "", "clause": "", "point": ""} for c in chunks)


def test_finding_3_unbreakable_run_is_split_without_recursion(e5):
    runs = ["x" * 3000, parse_bytes(b"\xff\xfe\xc3\x28" * 1000, "bad.txt").text]
    e5.count_tokens("x")  # load the model (and torch) first: an import under a low limit would break it
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # the old chunker recursed once per halving: far deeper than this
    try:
        for run in runs:
            for count in (estimate_tokens, e5.count_tokens):
                pieces = split_text(run, 400, count)
                assert len(pieces) == (1 if count(run) <= 400 else len(pieces)) > 0
                assert "".join(pieces) == run.strip() and (count(run) <= 400 or len(pieces) > 1)
                assert all(count(p) <= 400 for p in pieces)
        doc = parse_bytes(("I. MỤC ĐÍCH\n\n" + "x" * 3000 + "\n").encode(), "x.txt")
        chunks = chunk_document(doc, 400, e5.count_tokens)
    finally:
        sys.setrecursionlimit(limit)
    assert "".join(c.text for c in chunks if c.kind == "body") == "x" * 3000


def _stored(chunk, doc_id="luat", version="v1") -> StoredChunk:
    return StoredChunk(
        id=f"{doc_id}:{chunk.index}", document_id=doc_id, version=version, text=chunk.text, section=chunk.section,
        headings=tuple(chunk.headings), kind=chunk.kind, page=chunk.page, index=chunk.index, **chunk.structure,
    )


def test_indexed_and_embedded_text_carry_the_law_name_and_path(law, e5):
    record = DocumentRecord("luat", "luat_thu_nghiem.txt", "v1", title=law.meta.title, doc_type=law.meta.doc_type)
    chunk = _stored(next(c for c in chunk_document(law, 400, e5.count_tokens) if c.structure["article"] == "4"))
    text = embedding_text(chunk, record, e5.count_tokens)
    assert text.startswith("Luật Thử nghiệm 2024 | ") and "Điều 4. Trách nhiệm của Bộ Công an" in text
    assert "Luật Thử nghiệm 2024" in index_text(chunk, record)
    meta = chunk.to_metadata(record)
    back = StoredChunk.from_metadata(chunk.id, chunk.text, meta)
    assert (back.article, back.clause, back.point) == ("4", "", "")


def test_embedded_text_stays_within_the_model_limit(e5):
    words = " ".join(["đăng ký thường trú tại chỗ ở hợp pháp"] * 200)
    chunk_text = split_text(words, 400, e5.count_tokens)[0]
    long_heading = "Điều 9. " + "Trách nhiệm của các cơ quan " * 30
    chunk = StoredChunk("c", "d", "v", chunk_text, "s", ("Chương I. " + "QUY ĐỊNH " * 40, long_heading, "1."))
    record = DocumentRecord("d", "d.txt", "v", title="Cư trú " * 60, doc_type="Luật")
    text = embedding_text(chunk, record, e5.count_tokens)
    assert e5.count_tokens(text) <= 512
    assert text.endswith(chunk_text) and "1." in text.split("\n")[0]


@pytest.mark.slow
def test_finding_3_cli_folder_ingest_continues_after_an_unbreakable_run(tmp_path):
    from tests.test_cli import run

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a-run.txt").write_text("I. MỤC ĐÍCH\n\n" + "x" * 3000 + "\n", encoding="utf-8")
    plan = "KẾ HOẠCH\n\nKiểm tra chợ\n\n1. Công an xã tuần tra chợ phiên.\n"
    (docs / "b-plan.txt").write_text(plan, encoding="utf-8")
    result = run("ingest", str(docs), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    assert "a-run.txt" in result.stdout and "b-plan.txt" in result.stdout and "Xong: 2 thêm" in result.stdout


@pytest.mark.slow
def test_stored_passages_carry_structure_and_clause_tasks_find_their_article(indexer):
    result = indexer.ingest_file(LEGAL / "nghi_dinh.txt")
    assert result.ok
    store = indexer.store
    chunks = store.chunks_of(result.document_id)
    article_3 = [c for c in chunks if c.article == "3"]
    assert article_3 and all(c.section.startswith("Chương II › Điều 3.") for c in article_3)
    record = store.document(result.document_id)
    assert (record.doc_type, record.effective_date, record.label) == ("Nghị định", "2021-02-01",
                                                                     "Nghị định 145/2020/NĐ-CP")
    tasks = [t for t in store.live_tasks() if t.document_id == result.document_id]
    in_clauses = [t for t in tasks if "› khoản" in t.section]
    assert in_clauses, [t.section for t in tasks]
    by_id = {c.id: c for c in chunks}
    for task in in_clauses:
        home = by_id[task.chunk_id]
        assert task.section.startswith(home.section) and " ".join(task.quote.split()) in " ".join(home.text.split())

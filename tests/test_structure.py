"""The structure of legal and administrative texts: numbering kinds (ingest/data/numbering.tsv) and section paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.numbering import kinds, match_marker, rank
from ingest.pipeline import parse_bytes, parse_file

LEGAL = Path(__file__).parent / "data" / "legal"


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("Phụ lục I. DANH MỤC BIỂU MẪU", "appendix", "I"),
        ("PHỤ LỤC", "appendix", ""),
        ("Phụ lục số 2", "appendix", "2"),
        ("PHẦN THỨ NHẤT", "division", "thứ nhất"),
        ("Phần II. QUY ĐỊNH CỤ THỂ", "division", "II"),
        ("Chương II", "chapter", "II"),
        ("CHƯƠNG 3: TỔ CHỨC THỰC HIỆN", "chapter", "3"),
        ("Chương IV QUY ĐỊNH CHUNG", "chapter", "IV"),
        ("Mục 2. ĐĂNG KÝ THƯỜNG TRÚ", "section", "2"),
        ("MỤC 1", "section", "1"),
        ("Tiểu mục 1. Giấy tờ cấp cho công dân", "subsection", "1"),
        ("Điều 12. Hoạt động của trường quay", "article", "12"),
        ("Điều 5a. Quyền của người học", "article", "5a"),
        ("Điều 5: Nguyên tắc", "article", "5"),
        ("Điều 5.", "article", "5"),
        ("ĐIỀU 7. PHẠM VI ĐIỀU CHỈNH", "article", "7"),
        ("Dieu 3. Giao nhiem vu", "article", "3"),  # OCR without diacritics
        ("Điều 1. Ban hành kèm theo Quyết định này Quy chế làm việc.", "article", "1"),
        ("A. KẾT QUẢ THỰC HIỆN", "alpha", "A"),
        # plan numbering (I., 1., 1.1., a), -, +): tests/test_normalize.py::test_markers
    ],
)
def test_each_numbering_kind(text, kind, label):
    marker = match_marker(text)
    assert marker is not None and (marker.kind, marker.label) == (kind, label)


@pytest.mark.parametrize(
    "text",
    [
        "Mục tiêu của kế hoạch là bảo đảm an ninh.",
        "Mục đích của đánh giá viên chức để làm căn cứ bố trí.",
        "Chương trình công tác năm 2026",
        "Điều 5 của Luật này được sửa đổi như sau:",
        "Phần kết",
        "Phụ lục kèm theo gồm các biểu mẫu.",
        "Điều lệ Hội Cựu chiến binh",
        "Mục 2 quy định về đăng ký thường trú.",
        "2026 là năm",
        "-5 độ",
    ],
)
def test_words_that_are_not_numbering(text):
    assert match_marker(text) is None


def test_the_table_orders_legal_and_plan_ranks():
    order = ["appendix", "division", "chapter", "section", "subsection", "article", "roman", "arabic", "letter"]
    assert [rank(k) for k in order] == sorted(rank(k) for k in order)
    assert rank("decimal", "3.1.2") > rank("decimal", "3.1") > rank("arabic")
    assert kinds()["arabic"].inside == "clause" and kinds()["letter"].inside == "point"


def _sections(doc) -> list[str]:
    return [p.section for p in doc.paragraphs]


def test_nghi_dinh_chapters_articles_clauses_points():
    doc = parse_file(LEGAL / "nghi_dinh.txt")
    sections = _sections(doc)
    assert "Chương II › Điều 3. Hồ sơ đăng ký lần đầu › khoản 1 › điểm a" in sections
    assert "Chương I › Điều 2. Đối tượng áp dụng › khoản 2" in sections
    opening = [p.text for p in doc.paragraphs if p.section == "Mở đầu"]
    assert opening[0].startswith("Căn cứ Luật Tổ chức Chính phủ") and len(opening) == 4
    assert not any("Điều" in p.text for p in doc.paragraphs if p.kind == "header")
    lead = next(p for p in doc.paragraphs if p.section.endswith("Điều 3. Hồ sơ đăng ký lần đầu › khoản 1"))
    assert lead.text == "1. Chủ phương tiện nộp hồ sơ gồm các giấy tờ sau đây:"  # the lead-in is text


def test_article_heading_line_is_its_own_paragraph():
    doc = parse_file(LEGAL / "nghi_dinh.txt")
    heading = next(p for p in doc.paragraphs if p.text == "Điều 4. Hiệu lực thi hành")
    assert heading.kind == "heading" and heading.section == "Chương II › Điều 4. Hiệu lực thi hành"


def test_plan_numbering_stays_plan_numbering():
    doc = parse_file(LEGAL / "ke_hoach.txt")
    sections = _sections(doc)
    assert "I › 1. Mục đích › a)" in sections
    assert "II › 1" in sections
    assert not any("khoản" in s or "điểm" in s for s in sections)
    bullets = [p for p in doc.paragraphs if p.kind == "bullet"]
    assert [p.text[:1] for p in bullets] == ["-", "+"] and {p.section for p in bullets} == {"I › 2. Yêu cầu"}


def test_appendix_after_the_signature():
    doc = parse_file(LEGAL / "ke_hoach.txt")
    appendix = [p for p in doc.paragraphs if p.section.startswith("Phụ lục I. CHỈ TIÊU PHONG TRÀO NĂM 2026")]
    assert [p.section for p in appendix][-1] == "Phụ lục I. CHỈ TIÊU PHONG TRÀO NĂM 2026 › 2"
    assert doc.meta.signer == "Đỗ Văn Hải"


def test_thong_tu_sections_subsections_and_lettered_article():
    doc = parse_file(LEGAL / "thong_tu.txt")
    sections = _sections(doc)
    assert "Chương I › Mục 2 › Tiểu mục 1 › Điều 2. Mẫu phiếu khai báo › khoản 2" in sections
    assert "Chương I › Mục 1 › Điều 1a. Đối tượng áp dụng" in sections
    assert "Chương II › Điều 3. Hiệu lực thi hành" in sections  # Chương II closes Mục 2 and Tiểu mục 1


def test_quyet_dinh_and_its_attached_quy_che():
    doc = parse_file(LEGAL / "quyet_dinh.txt")
    sections = _sections(doc)
    assert "Điều 2" in sections and "Điều 3" in sections  # the decision's own short articles
    attached = "Quy chế: Phối hợp bảo đảm an ninh, trật tự tại các khu du lịch"
    assert f"{attached} › Chương II › Điều 3. Trao đổi thông tin" in sections
    assert f"{attached} › Chương I › Điều 2. Nguyên tắc phối hợp › khoản 1" in sections
    closing = [p for p in doc.paragraphs if p.kind == "closing"]
    assert len(closing) == 1 and "Lê Văn Cường" in closing[0].text and "Quy chế" not in closing[0].text
    assert doc.meta.signer == "Lê Văn Cường"


def test_bo_luat_parts():
    doc = parse_file(LEGAL / "bo_luat.txt")
    assert "Phần thứ nhất › Chương I › Điều 2. Giải thích từ ngữ › khoản 2" in _sections(doc)


def test_chi_thi_items():
    doc = parse_file(LEGAL / "chi_thi.txt")
    sections = _sections(doc)
    assert "1. Công an tỉnh › b)" in sections
    assert any(p.section == "2" and "Kiểm tra điều kiện an toàn" in p.text for p in doc.paragraphs)


def test_law_text_without_blank_lines_or_header():
    text = (
        "LUẬT PHÒNG CHÁY 2024\n"
        "Chương I\n"
        "QUY ĐỊNH CHUNG\n"
        "Điều 1. Phạm vi điều chỉnh\n"
        "Luật này quy định về phòng cháy và chữa cháy.\n"
        "Điều 2. Nguyên tắc\n"
        "1. Huy động sức mạnh tổng hợp của toàn dân.\n"
        "2. Lấy phòng ngừa là chính.\n"
    )
    doc = parse_bytes(text.encode(), "phong-chay.txt")
    assert [p.section for p in doc.paragraphs] == [
        "Phần đầu văn bản",
        "Chương I › Điều 1. Phạm vi điều chỉnh", "Chương I › Điều 1. Phạm vi điều chỉnh",
        "Chương I › Điều 2. Nguyên tắc",
        "Chương I › Điều 2. Nguyên tắc › khoản 1", "Chương I › Điều 2. Nguyên tắc › khoản 2",
    ]
    assert doc.paragraphs[0].text == "LUẬT PHÒNG CHÁY 2024"
    assert doc.section_tree()[1].to_dict()["heading"] == "Chương I. QUY ĐỊNH CHUNG"
    chapter = next(h for p in doc.paragraphs for h in p.path if h.kind == "chapter")
    assert chapter.full == "Chương I. QUY ĐỊNH CHUNG"


def test_first_articles_are_not_swallowed_by_the_header():
    text = "LUẬT CƯ TRÚ 2020\n\nĐiều 1. Phạm vi điều chỉnh\n\nLuật này quy định về cư trú.\n"
    doc = parse_bytes(text.encode(), "luat_cu_tru.txt")
    header = [p for p in doc.paragraphs if p.kind == "header"]
    assert [p.text for p in header] == ["LUẬT CƯ TRÚ 2020"]
    assert doc.paragraphs[-1].section == "Điều 1. Phạm vi điều chỉnh"
    assert "Phần đầu văn bản" not in {p.section for p in doc.paragraphs if "quy định" in p.text}

"""Parsing of the five sample documents: header facts and section paths."""

from __future__ import annotations

import pytest

from ingest.folding import fold
from ingest.pipeline import parse_file

EXPECTED_META = {
    "000_37051849595c08ae.txt": dict(
        doc_number="/CV-BCĐ", doc_type="Công văn", place="Lào Cai", date="2026-02",
        title="V/v phát động Phong trào thi đua toàn dân bảo vệ ANTQ năm 2026", signer="Ngô Hạnh Phúc",
        issuer="UBND TỈNH LÀO CAI – BCĐ PHÒNG CHỐNG TP, TNXH VÀ XDPT TOÀN DÂN BẢO VỆ ANTQ",
    ),
    "001_cd0bcd3875959a6e.txt": dict(
        doc_number="/KH-VPUBND", doc_type="Kế hoạch", place="Lai Châu", date="2026-02",
        title="Công tác xây dựng phong trào toàn dân bảo vệ an ninh Tổ quốc năm 2026", signer="Nguyễn Văn Ban",
        issuer="Văn phòng UBND tỉnh",
    ),
    "002_11ae31a54952ac5b.txt": dict(
        doc_number="195/KH-UBND", doc_type="Kế hoạch", place="Lao Cai", date="2025-12-17",
        date_text="ngay 17 thang 12 nam 2025", signer="Nguyén Tuén Anh", issuer="UY BAN NHAN DAN TINH LAO CAI",
        title="Trién khai thue hién Phong trao thi dua “Toan dan bdo v¢ an ninh to quoc” trén dia ban tinh Lao Cai",
    ),
    "003_aab6fb287954f5ee.txt": dict(
        doc_number="/KH-BCĐ", doc_type="Kế hoạch", place="Lào Cai", date="2026-02", signer="Ngô Hạnh Phúc",
        title="Công tác phòng, chống tội phạm, tệ nạn xã hội và xây dựng Phong trào toàn dân bảo vệ an ninh Tổ quốc"
        " năm 2026 trên địa bàn tỉnh Lào Cai",
        issuer="Ban Chỉ đạo phòng chống tội phạm, tệ nạn xã hội và xây dựng Phong trào toàn dân bảo vệ ANTT"
        " tỉnh Lào Cai",
    ),
    "004_efdf551c7c231efb.txt": dict(
        doc_number="08/PĐTĐ-BCĐ", doc_type="Phát động thi đua", place="Trạm Tấu", date="2024-02-19",
        date_text="ngày 19 tháng 02 năm 2024", title="Phong trào toàn dân bảo vệ an ninh Tổ quốc năm 2025",
        signer="Khang A Chua",
        issuer="Ban Chỉ đạo Phòng chống tội phạm, tệ nạn xã hội và xây dựng phong trào toàn dân bảo vệ an ninh"
        " Tổ quốc huyện Trạm Tấu",
    ),
}

EXPECTED_SECTIONS = {
    "003_aab6fb287954f5ee.txt": [
        "III › 8. Sở Giáo dục và Đào tạo", "III › 1. Công an tỉnh", "III › 7. Sở Y tế", "III › 14. Sở Tài chính",
        "III › 15. Ngân hàng Nhà nước Việt Nam Chi nhánh khu vực 4", "IV › 2", "Phần đầu văn bản", "Phần kết",
    ],
    "002_11ae31a54952ac5b.txt": [
        "VI › 2. Cong an tinh", "VI › 3. Sé Noi vu", "I › 1. Muc dich › a)", "IV",
        "III › 1. Tiéu chi thi dua › a) Déi voi cac s, ban, nganh va tuong duong cip tinh",
        "III › 2. Hinh thirc va tiéu chuin khen thwéng › a) Hinh thtrc khen thudng",
    ],
    "004_efdf551c7c231efb.txt": ["1 › c) Đối với cơ sở giáo dục", "1 › a) Đối với xã, thị trấn", "5", "Mở đầu"],
    "000_37051849595c08ae.txt": ["1 › e) Đối với thôn, tổ dân phố, hộ gia đình", "1 › g) Đối với cá nhân", "4"],
    "001_cd0bcd3875959a6e.txt": ["I › 1. Mục tiêu", "I › 2. Yêu cầu", "III › 2"],
}


@pytest.fixture(scope="module")
def parsed(samples):
    return {p.name: parse_file(p) for p in sorted(samples.glob("*.txt"))}


@pytest.mark.parametrize("name", sorted(EXPECTED_META))
def test_header_metadata(parsed, name):
    meta = parsed[name].meta.to_dict()
    for field, value in EXPECTED_META[name].items():
        assert meta[field] == value, field


@pytest.mark.parametrize("name", sorted(EXPECTED_SECTIONS))
def test_section_paths(parsed, name):
    sections = {p.section for p in parsed[name].paragraphs}
    for expected in EXPECTED_SECTIONS[name]:
        assert expected in sections


def test_sections_follow_numbering_not_markdown_level(parsed):
    doc = parsed["003_aab6fb287954f5ee.txt"]
    # "#### **4. Sở Văn hóa…**" and "## **2. Văn phòng UBND tỉnh**" are siblings under III
    tops = {p.path[0].display for p in doc.paragraphs if p.section.endswith(("4. Sở Văn hóa, Thể thao và Du lịch",
                                                                          "2. Văn phòng UBND tỉnh"))}
    assert tops == {"III"}
    decimal = [p for p in doc.paragraphs if p.path[-1].label == "3.1"]
    assert decimal and all([h.label for h in p.path[:2]] == ["II", "3"] for p in decimal)


def test_ocr_roman_numbers_and_wrapped_lines(parsed):
    doc = parsed["002_11ae31a54952ac5b.txt"]
    tops = [h.display for h in (p.path[0] for p in doc.paragraphs) if h.kind == "roman"]
    assert list(dict.fromkeys(tops)) == ["I", "II", "III", "IV", "V", "VI"]  # "I1." read as II
    texts = [p.text for p in doc.paragraphs]
    assert any(t.startswith("- Chu tri trién khai, don doc, danh gia vige t6 chue thyc hién Ké hoach nay bao cdo HG1")
               for t in texts)
    assert not any("\n" in t for t in texts if not t.startswith(("UY BAN", "Noi nhidn")))


def test_footnotes_are_lifted_and_cut_paragraphs_rejoined(parsed):
    doc = parsed["003_aab6fb287954f5ee.txt"]
    assert set(doc.footnotes) == {"1", "2", "3"}
    texts = [p.text for p in doc.paragraphs]
    assert not any("<sup>" in t for t in texts)
    assert any("xây dựng Phong trào toàn dân bảo vệ ANTQ gắn với thực hiện chủ trương" in t for t in texts)
    notes = [p for p in doc.paragraphs if p.kind == "footnote"]
    assert [p.path[-1].display for p in notes] == ["Chú thích 1", "Chú thích 2", "Chú thích 3"]
    assert notes[0].section.startswith("II › 1. Công tác chỉ đạo")
    assert any("(1) Tăng cường công tác tuyên truyền" in t for t in texts)  # <sup>(1)</sup> is a list marker


def test_page_break_inside_a_paragraph(parsed):
    doc = parsed["004_efdf551c7c231efb.txt"]
    b = [p for p in doc.paragraphs if p.section == "1 › b) Đối với cơ quan, doanh nghiệp"]
    assert len(b) == 1
    assert "tổ chức Đảng có nghị quyết chuyên đề riêng hoặc lồng ghép" in b[0].text


def test_chunks_stay_in_their_section_and_fit_the_model(parsed, e5):
    from ingest.chunker import chunk_document

    for doc in parsed.values():
        chunks = chunk_document(doc, 400, e5.count_tokens)
        paragraph_sections = {p.section: p for p in doc.paragraphs}
        for chunk in chunks:
            assert chunk.section in paragraph_sections
            assert e5.count_tokens(chunk.text) <= 400
            for piece in chunk.text.split("\n"):
                owner = [p for p in doc.paragraphs if p.section == chunk.section and fold(piece) in fold(p.text)]
                assert owner, (chunk.section, piece[:60])


def test_nothing_is_lost_between_paragraphs_and_chunks(parsed):
    from ingest.chunker import chunk_document

    for doc in parsed.values():
        chunked = fold(" ".join(c.text for c in chunk_document(doc)))
        for para in doc.paragraphs:
            assert fold(para.text) in chunked


def test_every_word_of_the_file_survives_parsing(parsed, samples):
    import re

    for name, doc in parsed.items():
        raw = (samples / name).read_text(encoding="utf-8")
        raw = re.sub(r"</?sup>", " ", raw)
        source_words = set(fold(raw).split())
        parsed_words = set(fold(doc.text + " " + " ".join(h.full for p in doc.paragraphs for h in p.path)).split())
        ocr_numerals = {w for w in source_words - parsed_words if set(w) <= set("ivxl1")}  # "I1." read as "II."
        assert source_words - parsed_words - ocr_numerals == set(), name

"""Header facts of legal and administrative documents: type, số hiệu, title, issuer, dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.doctypes import doc_types, issuer_from_number, type_from_number, type_line
from ingest.legal_text import effective_date, sentence_case
from ingest.pipeline import parse_bytes, parse_file
from vectorstore.records import DocumentRecord

LEGAL = Path(__file__).parent / "data" / "legal"

EXPECTED = {
    "nghi_dinh.txt": dict(
        doc_type="Nghị định", doc_number="145/2020/NĐ-CP", issuer="CHÍNH PHỦ", place="Hà Nội", date="2020-12-14",
        title="Quy định chi tiết về đăng ký và quản lý phương tiện thủy nội địa", signer="Nguyễn Văn Minh",
        effective_date="2021-02-01",
    ),
    "thong_tu.txt": dict(
        doc_type="Thông tư", doc_number="12/2024/TT-BCA", issuer="BỘ CÔNG AN", date="2024-03-05",
        title="Quy định về mẫu giấy tờ trong công tác quản lý cư trú", signer="Trần Văn Bình",
        effective_date="2024-04-20",
    ),
    "quyet_dinh.txt": dict(
        doc_type="Quyết định", doc_number="25/2024/QĐ-UBND", issuer="ỦY BAN NHÂN DÂN TỈNH LÀO CAI",
        date="2024-05-10", title="Ban hành Quy chế phối hợp bảo đảm an ninh, trật tự tại các khu du lịch",
        signer="Lê Văn Cường", effective_date="2024-05-10",  # "có hiệu lực kể từ ngày ký"
    ),
    "chi_thi.txt": dict(
        doc_type="Chỉ thị", doc_number="03/CT-UBND", date="2025-02-02", signer="Phạm Văn Dũng",
        title="Về tăng cường bảo đảm trật tự, an toàn giao thông dịp Tết Nguyên đán", effective_date="",
    ),
    "nghi_quyet.txt": dict(
        doc_type="Nghị quyết", doc_number="18/2024/NQ-HĐND", issuer="HỘI ĐỒNG NHÂN DÂN TỈNH LÀO CAI",
        title="Quy định mức chi hỗ trợ lực lượng tham gia bảo vệ an ninh, trật tự ở cơ sở",
        effective_date="2024-08-01",
    ),
    "cong_van.txt": dict(
        doc_type="Công văn", doc_number="1234/UBND-NC", place="Lào Cai", date="2024-06-20", signer="Vũ Thị Giang",
        title="V/v triển khai Luật Lực lượng tham gia bảo vệ an ninh, trật tự ở cơ sở",
    ),
    "ke_hoach.txt": dict(
        doc_type="Kế hoạch", doc_number="195/KH-UBND", issuer="ỦY BAN NHÂN DÂN HUYỆN BẢO THẮNG",
        title="Triển khai Phong trào toàn dân bảo vệ an ninh Tổ quốc năm 2026", date="2025-12-17",
    ),
    "bo_luat.txt": dict(
        doc_type="Luật", doc_number="68/2020/QH14", issuer="QUỐC HỘI", title="Cư trú", effective_date="2021-07-01",
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_header_of_each_document_type(name):
    meta = parse_file(LEGAL / name).meta.to_dict()
    for field, value in EXPECTED[name].items():
        assert meta[field] == value, field


def test_law_without_header_takes_its_first_line():
    text = "LUẬT HÔN NHÂN VÀ GIA ĐÌNH 2014\n\nĐiều 1. Phạm vi điều chỉnh\n\nLuật này quy định chế độ hôn nhân.\n"
    meta = parse_bytes(text.encode(), "hon-nhan.txt").meta
    assert (meta.doc_type, meta.title, meta.issuer) == ("Luật", "Hôn nhân và gia đình 2014", "Quốc hội")
    lower = "Luật Cư trú 2020\n\nĐiều 1. Phạm vi điều chỉnh\n\nLuật này quy định về cư trú.\n"
    meta = parse_bytes(lower.encode(), "cu-tru.txt").meta
    assert (meta.doc_type, meta.title) == ("Luật", "Cư trú 2020")


def test_no_header_no_type_keeps_the_first_heading_as_title():
    text = "# Quy chế làm việc của Tổ công tác\n\nĐiều 1. Phạm vi\n\nQuy chế này áp dụng cho Tổ công tác.\n"
    meta = parse_bytes(text.encode(), "quy-che.md").meta
    assert meta.title.endswith("làm việc của Tổ công tác") and meta.doc_type == "Quy chế"


@pytest.mark.parametrize(
    ("number", "doc_type", "issuer"),
    [
        ("59/2020/QH14", None, "Quốc hội"),
        ("145/2020/NĐ-CP", "Nghị định", "Chính phủ"),
        ("12/2024/TT-BCA", "Thông tư", "Bộ Công an"),
        ("195/KH-UBND", "Kế hoạch", "Ủy ban nhân dân"),
        ("08/PĐTĐ-BCĐ", "Phát động thi đua", "Ban Chỉ đạo"),
        ("07-CT/TU", "Chỉ thị", "Tỉnh ủy"),
        ("03/2023/TTLT-BCA-BQP", "Thông tư liên tịch", "Bộ Công an"),
        ("2447/QĐ-TTg", "Quyết định", "Thủ tướng Chính phủ"),
        ("1234/UBND-NC", None, "Ủy ban nhân dân"),
    ],
)
def test_number_codes(number, doc_type, issuer):
    found = type_from_number(number)
    assert (found.name if found else None) == doc_type
    assert issuer_from_number(number) == issuer


@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("Luật số: 68/2020/QH14", "68/2020/QH14"),
        ("Số: 145/2020/NĐ-CP", "145/2020/NĐ-CP"),
        ("Số: 195 /KH-UBND", "195/KH-UBND"),
        ("Số: 07-CT/TU", "07-CT/TU"),
        ("Số: /KH-BCĐ", "/KH-BCĐ"),
    ],
)
def test_number_forms(line, number):
    text = f"{line}\n\nKẾ HOẠCH\n\nKiểm tra\n\n1. Công an xã tuần tra chợ phiên vào cuối tuần.\n"
    assert parse_bytes(text.encode(), "so.txt").meta.doc_number == number


@pytest.mark.parametrize("doc_type", [t for t in doc_types()], ids=lambda t: t.name)
def test_every_type_of_the_table_is_read_from_its_type_line(doc_type):
    line = doc_type.name.upper()
    found = type_line(line)
    assert found is not None and found[0].name == doc_type.name
    text = f"Số: 12/XX\n\n{line}\n\nVề công tác bảo đảm an ninh\n\n1. Công an xã tuần tra chợ phiên vào cuối tuần.\n"
    assert parse_bytes(text.encode(), "t.txt").meta.doc_type == doc_type.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Luật này có hiệu lực thi hành từ ngày 01 tháng 7 năm 2021.", "2021-07-01"),
        ("Nghị quyết này có hiệu lực thi hành từ ngày 01/8/2024.", "2024-08-01"),
        ("Thông tư này có hiệu lực kể từ ngày 20 tháng 4 năm 2024.", "2024-04-20"),
        ("Quyết định này có hiệu lực kể từ ngày ký.", "2024-05-10"),
        ("Luật số 81/2006/QH11 hết hiệu lực kể từ ngày Luật này có hiệu lực thi hành.", ""),
    ],
)
def test_effective_date(text, expected):
    assert effective_date(text, "2024-05-10") == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("CƯ TRÚ 2020", "Cư trú 2020"),
        ("PHÒNG, CHỐNG MA TÚY", "Phòng, chống ma túy"),
        ("TOÀN DÂN BẢO VỆ ANTQ VÀ UBND CÁC CẤP", "Toàn dân bảo vệ ANTQ và UBND các cấp"),
        ("Công tác xây dựng phong trào", "Công tác xây dựng phong trào"),
    ],
)
def test_titles_in_capitals_are_put_in_sentence_case(title, expected):
    assert sentence_case(title) == expected


def test_a_law_is_cited_by_its_name():
    law = DocumentRecord("cu-tru", "cu-tru.txt", "v", title="Cư trú 2020", doc_type="Luật")
    plan = DocumentRecord("kh", "kh.txt", "v", title="Kiểm tra", doc_type="Kế hoạch", doc_number="195/KH-UBND")
    assert law.label == "Luật Cư trú 2020" and plan.label == "Kế hoạch 195/KH-UBND"
    assert DocumentRecord.from_metadata("cu-tru", {**law.to_metadata(), "effective_date": "2021-07-01"}) \
        .effective_date == "2021-07-01"

"""Normalisation and numbering on small, hand-made inputs."""

from __future__ import annotations

import pytest

from ingest.loaders import LoadedText, LoadError, PlainTextLoader
from ingest.normalize import split_paragraphs, strip_emphasis, to_lines
from ingest.numbering import match_marker
from ingest.pipeline import parse_bytes


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("I. MỤC ĐÍCH", "roman", "I"),
        ("I1. NOI DUNG", "roman", "II"),
        ("VI. TO CHUC", "roman", "VI"),
        ("3.1. Công tác", "decimal", "3.1"),
        ("3.Sé Noi vu", "arabic", "3"),
        ("12. Sở Nông nghiệp", "arabic", "12"),
        ("đ) Đối với", "letter", "đ"),
        ("c¢) Nang cao", "letter", "c"),
        ("¢) Phong trao", "letter", "c"),
        ("- Kịp thời", "bullet", "-"),
        ("+ Danh hiệu", "bullet", "+"),
    ],
)
def test_markers(text, kind, label):
    marker = match_marker(text)
    assert marker is not None and (marker.kind, marker.label) == (kind, label)


@pytest.mark.parametrize("text", ["2026 là năm", "17/12/2025 ngày", "-5 độ", "Ủy ban nhân dân", "V/v phát động"])
def test_not_markers(text):
    assert match_marker(text) is None


def test_strip_emphasis_reports_spans():
    plain, spans = strip_emphasis("**7. Sở Y tế** chủ trì, *phối hợp*")
    assert plain == "7. Sở Y tế chủ trì, phối hợp"
    assert [plain[s:e] for s, e in spans] == ["7. Sở Y tế", "phối hợp"]


def test_unwrap_and_rejoin():
    lines = to_lines(LoadedText(
        "1. Muc dich\n"
        "a) Nhim to chuc thuc hien nghiem tuc, dong bo,\n"
        "hieu qua cac chu truong\n\n\n\n"
        "cua Dang va Nha nuoc.\n\n"
        "- Gach dau dong moi\n"
    ))
    paragraphs, notes = split_paragraphs(lines)
    assert [p.raw for p in paragraphs] == [
        "1. Muc dich",
        "a) Nhim to chuc thuc hien nghiem tuc, dong bo, hieu qua cac chu truong cua Dang va Nha nuoc.",
        "- Gach dau dong moi",
    ]
    assert notes == {}


def test_pdf_pages_are_tracked():
    lines = to_lines(LoadedText("", pages=("I. MỘT\nnội dung trang một", "tiếp trang hai.\n\nII. HAI")))
    paragraphs, _ = split_paragraphs(lines)
    assert [(p.raw, p.page) for p in paragraphs] == [
        ("I. MỘT", 1), ("nội dung trang một tiếp trang hai.", 1), ("II. HAI", 2),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "rỗng"), (b"   \n\n", "rỗng"), (b"\x00\x01\x02binary", "nhị phân")],
)
def test_unreadable_text_files(data, reason):
    with pytest.raises(LoadError, match=reason):
        PlainTextLoader().load(data)


def test_unsupported_suffix_and_contentless_file():
    with pytest.raises(LoadError, match="không được hỗ trợ"):
        parse_bytes(b"hello", "note.exe")
    with pytest.raises(LoadError, match="không tìm thấy nội dung"):
        parse_bytes("Số: 12/KH-UBND\nKẾ HOẠCH\nTiêu đề\n".encode(), "only-header.txt")


def test_windows_1258_and_utf16_are_decoded():
    text = "I. MỤC ĐÍCH\n\nCác sở phối hợp thực hiện kế hoạch này."
    doc = parse_bytes(text.encode("utf-16"), "a.txt")
    assert "phối hợp" in doc.text

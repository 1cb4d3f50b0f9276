"""Documents as offices hold them: Word .docx, PDF with a text layer, scanned PDF, images.

Every fixture is rendered at test time from ``samples/`` (see tests/renderers.py);
no binary file is committed. Real python-docx, PDFium, Tesseract, model and Chroma.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections import Counter
from pathlib import PurePath

import pytest

from ingest.docx_loader import DocxLoader, check_zip
from ingest.docx_numbering import format_number
from ingest.folding import fold
from ingest.loaders import (
    LoadedText,
    LoadError,
    MissingDependency,
    PlainTextLoader,
    detect_loader,
    load_bytes,
    sniff,
    supported_suffixes,
)
from ingest.ocr import ImageLoader
from ingest.pdf_loader import PdfLoader, drop_page_numbers, drop_running_lines, unusable_text
from ingest.pipeline import parse_bytes, parse_file, parse_loaded
from tests import renderers as r
from tests.conftest import DEV_SET, SAMPLES

SEED_000 = SAMPLES / "000_37051849595c08ae.txt"  # Công văn -> PDF with a text layer
SEED_001 = SAMPLES / "001_cd0bcd3875959a6e.txt"  # Kế hoạch -> Word .docx
SEED_004 = SAMPLES / "004_efdf551c7c231efb.txt"  # Phát động thi đua -> scanned PDF
REPORT_TABLE = [["Báo cáo", "Thời hạn"], ["06 tháng", "trước ngày 30/5/2026"], ["01 năm", "trước ngày 30/10/2026"]]


def folded_words(text: str) -> Counter[str]:
    return Counter(fold(text).split())


def word_recovery(reference: str, text: str) -> float:
    """Share of the reference's words (accent-folded, with multiplicity) found in ``text``."""
    ref, got = folded_words(reference), folded_words(text)
    return sum((ref & got).values()) / max(1, sum(ref.values()))


# -- documents rendered from the seeds, once per session -------------------------


def _docx_001() -> bytes:
    paras = r.raw_paragraphs(SEED_001)
    report = next(i for i, p in enumerate(paras) if p[0].startswith("Tham mưu tổ chức sơ kết"))
    blocks = [(paras[0:1], paras[1:2])]  # "Số: ..." | place, date: the header table
    blocks += paras[2:report + 1] + [r.DataTable(REPORT_TABLE)] + paras[report + 1:-4]
    blocks += [(paras[-4:-2], paras[-2:])]  # Nơi nhận | signature
    return r.word_document(blocks, header="DỰ THẢO LẦN 2", footer="Chân trang văn phòng")


def _pdf_000() -> bytes:
    paras = r.raw_paragraphs(SEED_000)
    header = [(paras[0:1], paras[1:2]), (paras[2:3] + paras[4:5], paras[3:4])]  # issuer | motto; số, V/v | date
    return r.text_pdf(header + paras[5:-4] + [(paras[-4:-2], paras[-2:])])


@pytest.fixture(scope="session")
def docx_001() -> bytes:
    return _docx_001()


@pytest.fixture(scope="session")
def pdf_000() -> bytes:
    return _pdf_000()


@pytest.fixture(scope="session")
def scan_004() -> bytes:
    """004 printed and scanned: 300 dpi grey pages, slightly blurred and skewed, JPEG in an image-only PDF."""
    return r.scanned_pdf(r.seed_paragraphs(SEED_004))


@pytest.fixture(scope="session")
def ocr_004(scan_004) -> LoadedText:
    return load_bytes(scan_004, "004_efdf551c7c231efb.pdf")


def _body(doc) -> list[tuple[str, str]]:
    return [(p.section, fold(p.text)) for p in doc.paragraphs if p.kind not in ("header", "closing")]


# -- format detection -----------------------------------------------------------


def test_supported_suffixes_cover_office_formats():
    assert {".txt", ".md", ".docx", ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"} <= set(supported_suffixes())


def _png(text: str = "") -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1200, 300), 255)
    if text:
        ImageDraw.Draw(image).text((40, 100), text, font=ImageFont.truetype(str(r.FONT), 56), fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(300, 300))
    return out.getvalue()


def test_format_is_read_from_content_not_name(docx_001, pdf_000):
    assert isinstance(detect_loader(docx_001, "ke-hoach.pdf"), DocxLoader)
    assert isinstance(detect_loader(pdf_000, "cong-van.docx"), PdfLoader)
    assert isinstance(detect_loader(_png(), "anh.txt"), ImageLoader)
    assert isinstance(detect_loader("I. MỤC ĐÍCH\n".encode(), "ghi-chu.md"), PlainTextLoader)
    assert isinstance(detect_loader("I. MỤC ĐÍCH\n".encode(), "khong-duoi"), PlainTextLoader)
    assert [sniff(b) for b in (b"%PDF-1.7\n", b"II*\x00....", b"\xff\xd8\xff\xe0", b" \n ")] == \
        ["pdf", "tiff", "jpeg", "empty"]
    assert isinstance(detect_loader("BM01 Biểu mẫu báo cáo".encode(), "bieu-mau.txt"), PlainTextLoader)
    from PIL import Image

    bmp = io.BytesIO()
    Image.new("L", (40, 40), 255).save(bmp, format="BMP")
    with pytest.raises(LoadError, match="BMP"):
        load_bytes(bmp.getvalue(), "anh.bmp")
    # A mis-named upload is read as what it is: the PDF named .docx parses like any PDF.
    assert parse_bytes(pdf_000, "cong-van.docx").meta.doc_number == "/CV-BCĐ"


# -- Word .docx -----------------------------------------------------------------


def test_docx_numbering_tables_and_header_come_back_as_typed(docx_001):
    with zipfile.ZipFile(io.BytesIO(docx_001)) as archive:
        xml = archive.read("word/document.xml").decode()
    assert xml.count("<w:numPr>") >= 20  # the numbers live in Word's numbering, not in the text
    assert ">MỤC TIÊU, YÊU CẦU<" in xml and "I. MỤC TIÊU" not in xml

    text = load_bytes(docx_001, "ke-hoach.docx").text
    folded = fold(text)
    for para in r.seed_paragraphs(SEED_001):  # every paragraph with its number, in order
        assert fold(" ".join(para)) in folded, para
    for heading in ("I. MỤC TIÊU, YÊU CẦU", "II. NHIỆM VỤ TRỌNG TÂM", "III. TỔ CHỨC THỰC HIỆN", "5. Nâng cao hiệu quả"):
        assert f"\n{heading}" in text
    assert "- 06 tháng | trước ngày 30/5/2026" in text.splitlines()  # a table row, one line
    assert "DỰ THẢO" not in text and "Chân trang" not in text  # header and footer dropped

    typed, word = parse_file(SEED_001), parse_bytes(docx_001, "ke-hoach.docx")
    assert word.meta == typed.meta
    rows = [fold(" | ".join(row)) for row in REPORT_TABLE]
    assert [p for p in _body(word) if p[1] not in rows] == _body(typed)  # the same sections and paragraphs


def _edge_case_docx() -> bytes:
    import docx

    document = docx.Document()
    r.add_numbering(document, 80, 80, [r._lvl(0, "decimal", "%1."), r._lvl(1, "decimal", "%1.%2."),
                                       r._lvl(2, "lowerLetter", "%3)")],
                    start_overrides={0: 1}, extra_num_ids=(81,))
    r.add_numbering(document, 82, 82, [r._lvl(0, "bullet", "\uf0b7"), r._lvl(1, "bullet", "+")])
    r.add_numbering(document, 83, 83, [r._lvl(0, "upperRoman", "%1.", start=3)])
    r.add_footnotes(document, {5: "Chỉ thị số 07-CT/TU ngày 16/12/2025."})
    document.sections[0].header.paragraphs[0].text = "TIÊU ĐỀ TRANG"

    def para(text: str, num: int | None = None, level: int = 0, style: str | None = None):
        p = document.add_paragraph(style=style)
        if num is not None:
            r.set_numbering(p, num, level)
        r.add_runs(p, text)
        return p

    para("Văn bản này thử các kiểu đánh số của Word.")
    para("Mục tiêu", 80, 0)
    para("Chi tiết thứ nhất", 80, 1)
    para("Điểm thứ nhất;", 80, 2)
    para("Điểm thứ hai.", 80, 2)
    para("Nhiệm vụ", 80, 0)
    para("Chi tiết của nhiệm vụ", 80, 1)
    para("Danh sách mới đánh lại từ đầu", 81, 0)
    para("Gạch đầu dòng ký hiệu Symbol", 82, 0)
    para("Ý phụ", 82, 1)
    para("Tổ chức thực hiện", 83, 0)
    para("Theo kiểu danh sách của mẫu", style="List Number")
    para("**7. Sở Y tế** chủ trì, phối hợp kiểm tra.")
    hidden = para("Câu hiện ra.")
    r.append_xml(hidden, '<w:r><w:rPr><w:vanish/></w:rPr><w:t xml:space="preserve"> Chữ bị ẩn.</w:t></w:r>')
    tracked = para("Bản sửa:")
    r.append_xml(tracked, '<w:del w:id="1" w:author="A"><w:r><w:delText> chữ đã xóa</w:delText></w:r></w:del>'
                          '<w:ins w:id="2" w:author="A"><w:r><w:t xml:space="preserve"> chữ mới chèn</w:t></w:r>'
                          '</w:ins>')
    cited = para("Thực hiện Chỉ thị của Tỉnh ủy")
    r.append_xml(cited, '<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteReference w:id="5"/></w:r>'
                        '<w:r><w:t xml:space="preserve"> về bảo đảm an ninh.</w:t></w:r>')
    table = document.add_table(rows=0, cols=3)
    for row in (["STT", "Đơn vị", "Nhiệm vụ"], ["1.", "Công an tỉnh", "Chủ trì"], ["2.", "Sở Y tế", "Phối hợp"]):
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = value
    merged = document.add_table(rows=2, cols=2)
    merged.cell(0, 0).merge(merged.cell(1, 0))
    merged.cell(0, 0).text = "Gộp dọc"
    merged.cell(0, 1).text = "Ô trên"
    merged.cell(1, 1).text = "Ô dưới"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_list_numbering_formats_restarts_and_styles():
    lines = [line for line in load_bytes(_edge_case_docx(), "thu.docx").text.split("\n") if line]
    assert lines[:12] == [
        "Văn bản này thử các kiểu đánh số của Word.",
        "1. Mục tiêu",
        "1.1. Chi tiết thứ nhất",
        "a) Điểm thứ nhất;",
        "b) Điểm thứ hai.",
        "2. Nhiệm vụ",
        "2.1. Chi tiết của nhiệm vụ",  # the deeper level restarts under a new "2."
        "1. Danh sách mới đánh lại từ đầu",  # another w:num on the same list with startOverride
        "• Gạch đầu dòng ký hiệu Symbol",  # Symbol-font U+F0B7 shown as a bullet
        "+ Ý phụ",
        "III. Tổ chức thực hiện",  # upperRoman starting at 3
        "1. Theo kiểu danh sách của mẫu",  # numbering inherited from the paragraph style
    ]
    assert "**7. Sở Y tế** chủ trì, phối hợp kiểm tra." in lines  # a bold lead-in kept for the heading title
    assert "Câu hiện ra." in lines and "Bản sửa: chữ mới chèn" in lines
    text = "\n".join(lines)
    assert "ẩn" not in text and "đã xóa" not in text and "TIÊU ĐỀ TRANG" not in text
    assert "- STT | Đơn vị | Nhiệm vụ" in lines and "- 1. | Công an tỉnh | Chủ trì" in lines
    assert "- Gộp dọc | Ô trên" in lines and "- Ô dưới" in lines  # a vertically merged cell counted once

    doc = parse_bytes(_edge_case_docx(), "thu.docx")
    assert doc.footnotes == {"1": "Chỉ thị số 07-CT/TU ngày 16/12/2025."}
    cited = next(p for p in doc.paragraphs if p.text.startswith("Thực hiện Chỉ thị"))
    assert cited.text == "Thực hiện Chỉ thị của Tỉnh ủy về bảo đảm an ninh."
    assert any(p.section.endswith("7. Sở Y tế") for p in doc.paragraphs)
    assert not any("Công an tỉnh | Chủ trì" in p.section for p in doc.paragraphs)  # a "1." cell opens no section


@pytest.mark.parametrize(
    ("n", "fmt", "shown"),
    [(4, "upperRoman", "IV"), (9, "lowerRoman", "ix"), (5, "lowerLetter", "e"), (28, "lowerLetter", "bb"),
     (3, "decimalZero", "03"), (2, "upperLetter", "B"), (7, "none", ""), (12, "decimal", "12")],
)
def test_word_number_formats(n, fmt, shown):
    assert format_number(n, fmt) == shown


# -- PDF with a text layer --------------------------------------------------------


def test_text_pdf_keeps_pages_header_and_sections(pdf_000):
    loaded = load_bytes(pdf_000, "cong-van.pdf")
    assert loaded.pages is not None and len(loaded.pages) >= 4
    assert all(page.strip() for page in loaded.pages)
    assert not any(page.split("\n", 1)[0].strip().isdigit() for page in loaded.pages)  # page numbers dropped
    assert word_recovery(r.seed_text(SEED_000), loaded.text) == 1.0  # diacritics and words intact

    typed, pdf = parse_file(SEED_000), parse_bytes(pdf_000, "cong-van.pdf")
    assert pdf.meta == typed.meta  # the two-column header read in the typed order
    assert _body(pdf) == _body(typed)
    pages = [fold(page) for page in loaded.pages]
    body = [p for p in pdf.paragraphs if p.kind not in ("header", "closing")]
    assert {p.page for p in body} == set(range(1, len(loaded.pages) + 1))
    for para in body:  # each paragraph starts on the page it is labelled with
        assert " ".join(fold(para.text).split()[:8]) in pages[para.page - 1], (para.page, para.text[:60])


def test_pdf_page_furniture_is_dropped():
    assert drop_page_numbers("2\nnội dung trang hai\n- 2 -") == "nội dung trang hai"
    assert drop_page_numbers("Trang 3/7\nI. MỤC ĐÍCH\n12. Sở Y tế") == "I. MỤC ĐÍCH\n12. Sở Y tế"
    bodies = ["I. MỤC ĐÍCH\n1. Phát huy sức mạnh", "tổng hợp của cả hệ thống\n2. Tiếp tục cụ thể hóa",
              "- Các sở, ban, ngành\n- Ủy ban nhân dân", "II. NHIỆM VỤ\nTập trung quán triệt"]
    pages = [f"DỰ THẢO\n{body}\nTrang {i} / 4" for i, body in enumerate(bodies, start=1)]
    assert drop_running_lines(pages) == bodies
    twice = [("GHI CHÚ\n" if i < 2 else "") + body for i, body in enumerate(bodies)]
    assert drop_running_lines(twice) == twice  # on two pages of four: content, not a running header


@pytest.mark.parametrize(
    ("text", "unusable"),
    [
        ("Céng hoµ x· héi chñ nghÜa ViÖt Nam. §éc lËp - Tù do - H¹nh phóc. " * 3, True),  # TCVN3 font, no Unicode
        ("\ue001\ue002\ue003 \ue004\ue005" * 20, True),  # glyphs without Unicode mapping
        ("Cộng hòa xã hội chủ nghĩa Việt Nam. Độc lập - Tự do - Hạnh phúc. " * 3, False),
        ("Cong hoa xa hoi chu nghia Viet Nam. Doc lap - Tu do - Hanh phuc. " * 3, False),  # accent-less, still text
    ],
)
def test_unusable_text_layer_is_detected(text, unusable):
    assert unusable_text(text) is unusable


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["trong.pdf", "trong.docx", "trong.png", "trong.txt", "trong"])
@pytest.mark.parametrize("data", [b"", b"  \n\t "])
def test_empty_files_are_refused(name, data):
    with pytest.raises(LoadError, match="rỗng"):
        load_bytes(data, name)


def test_password_protected_pdf_is_refused_but_permission_locks_are_read(pdf_000):
    import pypdf

    def encrypted(user: str, owner: str) -> bytes:
        writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf_000)))
        writer.encrypt(user, owner, algorithm="AES-256", permissions_flag=0)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    with pytest.raises(LoadError, match="mật khẩu"):
        load_bytes(encrypted("matkhau", "chu"), "mat.pdf")
    # Only copy/print restrictions (empty open password): readers open it, so do we.
    assert "Công an tỉnh" in load_bytes(encrypted("", "chu"), "khoa.pdf").text


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda pdf: pdf[: len(pdf) // 3], "PDF bị hỏng"),
        (lambda pdf: b"%PDF-1.7\n" + bytes(range(256)) * 40, "PDF bị hỏng"),
        (lambda pdf: b"%PDF-1.4\n%%EOF\n", "PDF bị hỏng"),
    ],
)
def test_corrupt_pdf_is_refused(pdf_000, make, reason):
    with pytest.raises(LoadError, match=reason):
        load_bytes(make(pdf_000), "hong.pdf")


def test_pdf_without_pages_is_refused():
    import pypdf

    out = io.BytesIO()
    pypdf.PdfWriter().write(out)
    with pytest.raises(LoadError, match="PDF (không có trang|bị hỏng)"):  # PDFium refuses an empty page tree
        load_bytes(out.getvalue(), "rong.pdf")


def _rezip(data: bytes, drop: set[str] = frozenset(), add: dict[str, bytes] | None = None,
           replace: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in drop:
                dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info.filename)))
        for name, content in (add or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def test_corrupt_and_foreign_zip_files_are_refused(docx_001):
    with pytest.raises(LoadError, match="bị hỏng"):
        load_bytes(docx_001[: len(docx_001) // 2], "cat-ngang.docx")
    with pytest.raises(LoadError, match="bị hỏng"):
        load_bytes(_rezip(docx_001, replace={"word/document.xml": b"<w:document><w:body><w:p>"}), "xml-hong.docx")
    with pytest.raises(LoadError, match="không phải văn bản Word"):
        load_bytes(_rezip(docx_001, drop={"word/document.xml"}), "thieu.docx")
    excel = _rezip(docx_001, drop={"word/document.xml"}, add={"xl/workbook.xml": b"<workbook/>"})
    with pytest.raises(LoadError, match="Excel"):
        load_bytes(excel, "bang-tinh.docx")


def test_zip_bomb_docx_is_refused_before_parsing(docx_001):
    bomb = _rezip(docx_001, add={"word/media/image1.bin": bytes(64 * 1024 * 1024)})
    assert len(bomb) < len(docx_001) + 200_000  # 64 MiB of zeros packs to next to nothing
    with pytest.raises(LoadError, match="bom nén"):
        load_bytes(bomb, "bom.docx")
    # The size cap holds on its own, whatever the ratio: stored (uncompressed) members add up.
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("word/document.xml", b"<x/>" * 1000)
        archive.writestr("word/media/big.bin", bytes(3 * 1024 * 1024))
    with pytest.raises(LoadError, match="bom nén"):
        check_zip(stored.getvalue(), max_uncompressed=2 * 1024 * 1024)
    check_zip(docx_001)  # a real document passes


def test_encrypted_word_files_are_explained(docx_001):
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(docx_001)).encrypt("matkhau", out)
    assert sniff(out.getvalue()) == "ole2"
    with pytest.raises(LoadError, match="mật khẩu"):
        load_bytes(out.getvalue(), "ke-hoach.docx")
    # A ZIP whose members are encrypted (flag bit 0 in the central directory).
    locked = bytearray(docx_001)
    at = locked.find(b"PK\x01\x02")
    while at != -1:
        locked[at + 8] |= 0x01
        at = locked.find(b"PK\x01\x02", at + 4)
    with pytest.raises(LoadError, match="mật khẩu"):
        load_bytes(bytes(locked), "zip-khoa.docx")


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        # Word 97-2003: an OLE2 compound file whose directory names the "WordDocument" stream.
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "WordDocument".encode("utf-16-le") + bytes(512),
         "cu.doc", r"\.doc"),
        (b"{\\rtf1\\ansi Van ban}", "van-ban.rtf", "RTF"),
        (b"GIF89a" + bytes(64), "anh.gif", "GIF"),
        ("Ghi chú thường".encode(), "chuong-trinh.exe", "không được hỗ trợ"),
        ("Đây là chữ, không phải PDF".encode(), "gia.pdf", "đuôi '.pdf'"),
    ],
)
def test_unsupported_formats_are_explained(data, name, reason):
    with pytest.raises(LoadError, match=reason):
        load_bytes(data, name)


def test_word_file_without_text_is_refused():
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    with pytest.raises(LoadError, match="không có chữ"):
        load_bytes(out.getvalue(), "trang-trang.docx")


# -- OCR: images and scans -----------------------------------------------------------


def test_images_with_no_text_are_refused():
    from PIL import Image

    with pytest.raises(LoadError, match="không nhận dạng được chữ"):
        load_bytes(_png(), "trang.png")
    blank = io.BytesIO()
    Image.new("L", (2480, 3508), 255).save(blank, format="PDF", resolution=300)
    with pytest.raises(LoadError, match="không nhận dạng được chữ"):
        load_bytes(blank.getvalue(), "scan-trang.pdf")
    with pytest.raises(LoadError, match="ảnh bị hỏng"):
        load_bytes(_png("Chữ")[:200], "cat.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF"])
def test_images_are_read_by_ocr(fmt):
    lines = [["Kế hoạch phòng, chống tội phạm năm 2026"], ["Sở Giáo dục và Đào tạo chủ trì thực hiện."]]
    page = r.render_pages(lines)[0].crop((0, 0, 2480, 900))
    out = io.BytesIO()
    if fmt == "TIFF":  # a multi-page scan: one page per frame
        page.save(out, format="TIFF", save_all=True, append_images=[page], dpi=(300, 300))
    else:
        page.save(out, format=fmt, dpi=(300, 300))
    loaded = load_bytes(out.getvalue(), f"anh.{fmt.lower()}")
    assert word_recovery("Kế hoạch phòng, chống tội phạm năm 2026 Sở Giáo dục và Đào tạo chủ trì thực hiện",
                         loaded.text) >= 0.9
    assert fold("Sở Giáo dục và Đào tạo") in fold(loaded.text)
    assert (loaded.pages is not None and len(loaded.pages) == 2) if fmt == "TIFF" else loaded.pages is None


def test_missing_tesseract_or_vietnamese_model_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("CHIDAO_TESSERACT", str(tmp_path / "khong-co-tesseract"))
    with pytest.raises(MissingDependency, match="tesseract-ocr tesseract-ocr-vie"):
        load_bytes(_png("Chữ"), "anh.png")
    monkeypatch.delenv("CHIDAO_TESSERACT")
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # a model folder without vie.traineddata
    with pytest.raises(MissingDependency, match="tesseract-ocr-vie"):
        load_bytes(_png("Chữ"), "anh.png")


@pytest.mark.slow
def test_ocr_of_the_scanned_004_recovers_its_words(scan_004, ocr_004):
    assert b"/Font" not in scan_004  # image-only: nothing to read but pixels
    assert ocr_004.pages is not None and len(ocr_004.pages) == len(r.render_pages(r.seed_paragraphs(SEED_004)))
    recovery = word_recovery(r.seed_text(SEED_004), ocr_004.text)
    print(f"OCR word recovery on 004: {recovery:.4f}")  # noqa: T201 - the figure the report quotes
    assert recovery >= 0.95
    assert not any(page.split("\n", 1)[0].strip().isdigit() for page in ocr_004.pages)  # page numbers dropped

    typed, scanned = parse_file(SEED_004), parse_loaded(ocr_004, "004_efdf551c7c231efb.pdf")
    assert (scanned.meta.doc_number, scanned.meta.doc_type, scanned.meta.date, scanned.meta.signer) == \
        (typed.meta.doc_number, typed.meta.doc_type, typed.meta.date, typed.meta.signer)
    assert {p.section for p in scanned.paragraphs} == {p.section for p in typed.paragraphs}
    assert all(p.page for p in scanned.paragraphs)


# -- end to end: a store where 000, 001 and 004 exist only as PDF, Word and scan -------------


@pytest.fixture(scope="session")
def office_service(tmp_path_factory, seeded_dir, e5, docx_001, pdf_000, scan_004):
    """The seeded corpus with 000, 001 and 004 replaced by their PDF, Word and scanned versions."""
    from bot.settings import Settings
    from bot.wiring import build_indexer, build_service, build_store

    data = tmp_path_factory.mktemp("office") / "data"
    shutil.copytree(seeded_dir, data)
    settings = Settings(data_dir=data)
    store = build_store(settings, e5)
    indexer = build_indexer(settings, store)
    files = {
        "000_37051849595c08ae.pdf": pdf_000,
        "001_cd0bcd3875959a6e.docx": docx_001,
        "004_efdf551c7c231efb.pdf": scan_004,
    }
    for name, blob in files.items():
        result = indexer.ingest_bytes(blob, name)  # same document id: replaces the typed version
        assert result.status == "updated" and result.chunks > 0, result
    sources = {doc.source for doc in store.documents()}
    assert set(files) <= sources and not any(name.startswith(("000", "001", "004")) for name in sources - set(files))
    return build_service(settings, store)


def _dev(doc_stem: str) -> list[tuple[dict, str]]:
    """Dev questions with a gold snippet in ``doc_stem`` (and that snippet)."""
    out = []
    for line in DEV_SET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        for gold in item.get("gold", []):
            if PurePath(gold["doc"]).stem == doc_stem:
                out.append((item, gold["snippet"]))
    return out


def _hit_rank(service, question: str, doc_stem: str, snippet: str, k: int = 5) -> int | None:
    for rank, passage in enumerate(service.search(question, k), start=1):
        if PurePath(passage.document.source).stem == doc_stem and fold(snippet) in fold(passage.chunk.text):
            return rank
    return None


@pytest.mark.slow
@pytest.mark.parametrize("doc_stem", ["004_efdf551c7c231efb", "000_37051849595c08ae", "001_cd0bcd3875959a6e"])
def test_dev_questions_hit_their_document_in_another_format(office_service, seeded_service, doc_stem):
    """Top-5 hits on the document's own gold snippet, office version against the typed one."""
    questions = _dev(doc_stem)
    office = {item["id"]: _hit_rank(office_service, item["question"], doc_stem, snip) for item, snip in questions}
    typed = {item["id"]: _hit_rank(seeded_service, item["question"], doc_stem, snip) for item, snip in questions}
    print(f"{doc_stem} office {office} typed {typed}")  # noqa: T201 - the figures the report quotes
    assert questions and all(office[q] is not None for q, rank in typed.items() if rank is not None), (office, typed)
    if doc_stem.startswith("004"):  # only the scan holds 004 here, and every question still finds it
        assert all(rank is not None for rank in office.values()), office


@pytest.mark.slow
@pytest.mark.parametrize(
    ("qid", "doc_stem", "paged"),
    [("dev-04", "000_37051849595c08ae", True), ("dev-25", "004_efdf551c7c231efb", True),
     ("dev-03", "001_cd0bcd3875959a6e", False)],
)
def test_answers_cite_the_document_and_its_page(office_service, pdf_000, ocr_004, qid, doc_stem, paged):
    item = next(i for i, _ in _dev(doc_stem) if i["id"] == qid)
    answer = office_service.chat(item["question"])
    assert answer.answered
    cited = [c for c in answer.citations if PurePath(c.passage.document.source).stem == doc_stem]
    assert cited, [c.label for c in answer.citations]
    citation = cited[0]
    assert all(any(fold(a) in fold(answer.answer) for a in alts) for alts in item["facts"])
    if not paged:
        assert citation.passage.chunk.page is None and "trang" not in citation.label
        return
    page = citation.passage.chunk.page
    assert isinstance(page, int) and page >= 1 and citation.label.endswith(f", trang {page}")
    pages = load_bytes(pdf_000, "x.pdf").pages if doc_stem.startswith("000") else ocr_004.pages
    start = " ".join(fold(citation.quote).split()[:6])
    assert start in fold(pages[page - 1]), (page, start)


@pytest.mark.slow
def test_ingesting_office_files_through_the_indexer(indexer, docx_001):
    first = indexer.ingest_bytes(docx_001, "ke-hoach-001.docx")
    assert first.status == "added" and first.chunks > 0
    assert indexer.ingest_bytes(docx_001, "ke-hoach-001.docx").status == "unchanged"
    bad = indexer.ingest_bytes(docx_001[:1000], "hong.docx")
    assert bad.status == "failed" and "bị hỏng" in bad.reason
    assert set(indexer.store.registry()) == {"ke-hoach-001"}

"""PDF -> text per page, from the text layer or, for scanned pages, by OCR.

The text layer is read with PDFium (``pypdfium2``): it keeps Vietnamese
diacritics, joins justified words and gives each line whole, where other
extractors split lines into characters on some producers. A page whose text
layer is missing or unusable (a scan, legacy TCVN3/VNI fonts, glyphs without
Unicode) is rendered at 300 dpi and read by Tesseract (:mod:`ingest.ocr`).

A PDF has lines at positions, not paragraphs, so the layout is read back:
a blank line where the vertical step between lines is wider than usual, at a
first-line indent or a jump to another column; side-by-side columns (the header
and signature tables) put in row order as a typist would write them. Page
numbers standing alone and running headers or footers repeated on most pages
are dropped, so they do not land in the text as paragraphs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ingest.loaders import LoadedText, Loader, LoadError, MissingDependency
from ingest.ocr import RENDER_DPI, check_tesseract, no_text_reason, ocr_image

MAX_PAGES = 1000
MAX_OCR_PAGES = 300
MIN_TEXT_LETTERS = 200  # fewer letters on a page mostly covered by images: OCR it
MIN_IMAGE_COVER = 0.4  # share of the page area under images

# PDFium's error codes (FPDF_GetLastError)
_ERR_PASSWORD = 4
_ERR_SECURITY = 5

_VIETNAMESE = set("ăâđêôơưĂÂĐÊÔƠƯ")
_LATIN1_VIETNAMESE = set("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")
_PAGE_NUMBER = re.compile(r"^\s*(?:[-–—]\s*)?(?:trang\s+)?\d{1,4}(?:\s*/\s*\d{1,4})?(?:\s*[-–—])?\s*$", re.I)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as exc:
        raise MissingDependency("thiếu thư viện pypdfium2 để đọc PDF: pip install pypdfium2") from exc
    return pypdfium2


def _open(pdfium: Any, data: bytes) -> Any:
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code == _ERR_PASSWORD:
            raise LoadError("tệp PDF được đặt mật khẩu: hãy gỡ mật khẩu (hoặc in ra PDF mới) rồi tải lên lại") \
                from exc
        if code == _ERR_SECURITY:
            raise LoadError("tệp PDF dùng cơ chế bảo mật không được hỗ trợ: hãy gỡ bảo mật rồi tải lên lại") from exc
        raise LoadError("tệp PDF bị hỏng, không mở được") from exc


def clean_page_text(text: str) -> str:
    """PDFium's page text: ``\\n`` newlines, no control characters, no page-number lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    return drop_page_numbers(text)


def drop_page_numbers(text: str) -> str:
    """Drop a page number standing alone as the first or last line of a page ("2", "- 2 -", "Trang 2")."""
    lines = text.split("\n")
    for edge in (0, -1):
        indexes = [i for i, line in enumerate(lines) if line.strip()]
        if indexes and _PAGE_NUMBER.match(lines[indexes[edge]]):
            del lines[indexes[edge]]
    return "\n".join(lines).strip("\n")


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def drop_running_lines(pages: list[str], edge: int = 2) -> list[str]:
    """Drop running headers and footers: lines among the first or last ``edge`` of most pages.

    A line counts as running when the same text (numbers aside) sits at the top
    or bottom of at least half the pages, and of at least three pages.
    """
    if len(pages) < 3:
        return pages
    counts: dict[str, int] = {}
    edges: list[list[int]] = []
    split = [page.split("\n") for page in pages]
    for lines in split:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        near = sorted(set(filled[:edge] + filled[-edge:]))
        edges.append(near)
        for key in {_furniture_key(lines[i]) for i in near if len(lines[i]) <= 100}:
            counts[key] = counts.get(key, 0) + 1
    running = {key for key, n in counts.items() if n >= max(3, len(pages) / 2)}
    if not running:
        return pages
    out = []
    for lines, near in zip(split, edges):
        drop = {i for i in near if _furniture_key(lines[i]) in running}
        out.append("\n".join(line for i, line in enumerate(lines) if i not in drop).strip("\n"))
    return out


def letters(text: str) -> int:
    return sum(1 for ch in text if ch.isalpha())


def unusable_text(text: str) -> bool:
    """A text layer that does not hold readable Vietnamese: unmapped glyphs or a legacy 8-bit font."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return False
    bad = sum(1 for ch in chars if ch in "\ufffd\ufffe\uffff" or unicodedata.category(ch) in ("Co", "Cn", "Cc"))
    if bad > len(chars) * 0.1:
        return True
    alpha = [ch for ch in chars if ch.isalpha()]
    if len(alpha) < 50:
        return False
    vietnamese = sum(1 for ch in alpha if ch in _VIETNAMESE or "\u1ea0" <= ch <= "\u1ef9" or ch in "ĩũĨŨ")
    legacy = sum(1 for ch in chars if "\u00a0" <= ch <= "\u00ff" and ch not in _LATIN1_VIETNAMESE and ch != "\u00a0")
    # TCVN3 (.VnTime) and VNI fonts show as Latin-1 symbols: "Céng hoµ x· héi chñ nghÜa ViÖt Nam".
    return legacy > len(alpha) * 0.04 and vietnamese < legacy


def _image_cover(page: Any, pdfium: Any) -> float:
    width, height = page.get_size()
    area = max(width * height, 1.0)
    covered = 0.0
    for obj in page.get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,), max_depth=4):
        left, bottom, right, top = obj.get_bounds()
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(0.0, min(top, height) - max(bottom, 0.0))
    return min(covered / area, 1.0)


@dataclass
class _Line:
    text: str
    box: tuple[float, float, float, float] | None  # left, bottom, right, top; None for a blank line


_BLOCK = _Line("", None)  # a block boundary the layout shows without a gap (the end of a table)


def _text_layer(page: Any) -> str:
    textpage = page.get_textpage()
    try:
        count = textpage.count_chars()
        text = textpage.get_text_range(0, count) if count > 0 else ""
        if len(text) != count:  # characters and boxes out of step: keep PDFium's lines as they are
            return textpage.get_text_bounded()
        return _paragraphs(reading_order(_lines(text, textpage)))
    finally:
        textpage.close()


def _lines(text: str, textpage: Any) -> list[_Line]:
    """PDFium's lines, each with the box around its characters (font ascent to descent).

    PDFium joins text that shares a baseline into one line, even across a wide
    gap (the two cells of a header row): such a line is cut at gaps wider than
    five line heights (a list number and its tab stay together).
    """
    lines: list[_Line] = []
    start = 0
    for match in re.finditer(r"\r\n|\n|\r|$", text):
        end = match.start()
        chars = [(i, textpage.get_charbox(i, loose=True)) for i in range(start, end) if not text[i].isspace()]
        if chars:
            height = sorted(b[3] - b[1] for _, b in chars)[len(chars) // 2]
            piece = [chars[0]]
            for prev, cur in zip(chars, chars[1:]):
                if cur[1][0] - prev[1][2] > 5 * height:
                    lines.append(_piece(text, piece))
                    piece = []
                piece.append(cur)
            lines.append(_piece(text, piece))
        elif text[start:end].strip():
            lines.append(_Line(text[start:end].strip(), None))
        start = match.end()
        if match.end() == len(text):
            break
    return lines


def _piece(text: str, chars: list[tuple[int, tuple[float, float, float, float]]]) -> _Line:
    boxes = [box for _, box in chars]
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    return _Line(text[chars[0][0]:chars[-1][0] + 1].strip(), box)


def _paragraphs(lines: list[_Line]) -> str:
    """Lines joined, with a blank line where the layout shows a new paragraph or block.

    A PDF has no paragraphs, only lines at positions. A new block starts where
    the step down from one line to the next is wider than the page's usual line
    pitch (paragraph spacing), at a jump up or sideways (the next column, the
    right cell of the header), and at a first-line indent.
    """
    boxed = [line.box for line in lines if line.box is not None]
    if len(boxed) < 2:
        return "\n".join(line.text for line in lines)
    heights = sorted(box[3] - box[1] for box in boxed)
    height = max(heights[len(heights) // 2], 1.0)
    pitches = sorted(a[1] - b[1] for a, b in zip(boxed, boxed[1:]) if 0.5 * height < a[1] - b[1] < 3 * height)
    pitch = pitches[len(pitches) // 2] if pitches else 1.2 * height
    lefts = [round(box[0]) for box in boxed]
    margin = min(lefts, key=lambda x: (-lefts.count(x), x))  # the left edge most lines start at
    out: list[str] = []
    previous: _Line | None = None
    for line in lines:
        if line is _BLOCK:
            if previous is not None:
                out.append("\n\n")
            previous = None
            continue
        if previous is not None:
            both = previous.box is not None and line.box is not None
            out.append("\n\n" if both and _breaks(previous.box, line.box, height, pitch, margin) else "\n")
        out.append(line.text)
        previous = line
    return "".join(out).strip("\n")


def _breaks(above: tuple[float, float, float, float], below: tuple[float, float, float, float],
            height: float, pitch: float, margin: float) -> bool:
    overlap = min(above[3], below[3]) - max(above[1], below[1])
    if overlap > 0.5 * min(above[3] - above[1], below[3] - below[1]):
        return False  # the same row, split by PDFium: keep the pieces on adjacent lines
    if below[3] > above[1] + 0.2 * height:
        return True  # not below: the next column or cell
    if above[1] - below[1] > 1.3 * pitch:
        return True  # paragraph spacing
    at_margin = abs(above[0] - margin) < 0.3 * height
    return at_margin and margin + 0.8 * height < below[0] < margin + 6 * height  # a first-line indent


def _render(page: Any, dpi: int = RENDER_DPI) -> Any:
    bitmap = page.render(scale=dpi / 72, grayscale=True, fill_color=(255, 255, 255, 255))
    try:
        return bitmap.to_pil()
    finally:
        bitmap.close()


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two line boxes share a row (overlap by half the smaller height)."""
    shared = min(a[3], b[3]) - max(a[1], b[1])
    return shared > 0.5 * min(a[3] - a[1], b[3] - b[1])


def reading_order(lines: list[_Line]) -> list[_Line]:
    """Put side-by-side columns (the header table, the signature table) in row order.

    PDF producers write a table cell by cell, so the number "Số: ..." and the
    subject "V/v ..." of the left cell come before the place and date of the
    right cell, which a typed document puts between them. From the first to the
    last line that shares a row with a line of another column, lines are sorted
    by row, then left to right, each staying a line of its own; the rest of the
    page keeps its order.
    """
    boxes = [line.box for line in lines]
    beside = []
    for i, a in enumerate(boxes):
        if a is None:
            continue
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if b is not None and _overlap(a, b) and (a[2] <= b[0] or b[2] <= a[0]):
                beside += [i, j]
    if not beside:
        return lines
    first, last = min(beside), max(beside)
    while last + 1 < len(lines) and _continues(lines[last], lines[last + 1]):
        last += 1  # the wrapped end of the table's last cell
    table = _join_wrapped([line for line in lines[first:last + 1] if line.box is not None])
    return [*lines[:first], _BLOCK, *_by_rows(table), _BLOCK, *lines[last + 1:]]


def _join_wrapped(lines: list[_Line]) -> list[_Line]:
    """Join a cell's wrapped line to the one above it ("..., ngày 17 tháng 12 năm" + "2025").

    A continuation follows its line in the PDF's order, sits right below it in
    the same column and starts with a small letter or a digit.
    """
    out: list[_Line] = []
    for line in lines:
        if out and _continues(out[-1], line):
            above, box = out[-1].box, line.box
            out[-1] = _Line(f"{out[-1].text} {line.text}", (min(above[0], box[0]), box[1],
                                                            max(above[2], box[2]), above[3]))
            continue
        out.append(line)
    return out


def _continues(above: _Line, line: _Line) -> bool:
    if above.box is None or line.box is None:
        return False
    a, b = above.box, line.box
    below = 0 <= a[1] - b[3] < 0.8 * (a[3] - a[1])
    same_column = b[0] < a[2] and a[0] < b[2]
    first = line.text[:1]
    return below and same_column and (first.islower() or first.isdigit())


def _by_rows(lines: list[_Line]) -> list[_Line]:
    """Lines by row (top edges within half a line of each other), then left to right."""
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda item: -item.box[3]):
        if rows and rows[-1][0].box[3] - line.box[3] < 0.5 * (line.box[3] - line.box[1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.box[0])]


class PdfLoader(Loader):
    """PDF files: the text layer page by page; scanned pages through OCR."""

    suffixes = (".pdf",)

    def load(self, data: bytes) -> LoadedText:
        if not data.strip():
            raise LoadError("tệp rỗng, không có nội dung")
        pdfium = _pdfium()
        document = _open(pdfium, data)
        try:
            count = len(document)
            if count == 0:
                raise LoadError("tệp PDF không có trang nào")
            if count > MAX_PAGES:
                raise LoadError(f"tệp PDF có {count} trang, vượt giới hạn {MAX_PAGES} trang")
            pages, scanned, read = self._pages(document, pdfium, count)
        except pdfium.PdfiumError as exc:
            raise LoadError("tệp PDF bị hỏng, không đọc được nội dung") from exc
        finally:
            document.close()
        if not read:
            raise LoadError(no_text_reason("tệp PDF") if scanned else "tệp PDF không có chữ")
        pages = drop_running_lines(pages)
        return LoadedText("\f".join(pages), pages=tuple(pages))

    @staticmethod
    def _pages(document: Any, pdfium: Any, count: int) -> tuple[list[str], int, bool]:
        """Text of each page, how many pages were OCR'd, and whether any page held text."""
        pages: list[str] = []
        scanned = 0
        read = False
        for index in range(count):
            page = document[index]
            try:
                text = clean_page_text(_text_layer(page))
                if unusable_text(text) or (letters(text) < MIN_TEXT_LETTERS
                                           and _image_cover(page, pdfium) >= MIN_IMAGE_COVER):
                    scanned += 1
                    if scanned > MAX_OCR_PAGES:
                        raise LoadError(f"tệp PDF có hơn {MAX_OCR_PAGES} trang scan, vượt giới hạn nhận dạng chữ")
                    check_tesseract()
                    result = ocr_image(_render(page))
                    text = drop_page_numbers(result.text) if result.has_text else ""
                    read = read or result.has_text
                else:
                    read = read or letters(text) > 0
            finally:
                page.close()
            pages.append(text)
        return pages, scanned, read

"""File loaders: bytes of a file -> its text (and pages, where the format has them).

Each format is one :class:`Loader`. :func:`detect_loader` picks one from the
content (magic bytes), not from the file name: an upload named ``.txt`` that
holds a PDF is read as a PDF. The name only tells text flavours apart and
explains a mismatch (a ``.pdf`` that is not a PDF).

Formats: plain text and markdown (here), Word .docx (:mod:`ingest.docx_loader`),
PDF with a text layer or scanned (:mod:`ingest.pdf_loader`), images through
Tesseract OCR (:mod:`ingest.ocr`).
"""

from __future__ import annotations

import codecs
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePath


class LoadError(Exception):
    """A file that cannot be read as a document. The message says why, in Vietnamese."""


class MissingDependency(LoadError):
    """The file may be fine, but a program or package needed to read its format is not installed."""


@dataclass(frozen=True)
class LoadedText:
    text: str
    pages: tuple[str, ...] | None = None  # one string per page, for paged formats


class Loader(ABC):
    suffixes: tuple[str, ...] = ()

    @abstractmethod
    def load(self, data: bytes) -> LoadedText:
        """Return the document's text; raise :class:`LoadError` with a reason."""


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class PlainTextLoader(Loader):
    """.txt and .md files in UTF-8 (with or without BOM), UTF-16, or Windows-1258."""

    suffixes = (".txt", ".md", ".markdown")

    def load(self, data: bytes) -> LoadedText:
        if not data.strip():
            raise LoadError("tệp rỗng, không có nội dung")
        text = _decode(data)
        if not text.strip():
            raise LoadError("tệp không có nội dung văn bản")
        return LoadedText(text)


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding)
    if b"\x00" in data:
        raise LoadError("tệp nhị phân, không phải văn bản")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise LoadError("không đọc được mã ký tự (cần UTF-8)") from exc
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > len(text) // 100:
        raise LoadError("tệp nhị phân, không phải văn bản")
    return text


LOADERS: list[Loader] = [PlainTextLoader()]


def all_loaders() -> list[Loader]:
    """Every format, text first. The binary formats import their libraries only when they load."""
    from ingest.docx_loader import DocxLoader
    from ingest.ocr import ImageLoader
    from ingest.pdf_loader import PdfLoader

    return [*LOADERS, DocxLoader(), PdfLoader(), ImageLoader()]


def supported_suffixes() -> tuple[str, ...]:
    """File name suffixes a folder walk picks up (the content still decides the format)."""
    return tuple(s for loader in all_loaders() for s in loader.suffixes)


# -- content sniffing -----------------------------------------------------------

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
_TIFF = (b"II*\x00", b"MM\x00*")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")


def _other_image(data: bytes) -> str | None:
    """GIF, BMP or WebP, which Tesseract is not fed: the name, to say so."""
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data.startswith(b"BM") and len(data) > 26 and data[6:10] == b"\x00\x00\x00\x00":
        return "BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    return None


def sniff(data: bytes) -> str:
    """The format the bytes hold: pdf, zip, png, jpeg, tiff, ole2, rtf, empty or text."""
    if not data.strip():
        return "empty"
    if data.startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and b"%%EOF" in data[-2048:]):
        return "pdf"  # readers accept junk before the header
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_PNG):
        return "png"
    if data.startswith(_JPEG):
        return "jpeg"
    if data.startswith(_TIFF):
        return "tiff"
    if data.startswith(_OLE2):
        return "ole2"
    if data.lstrip().startswith(b"{\\rtf"):
        return "rtf"
    return "text"


def detect_loader(data: bytes, name: str = "") -> Loader:
    """The loader for these bytes, chosen by content; ``name`` only disambiguates text.

    Raises :class:`LoadError` when the content is a format we do not read, with the reason.
    """
    from ingest.docx_loader import DocxLoader
    from ingest.ocr import ImageLoader
    from ingest.pdf_loader import PdfLoader

    kind = sniff(data)
    suffix = PurePath(name).suffix.lower()
    if kind == "empty":
        raise LoadError("tệp rỗng, không có nội dung")
    if kind == "pdf":
        return PdfLoader()
    if kind in ("png", "jpeg", "tiff"):
        return ImageLoader()
    if kind == "zip":
        _check_office_zip(data, suffix)
        return DocxLoader()
    if kind == "ole2":
        raise LoadError(_ole2_reason(data))
    if kind == "rtf":
        raise LoadError("tệp RTF chưa được hỗ trợ: hãy mở bằng Word và lưu lại dưới dạng .docx hoặc PDF")
    if image := _other_image(data):
        raise LoadError(f"ảnh {image} chưa được hỗ trợ: hãy chuyển sang PNG, JPEG hoặc TIFF")
    text_suffixes = PlainTextLoader.suffixes
    if suffix and suffix not in text_suffixes:
        if suffix in {s for loader in all_loaders() for s in loader.suffixes}:
            raise LoadError(
                f"tệp có đuôi '{suffix}' nhưng nội dung không đúng định dạng đó (tệp hỏng hoặc đặt sai tên)"
            )
        known = ", ".join(supported_suffixes())
        raise LoadError(f"định dạng '{suffix}' không được hỗ trợ (hỗ trợ: {known})")
    return LOADERS[0]


def load_bytes(data: bytes, name: str = "") -> LoadedText:
    """Detect the format of ``data`` and load it. Raises :class:`LoadError` with a Vietnamese reason."""
    return detect_loader(data, name).load(data)


def _check_office_zip(data: bytes, suffix: str) -> None:
    """A ZIP must be a Word document; say what it is when it is not."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100)  # bounded: nothing is inflated before the bomb check
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
        what = "tệp Word (.docx)" if suffix in (".docx", ".docm") else "tệp nén ZIP"
        raise LoadError(f"{what} bị hỏng, không mở được") from exc
    if "word/document.xml" in names:
        return
    if "xl/workbook.xml" in names:
        raise LoadError("đây là bảng tính Excel (.xlsx), không phải văn bản Word: chưa được hỗ trợ")
    if "ppt/presentation.xml" in names:
        raise LoadError("đây là bản trình chiếu PowerPoint (.pptx), không phải văn bản Word: chưa được hỗ trợ")
    if mimetype.startswith(b"application/vnd.oasis.opendocument"):
        raise LoadError("tệp OpenDocument (.odt) chưa được hỗ trợ: hãy lưu lại dưới dạng .docx hoặc PDF")
    raise LoadError("tệp nén ZIP không phải văn bản Word (.docx): không có word/document.xml")


def _ole2_reason(data: bytes) -> str:
    """An OLE2 compound file: a password-protected Office file, or an old binary .doc/.xls/.ppt."""
    if "EncryptedPackage".encode("utf-16-le") in data:
        return "tệp Word được đặt mật khẩu (mã hóa): hãy gỡ mật khẩu rồi lưu lại dưới dạng .docx và tải lên lại"
    if "WordDocument".encode("utf-16-le") in data:
        return ("tệp Word cũ (.doc, Word 97–2003) chưa được hỗ trợ: hãy mở bằng Word và lưu lại dưới dạng "
                ".docx hoặc PDF (nếu tệp có mật khẩu, gỡ mật khẩu trước)")
    if "Workbook".encode("utf-16-le") in data:
        return "đây là bảng tính Excel cũ (.xls), không phải văn bản: chưa được hỗ trợ"
    return "tệp Office cũ (định dạng OLE2) chưa được hỗ trợ: hãy lưu lại dưới dạng .docx hoặc PDF"

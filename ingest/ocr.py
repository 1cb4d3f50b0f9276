"""OCR through Tesseract's Vietnamese model, and the loader for scanned images.

Tesseract runs as a program (Debian packages ``tesseract-ocr`` and
``tesseract-ocr-vie``), one page at a time, writing plain text and a TSV of
word confidences in the same pass. The text goes to the structure parser as it
is: it already reads hard-wrapped, OCR-damaged text. The confidences only tell
whether a page held any text at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from ingest.loaders import LoadedText, Loader, LoadError, MissingDependency

LANGUAGE = "vie"
DEBIAN_PACKAGES = "tesseract-ocr tesseract-ocr-vie"
RENDER_DPI = 300  # what scans are made at; Tesseract reads 10-12 pt text best there
PAGE_TIMEOUT = 300  # seconds for one page
MAX_PAGES = 300
MAX_PIXELS = 120_000_000  # one page; an A4 page at 600 dpi is 35 Mpx
MIN_WORDS = 3  # confident words for a page to count as text
MIN_CONFIDENCE = 60


@dataclass(frozen=True)
class OcrPage:
    text: str
    words: int  # confidently read words of two letters or more
    confidence: float  # mean confidence of all words, 0-100

    @property
    def has_text(self) -> bool:
        return self.words >= MIN_WORDS


def tesseract_binary() -> str | None:
    return shutil.which(os.environ.get("CHIDAO_TESSERACT", "tesseract"))


@lru_cache(maxsize=8)
def _languages(binary: str, tessdata: str) -> frozenset[str]:
    """The models ``tesseract --list-langs`` names (``tessdata``: TESSDATA_PREFIX, part of the cache key)."""
    try:
        proc = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and " " not in line.strip())


def check_tesseract(language: str = LANGUAGE) -> str:
    """The tesseract program, after checking it has ``language``; :class:`MissingDependency` if not."""
    binary = tesseract_binary()
    if binary is None:
        raise MissingDependency(
            "chưa cài Tesseract OCR nên không đọc được ảnh và bản scan: cài các gói Debian "
            f"{DEBIAN_PACKAGES} (apt-get install {DEBIAN_PACKAGES})"
        )
    if language not in _languages(binary, os.environ.get("TESSDATA_PREFIX", "")):
        raise MissingDependency(
            f"Tesseract chưa có dữ liệu nhận dạng tiếng Việt ({language}.traineddata): cài gói Debian "
            f"tesseract-ocr-{language} (apt-get install tesseract-ocr-{language})"
        )
    return binary


def pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingDependency("thiếu thư viện Pillow để đọc ảnh: pip install pillow") from exc
    return Image


def ocr_image(image: Any, dpi: int = RENDER_DPI, language: str = LANGUAGE) -> OcrPage:
    """Read the text of one page image (a PIL image)."""
    binary = check_tesseract(language)
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")  # one page at a time; threads only contend on a shared CPU
    with tempfile.TemporaryDirectory(prefix="chidao-ocr-") as tmp:
        source = Path(tmp) / "page.png"
        image.save(source, format="PNG", dpi=(dpi, dpi))
        out = Path(tmp) / "out"
        command = [binary, str(source), str(out), "-l", language, "--dpi", str(dpi), "--psm", "3",
                   "-c", "page_separator=", "txt", "tsv"]
        try:
            proc = subprocess.run(command, capture_output=True, timeout=PAGE_TIMEOUT, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise LoadError(f"nhận dạng chữ (OCR) một trang quá {PAGE_TIMEOUT} giây, đã dừng") from exc
        except OSError as exc:
            raise MissingDependency(f"không chạy được Tesseract OCR ({exc.strerror or exc})") from exc
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise LoadError(f"Tesseract OCR báo lỗi: {detail[0]}")
        text = out.with_suffix(".txt").read_text("utf-8", errors="replace")
        tsv = out.with_suffix(".tsv").read_text("utf-8", errors="replace")
    words, confidence = _confidence(tsv)
    return OcrPage(text.replace("\f", "\n").strip("\n"), words, confidence)


def _confidence(tsv: str) -> tuple[int, float]:
    """(confident words of >= 2 letters, mean confidence) from Tesseract's TSV."""
    confident = 0
    scores: list[float] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        try:
            conf = float(cols[10])
        except ValueError:
            continue
        word = cols[11].strip()
        if conf < 0 or not word:
            continue
        scores.append(conf)
        if conf >= MIN_CONFIDENCE and sum(ch.isalpha() for ch in word) >= 2:
            confident += 1
    return confident, (sum(scores) / len(scores) if scores else 0.0)


def prepare(image: Any) -> tuple[Any, int]:
    """An upright, 8-bit page image at a resolution Tesseract reads well, and its dpi."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = pillow().new("RGBA", rgba.size, (255, 255, 255, 255))
        image = pillow().alpha_composite(background, rgba)
    if image.mode not in ("L", "RGB"):
        image = image.convert("L" if image.mode in ("1", "I", "I;16", "F") else "RGB")
    dpi = _dpi(image)
    if dpi < 200:  # a low-resolution scan or a small screenshot: enlarge so letters are ~30 px tall
        factor = min(RENDER_DPI / dpi, 3.0)
        size = (round(image.width * factor), round(image.height * factor))
        if size[0] * size[1] <= MAX_PIXELS:
            image = image.resize(size, pillow().Resampling.LANCZOS)
            dpi = round(dpi * factor)
    return image, dpi


def _dpi(image: Any) -> int:
    raw = image.info.get("dpi")
    try:
        dpi = round(float(raw[0])) if raw else 0
    except (TypeError, ValueError, IndexError):
        dpi = 0
    if 70 <= dpi <= 1200:
        return dpi
    # No usable dpi: take the narrow side as an A4 page's width (8.27 in).
    return max(70, min(600, round(min(image.size) / 8.27)))


def no_text_reason(kind: str) -> str:
    return (f"không nhận dạng được chữ nào trong {kind} (ảnh trống, quá mờ, bị nghiêng nhiều "
            "hoặc không phải văn bản)")


class ImageLoader(Loader):
    """Scanned pages or photos as PNG, JPEG or TIFF (multi-page TIFF: one page per frame)."""

    suffixes = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

    def load(self, data: bytes) -> LoadedText:
        if not data.strip():
            raise LoadError("tệp rỗng, không có nội dung")
        Image = pillow()  # noqa: N806 - the PIL module's own name
        check_tesseract()
        pages: list[OcrPage] = []
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                with Image.open(BytesIO(data)) as image:
                    frames = getattr(image, "n_frames", 1)
                    if frames > MAX_PAGES:
                        raise LoadError(f"ảnh có {frames} trang, vượt giới hạn {MAX_PAGES} trang")
                    for index in range(frames):
                        image.seek(index)
                        if image.width * image.height > MAX_PIXELS:
                            raise LoadError(f"ảnh quá lớn ({image.width}×{image.height} điểm ảnh), hãy quét ở 300 dpi")
                        image.load()
                        page, dpi = prepare(image.copy())
                        pages.append(ocr_image(page, dpi))
            except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
                raise LoadError("ảnh quá lớn (nghi là bom giải nén), từ chối xử lý") from exc
            except (Image.UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
                raise LoadError("tệp ảnh bị hỏng hoặc không đọc được") from exc
        if not any(page.has_text for page in pages):
            raise LoadError(no_text_reason("ảnh"))
        texts = tuple(page.text for page in pages)
        if len(texts) == 1:
            return LoadedText(texts[0])
        return LoadedText("\f".join(texts), pages=texts)

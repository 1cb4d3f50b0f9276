"""File loaders: bytes of a file -> its text (and pages, where the format has them).

Each format is one :class:`Loader`; :func:`loader_for` picks one by file name.
New formats register themselves in ``LOADERS``.
"""

from __future__ import annotations

import codecs
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import PurePath


class LoadError(Exception):
    """A file that cannot be read as a document. The message says why, in Vietnamese."""


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


def supported_suffixes() -> tuple[str, ...]:
    return tuple(s for loader in LOADERS for s in loader.suffixes)


def loader_for(name: str) -> Loader:
    suffix = PurePath(name).suffix.lower()
    for loader in LOADERS:
        if suffix in loader.suffixes:
            return loader
    known = ", ".join(supported_suffixes())
    raise LoadError(f"định dạng '{suffix or '(không có đuôi)'}' không được hỗ trợ (hỗ trợ: {known})")

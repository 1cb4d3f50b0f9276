"""Multipart uploads read as they stream, each file checked against the limit while it arrives.

A file that passes the limit stops the reading at once (413): nothing beyond the limit is
read from the network, held in memory or written to a temporary file. Files under the
limit are spooled (memory up to 1 MB, then a temporary file) until the request is complete.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile

from fastapi import HTTPException, Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from ingest.labels import clean_label

SPOOL_BYTES = 1 << 20


@dataclass
class Upload:
    filename: str
    file: SpooledTemporaryFile[bytes] = field(default_factory=lambda: SpooledTemporaryFile(max_size=SPOOL_BYTES))
    size: int = 0

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


class _Parts:
    """python-multipart callbacks: file parts into :class:`Upload` objects, other fields ignored."""

    def __init__(self, limit: int, limit_mb: float, max_files: int, charset: str) -> None:
        self.limit, self.limit_mb, self.max_files, self.charset = limit, limit_mb, max_files, charset
        self.uploads: list[Upload] = []
        self._current: Upload | None = None
        self._header = b""
        self._value = b""
        self._disposition = b""

    def on_part_begin(self) -> None:
        self._current, self._disposition = None, b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        if self._header.lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"filename" not in options:
            return  # a plain form field: not ours to keep
        if len(self.uploads) >= self.max_files:
            raise HTTPException(413, f"Quá nhiều tệp trong một yêu cầu (tối đa {self.max_files}).")
        self._current = Upload(options[b"filename"].decode(self.charset, errors="replace"))
        self.uploads.append(self._current)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        upload = self._current
        if upload is None:
            return
        upload.size += end - start
        if upload.size > self.limit:
            raise HTTPException(413, f"Tệp '{clean_label(upload.filename)}' vượt quá giới hạn {self.limit_mb:g} MB "
                                     "(CHIDAO_UPLOAD_LIMIT_MB); chưa nạp tệp nào của yêu cầu này.")
        upload.file.write(data[start:end])

    def on_part_end(self) -> None:
        self._current = None


def _boundary_and_charset(request: Request) -> tuple[bytes, str]:
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise HTTPException(422, "Không có tệp nào trong yêu cầu (multipart/form-data, trường 'files').")
    try:
        charset = codecs.lookup(params.get(b"charset", b"utf-8").decode("latin-1")).name
    except LookupError:
        charset = "utf-8"
    return params[b"boundary"], charset


@asynccontextmanager
async def read_uploads(request: Request, limit: int, limit_mb: float, max_files: int) -> AsyncIterator[list[Upload]]:
    """The request's files, read within ``limit`` bytes each; closed (and deleted) when the block ends."""
    boundary, charset = _boundary_and_charset(request)
    parts = _Parts(limit, limit_mb, max_files, charset)
    callbacks = {name: getattr(parts, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end")}
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        yield parts.uploads
    except FormParserError:
        raise HTTPException(400, "Dữ liệu multipart/form-data không hợp lệ.") from None
    finally:
        for upload in parts.uploads:
            upload.file.close()

"""File -> :class:`ParsedDocument`: load, normalise, read the header, build sections."""

from __future__ import annotations

from pathlib import Path

from ingest.header import find_zones, read_meta
from ingest.loaders import LoadedText, LoadError, load_bytes
from ingest.models import Paragraph, ParsedDocument
from ingest.normalize import Line, plain_text, split_paragraphs, strip_heading_marks, to_lines
from ingest.sections import CLOSING, HEADER, build_paragraphs


def _zone_paragraph(lines: list[Line], part: Paragraph) -> Paragraph | None:
    texts = [plain_text(strip_heading_marks(line.text)) for line in lines if line.text != "\f"]
    text = "\n".join(t for t in texts if t)
    if not text:
        return None
    page = next((line.page for line in lines if line.text.strip()), None)
    return Paragraph(text, part.path, page, part.kind)


def parse_loaded(loaded: LoadedText, source: str) -> ParsedDocument:
    lines = to_lines(loaded)
    zones = find_zones(lines)
    raws, footnotes = split_paragraphs(lines[zones.body_start:zones.closing_start])
    body = build_paragraphs(raws, footnotes)
    meta = read_meta(lines, zones, "\n".join(p.text for p in body))
    paragraphs: list[Paragraph] = []
    header = _zone_paragraph(lines[:zones.body_start], Paragraph("", (HEADER,), None, "header"))
    if header:
        paragraphs.append(header)
    paragraphs.extend(body)
    closing = _zone_paragraph(lines[zones.closing_start:], Paragraph("", (CLOSING,), None, "closing"))
    if closing:
        paragraphs.append(closing)
    if not any(p.kind not in ("header", "closing") for p in paragraphs):
        raise LoadError("không tìm thấy nội dung văn bản")
    return ParsedDocument(source, meta, tuple(paragraphs), footnotes)


def parse_bytes(data: bytes, source: str) -> ParsedDocument:
    """Parse a file's bytes; the format comes from the content, ``source`` (the file name) names it."""
    return parse_loaded(load_bytes(data, source), source)


def parse_file(path: str | Path) -> ParsedDocument:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"không đọc được tệp: {exc.strerror or exc}") from exc
    return parse_bytes(data, path.name)

"""File -> :class:`ParsedDocument`: load, normalise, read the header, build sections."""

from __future__ import annotations

from pathlib import Path

from ingest.doctypes import type_line
from ingest.header import read_meta
from ingest.legal_text import sentence_case
from ingest.loaders import LoadedText, LoadError, load_bytes
from ingest.models import Heading, Paragraph, ParsedDocument
from ingest.normalize import Line, plain_text, split_paragraphs, strip_heading_marks, to_lines
from ingest.sections import CLOSING, HEADER, build_paragraphs
from ingest.zones import Zones, find_zones, header_end, plain


def _zone_paragraph(lines: list[Line], part: Paragraph) -> Paragraph | None:
    texts = [plain_text(strip_heading_marks(line.text)) for line in lines if line.text != "\f"]
    text = "\n".join(t for t in texts if t)
    if not text:
        return None
    page = next((line.page for line in lines if line.text.strip()), None)
    return Paragraph(text, part.path, page, part.kind)


def _attachment(lines: list[Line], start: int, stop: int, footnotes: dict[str, str]) -> list[Paragraph]:
    """An attached document (Quy chế, Kế hoạch, Phụ lục …): its own heading, then its body."""
    segment = lines[start:stop]
    found = type_line(plain(segment[0]))
    if found is None:  # a PHỤ LỤC heading: the numbering reads it
        raws, notes = split_paragraphs(segment)
        return build_paragraphs(raws, {**footnotes, **notes})
    head_end = header_end(segment, len(segment))
    title = " ".join(plain(line) for line in segment[1:head_end] if plain(line)) or found[1]
    root = (Heading("attachment", found[0].name, sentence_case(title)),)
    raws, notes = split_paragraphs(segment[head_end:])
    return build_paragraphs(raws, {**footnotes, **notes}, root)


def _main_paragraphs(lines: list[Line], zones: Zones) -> tuple[list[Paragraph], dict[str, str]]:
    raws, footnotes = split_paragraphs(lines[zones.body_start:zones.closing_start])
    return build_paragraphs(raws, footnotes), footnotes


def parse_loaded(loaded: LoadedText, source: str) -> ParsedDocument:
    lines = to_lines(loaded)
    zones = find_zones(lines)
    body, footnotes = _main_paragraphs(lines, zones)
    meta = read_meta(lines, zones, "\n".join(p.text for p in body))
    paragraphs: list[Paragraph] = []
    header = _zone_paragraph(lines[:zones.body_start], Paragraph("", (HEADER,), None, "header"))
    if header:
        paragraphs.append(header)
    paragraphs.extend(body)
    closing = _zone_paragraph(lines[zones.closing_start:zones.end], Paragraph("", (CLOSING,), None, "closing"))
    if closing:
        paragraphs.append(closing)
    for start, stop in zones.attachments:
        paragraphs.extend(_attachment(lines, start, stop, footnotes))
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

"""Word .docx -> text the structure parser reads like a typed document.

- Paragraphs in document order, one per block (blank line between).
- Word list numbering put back into the text: an auto-numbered paragraph holds
  no number of its own, so the counters are replayed from ``numbering.xml``
  (``numFmt``, ``lvlText``, ``start``, restarts) and "I.", "1.", "a)", "-"
  are written in front of it, as a typist would have.
- Bold or italic lead-ins (``**7. Sở Y tế** chủ trì ...``) kept as markdown
  emphasis, which the section parser reads for heading titles.
- Footnotes written after the paragraph that cites them, in the
  ``<sup>n</sup>`` form the normaliser lifts out.
- Tables: a data table gives one line per row, cells joined by " | ", as a
  "- " list item (so rows stay apart and a "1." cell opens no section); the
  borderless layout tables of the header (issuer | national motto, number |
  date) and of the signature (Nơi nhận | signer) give one block per cell, so
  the header reader sees the same lines as in a typed document.
- Headers, footers, text boxes, hidden and deleted text are dropped.

The archive is checked before parsing (:func:`check_zip`): size, compression
ratio and member count are capped, so a zip bomb is refused unread.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from ingest.docx_numbering import Numbering
from ingest.docx_xml import MC, RT_FOOTNOTES, RT_NUMBERING, RT_STYLES, is_on, val, w
from ingest.folding import fold_chars
from ingest.loaders import LoadedText, Loader, LoadError, MissingDependency

MAX_UNCOMPRESSED = 256 * 1024 * 1024  # all members together, as declared (zipfile enforces it on read)
MAX_RATIO = 100  # uncompressed / compressed, for members (and the whole) above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_MEMBERS = 5000

# -- the archive ----------------------------------------------------------------


def check_zip(data: bytes, max_uncompressed: int = MAX_UNCOMPRESSED, max_ratio: int = MAX_RATIO) -> None:
    """Refuse a broken, encrypted or zip-bomb archive before anything decompresses it."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise LoadError("tệp Word (.docx) bị hỏng, không mở được") from exc
    if len(infos) > MAX_MEMBERS:
        raise LoadError(f"tệp Word (.docx) bất thường: {len(infos)} thành phần (tối đa {MAX_MEMBERS}), từ chối xử lý")
    total = packed = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise LoadError("tệp Word (.docx) được đặt mật khẩu: hãy gỡ mật khẩu rồi tải lên lại")
        total += info.file_size
        packed += info.compress_size
        if info.file_size > RATIO_FLOOR and info.file_size > max_ratio * max(info.compress_size, 1):
            raise LoadError(_bomb(info.file_size, info.compress_size, max_uncompressed, max_ratio))
    if total > max_uncompressed or (total > RATIO_FLOOR and total > max_ratio * max(packed, 1)):
        raise LoadError(_bomb(total, packed, max_uncompressed, max_ratio))


def _bomb(size: int, packed: int, max_uncompressed: int, max_ratio: int) -> str:
    return (f"tệp Word (.docx) có dấu hiệu bom nén: giải nén ra {size / 2**20:.1f} MB "
            f"(tỉ lệ nén {size / max(packed, 1):.0f}:1), vượt giới hạn {max_uncompressed / 2**20:.0f} MB "
            f"hoặc {max_ratio}:1, từ chối xử lý")


# -- text -----------------------------------------------------------------------

_SKIP = {w("del"), w("moveFrom"), w("txbxContent"), MC + "Fallback", w("pPr"), w("rPr"),
         w("instrText"), w("delText"), w("footnotePr"), w("endnotePr")}
_CONTAINERS = {w("sdt"), w("sdtContent"), w("customXml"), w("smartTag"), w("ins"), w("moveTo")}
_HEADER_CELL = re.compile(r"^(cong hoa xa hoi chu nghia|doc lap\s*-|so\s*[:.]\s*\d*\s*/)")
_CLOSING_CELL = re.compile(r"^(noi nhan|(tm|kt|tl|tuq)\s*\.)")


@dataclass
class _Segment:
    text: str
    style: str  # "" | "b" | "i"


@dataclass
class _Reader:
    numbering: Numbering
    footnotes: dict[str, Any]
    notes_seen: dict[str, int] = field(default_factory=dict)
    pending_notes: list[str] = field(default_factory=list)

    # -- runs -> paragraph text

    def _runs(self, element: Any) -> Iterator[Any]:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str) or tag in _SKIP:
                continue
            if tag == w("r"):
                yield child
            elif tag in (w("hyperlink"), w("fldSimple"), w("smartTag"), w("ins"), w("moveTo"),
                         w("customXml"), w("sdt"), w("sdtContent"), MC + "AlternateContent", MC + "Choice",
                         w("bdo"), w("dir")):
                yield from self._runs(child)

    def _run_text(self, run: Any) -> str:
        out: list[str] = []
        for child in run:
            tag = child.tag
            if tag == w("t"):
                out.append(child.text or "")
            elif tag in (w("tab"), w("ptab")):
                out.append("\t")
            elif tag in (w("br"), w("cr")):
                out.append("\n")
            elif tag == w("noBreakHyphen"):
                out.append("-")
            elif tag == w("footnoteReference"):
                out.append(self._note_mark(child.get(w("id"), "")))
        return "".join(out)

    def _note_mark(self, note_id: str) -> str:
        if note_id not in self.footnotes:
            return ""
        if note_id not in self.notes_seen:
            self.notes_seen[note_id] = len(self.notes_seen) + 1
            self.pending_notes.append(note_id)
        return f"<sup>{self.notes_seen[note_id]}</sup>"

    def paragraph_text(self, paragraph: Any, with_label: bool = True) -> str:
        segments: list[_Segment] = []
        for run in self._runs(paragraph):
            rpr = run.find(w("rPr"))
            if rpr is not None and is_on(rpr.find(w("vanish"))):
                continue
            text = self._run_text(run)
            if not text:
                continue
            bold = rpr is not None and is_on(rpr.find(w("b")))
            italic = rpr is not None and is_on(rpr.find(w("i")))
            style = "b" if bold else "i" if italic else ""
            if segments and segments[-1].style == style:
                segments[-1].text += text
            else:
                segments.append(_Segment(text, style))
        text = _emphasise(segments)
        label = self.numbering.label(paragraph) if with_label else ""
        if label and text.strip():
            return f"{label} {text.lstrip()}"
        return text

    # -- blocks

    def blocks(self, container: Any) -> Iterator[str]:
        """Text blocks of a body, cell or footnote, in order; the caller separates them by blank lines."""
        for child in container:
            tag = child.tag
            if tag == w("p"):
                text = self.paragraph_text(child).strip()
                if text:
                    yield text
                yield from self._flush_notes()
            elif tag == w("tbl"):
                yield from self.table(child)
            elif tag in _CONTAINERS:
                yield from self.blocks(child)

    def _flush_notes(self) -> Iterator[str]:
        while self.pending_notes:
            note_id = self.pending_notes.pop(0)
            paragraphs = [self.paragraph_text(p, with_label=False).strip()
                          for p in self.footnotes[note_id].iter(w("p"))]
            body = " ".join(p for p in paragraphs if p)
            yield f"<sup>{self.notes_seen[note_id]}</sup> {body}".rstrip()

    def _rows(self, table: Any) -> Iterator[Any]:
        for child in table:
            if child.tag == w("tr"):
                yield child
            elif child.tag in _CONTAINERS:
                yield from self._rows(child)

    def _cells(self, row: Any) -> Iterator[Any]:
        for child in row:
            if child.tag == w("tc"):
                yield child
            elif child.tag in _CONTAINERS:
                yield from self._cells(child)

    def table(self, table: Any) -> Iterator[str]:
        rows: list[list[list[str]]] = []
        for row in self._rows(table):
            cells: list[list[str]] = []
            for cell in self._cells(row):
                vmerge = cell.find(f"{w('tcPr')}/{w('vMerge')}")
                if vmerge is not None and val(vmerge, "continue") == "continue":
                    continue  # the merged cell's text is in the row above
                cells.append([b for b in self.blocks(cell) if b.strip()])
            rows.append(cells)
        if _is_layout(rows):
            for cells in rows:
                for blocks in cells:
                    if blocks:
                        yield "\n".join(blocks)
            return
        for cells in rows:
            texts = [" ".join(" ".join(b.split()) for b in blocks) for blocks in cells]
            line = " | ".join(t for t in texts if t)
            if line:
                yield f"- {line}"  # a list item: rows stay apart, and a "1." cell opens no section


def _emphasise(segments: list[_Segment]) -> str:
    """Join runs, marking bold/italic spans as markdown when the paragraph mixes styles."""
    if len({s.style for s in segments if s.text.strip()}) <= 1:
        return "".join(s.text for s in segments)
    out: list[str] = []
    for s in segments:
        core = s.text.strip()
        if not s.style or not core or "*" in core:
            out.append(s.text)
            continue
        mark = "**" if s.style == "b" else "*"
        lead = s.text[:len(s.text) - len(s.text.lstrip())]
        trail = s.text[len(s.text.rstrip()):]
        out.append(f"{lead}{mark}{core}{mark}{trail}")
    return "".join(out)


def _is_layout(rows: list[list[list[str]]]) -> bool:
    """A header (national motto, "Số:") or signature ("Nơi nhận", "TM.") table rather than data."""
    for cells in rows:
        for blocks in cells:
            for block in blocks:
                for line in block.split("\n"):
                    folded = fold_chars(re.sub(r"[*_]", "", line)).strip()
                    if _HEADER_CELL.match(folded) or _CLOSING_CELL.match(folded):
                        return True
    return False


# -- the loader -----------------------------------------------------------------


def _related(part: Any, reltype: str) -> Any | None:
    """The XML root of the part ``part`` relates to by ``reltype``, or None."""
    from docx.oxml.parser import parse_xml

    try:
        related = part.part_related_by(reltype)
    except KeyError:
        return None
    element = getattr(related, "element", None)
    return element if element is not None else parse_xml(related.blob)


class DocxLoader(Loader):
    """Word 2007+ documents (.docx)."""

    suffixes = (".docx",)

    def load(self, data: bytes) -> LoadedText:
        if not data.strip():
            raise LoadError("tệp rỗng, không có nội dung")
        check_zip(data)
        try:
            import docx
        except ImportError as exc:
            raise MissingDependency("thiếu thư viện python-docx để đọc tệp Word: pip install python-docx") from exc
        try:
            document = docx.Document(BytesIO(data))
        except ValueError as exc:
            raise LoadError("tệp không phải văn bản Word (.docx): có thể là tệp mẫu (.dotx) hoặc có macro (.docm)") \
                from exc
        except Exception as exc:  # a broken package fails in many ways (KeyError, XMLSyntaxError ...)
            raise LoadError("tệp Word (.docx) bị hỏng, không mở được") from exc
        try:
            text = self._text(document)
        except Exception as exc:
            raise LoadError("tệp Word (.docx) bị hỏng, không đọc được nội dung") from exc
        if not text.strip():
            raise LoadError("tệp Word không có chữ (có thể chỉ chứa ảnh scan): hãy tải lên bản PDF hoặc ảnh")
        return LoadedText(text)

    @staticmethod
    def _text(document: Any) -> str:
        part = document.part
        numbering = Numbering(_related(part, RT_NUMBERING), _related(part, RT_STYLES))
        notes_root = _related(part, RT_FOOTNOTES)
        footnotes: dict[str, Any] = {}
        if notes_root is not None:
            for note in notes_root.iterchildren(w("footnote")):
                if note.get(w("type")) in (None, "normal"):
                    footnotes[note.get(w("id"), "")] = note
        reader = _Reader(numbering, footnotes)
        body = document.element.find(w("body"))
        return "\n\n".join(reader.blocks(body)) + "\n" if body is not None else ""

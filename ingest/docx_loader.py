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

from ingest.folding import fold_chars
from ingest.loaders import LoadedText, Loader, LoadError, MissingDependency

MAX_UNCOMPRESSED = 256 * 1024 * 1024  # all members together, as declared (zipfile enforces it on read)
MAX_RATIO = 100  # uncompressed / compressed, for members (and the whole) above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_MEMBERS = 5000

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_RT_NUMBERING = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering"
_RT_FOOTNOTES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
_RT_STYLES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"


def _w(tag: str) -> str:
    return _W + tag


def _val(element: Any, default: str | None = None) -> str | None:
    if element is None:
        return default
    return element.get(_w("val"), default)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _on(element: Any) -> bool:
    """A WordprocessingML toggle (``<w:b/>``, ``<w:b w:val="0"/>``)."""
    return element is not None and _val(element, "true") not in ("0", "false", "off", "none")


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


# -- numbering ------------------------------------------------------------------


@dataclass
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = ""
    restart: int | None = None  # w:lvlRestart (1-based level after which it restarts; 0 = never)
    legal: bool = False  # w:isLgl: every number in the label as decimal
    style: str | None = None  # w:pStyle: the paragraph style that carries this level


def _levels(abstract: Any) -> dict[int, _Level]:
    levels: dict[int, _Level] = {}
    for lvl in abstract.iterchildren(_w("lvl")):
        levels[_int(lvl.get(_w("ilvl")), 0)] = _level(lvl)
    return levels


def _level(lvl: Any) -> _Level:
    restart = lvl.find(_w("lvlRestart"))
    return _Level(
        start=_int(_val(lvl.find(_w("start"))), 1),
        fmt=_val(lvl.find(_w("numFmt")), "decimal") or "decimal",
        text=_val(lvl.find(_w("lvlText")), "") or "",
        restart=_int(_val(restart), 0) if restart is not None else None,
        legal=_on(lvl.find(_w("isLgl"))),
        style=_val(lvl.find(_w("pStyle"))),
    )


_ROMAN = ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
          (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
_BULLETS = "-–—•+"
_SYMBOL_BULLETS = {"\uf02d": "-", "\uf02b": "+", "\uf0a7": "•", "\uf0b7": "•", "\uf0d8": "•", "\uf076": "•",
                   "o": "•", "▪": "•", "■": "•", "●": "•", "◦": "•", "": "•", "*": "•", "→": "•", "➢": "•"}


def _roman(n: int) -> str:
    out = []
    for value, numeral in _ROMAN:
        while n >= value:
            out.append(numeral)
            n -= value
    return "".join(out)


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def format_number(n: int, fmt: str) -> str:
    """A counter value in a Word ``numFmt`` (decimal, upperRoman, lowerLetter ...)."""
    if fmt == "none":
        return ""
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt in ("upperRoman", "lowerRoman"):
        roman = _roman(max(n, 1))
        return roman if fmt == "upperRoman" else roman.lower()
    if fmt in ("upperLetter", "lowerLetter"):
        letters = _letters(max(n, 1))
        return letters.upper() if fmt == "upperLetter" else letters
    return str(n)  # decimal, ordinal, cardinalText ... and the rest: a plain number reads best


def _bullet(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if text[0] in _BULLETS:
        return text[0]
    return _SYMBOL_BULLETS.get(text[0], "•")


class Numbering:
    """Replays Word's list counters in document order and renders each list paragraph's label."""

    def __init__(self, numbering: Any | None, styles: Any | None) -> None:
        self.abstract: dict[str, dict[int, _Level]] = {}
        self.style_links: dict[str, str] = {}  # abstractNumId -> numbering style it follows (numStyleLink)
        self.nums: dict[str, tuple[str, dict[int, int], dict[int, _Level]]] = {}
        self.style_numpr: dict[str, tuple[str | None, int | None]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        self.used: set[str] = set()
        if numbering is not None:
            self._read_numbering(numbering)
        if styles is not None:
            self._read_styles(styles)

    def _read_numbering(self, numbering: Any) -> None:
        for abstract in numbering.iterchildren(_w("abstractNum")):
            aid = abstract.get(_w("abstractNumId"), "")
            self.abstract[aid] = _levels(abstract)
            if (link := _val(abstract.find(_w("numStyleLink")))) is not None:
                self.style_links[aid] = link
        for num in numbering.iterchildren(_w("num")):
            starts: dict[int, int] = {}
            overrides: dict[int, _Level] = {}
            for override in num.iterchildren(_w("lvlOverride")):
                ilvl = _int(override.get(_w("ilvl")), 0)
                if (start := override.find(_w("startOverride"))) is not None:
                    starts[ilvl] = _int(_val(start), 1)
                if (lvl := override.find(_w("lvl"))) is not None:
                    overrides[ilvl] = _level(lvl)
            self.nums[num.get(_w("numId"), "")] = (_val(num.find(_w("abstractNumId")), "") or "", starts, overrides)

    def _read_styles(self, styles: Any) -> None:
        raw: dict[str, tuple[str | None, int | None, str | None]] = {}
        for style in styles.iterchildren(_w("style")):
            sid = style.get(_w("styleId"), "")
            numpr = style.find(f"{_w('pPr')}/{_w('numPr')}")
            num_id = _val(numpr.find(_w("numId"))) if numpr is not None else None
            ilvl = _val(numpr.find(_w("ilvl"))) if numpr is not None else None
            raw[sid] = (num_id, _int(ilvl, 0) if ilvl is not None else None, _val(style.find(_w("basedOn"))))
        for sid in raw:
            seen: set[str] = set()
            current: str | None = sid
            while current is not None and current in raw and current not in seen:
                seen.add(current)
                num_id, ilvl, based_on = raw[current]
                if num_id is not None:
                    self.style_numpr[sid] = (num_id, ilvl)
                    break
                current = based_on

    def _abstract_of(self, num_id: str) -> tuple[str, dict[int, _Level]] | None:
        if num_id not in self.nums:
            return None
        aid, _, overrides = self.nums[num_id]
        levels = self.abstract.get(aid)
        if aid in self.style_links:  # the list's levels live in a numbering style
            linked = self.style_numpr.get(self.style_links[aid], (None, None))[0]
            if linked is not None and linked in self.nums and linked != num_id:
                aid = self.nums[linked][0]
                levels = self.abstract.get(aid)
        if levels is None:
            return None
        return aid, {**levels, **overrides}

    def label(self, paragraph: Any) -> str:
        """The number or bullet Word shows before ``paragraph`` ("" when it has none)."""
        num_id, ilvl = self._numpr(paragraph)
        if num_id is None or num_id == "0":
            return ""
        found = self._abstract_of(num_id)
        if found is None:
            return ""
        aid, levels = found
        if ilvl is None:
            style = _val(paragraph.find(f"{_w('pPr')}/{_w('pStyle')}"))
            ilvl = next((i for i, lvl in levels.items() if style and lvl.style == style), 0)
        level = levels.get(ilvl)
        if level is None:
            return ""
        counters = self.counters.setdefault(aid, {})
        if num_id not in self.used:
            self.used.add(num_id)
            for lvl, start in self.nums[num_id][1].items():
                counters[lvl] = start - 1
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else level.start
        for deeper in [k for k in counters if k > ilvl]:
            restart = levels[deeper].restart if deeper in levels else None
            if restart is None or (restart != 0 and ilvl <= restart - 1):
                del counters[deeper]
        if level.fmt == "bullet":
            return _bullet(level.text)

        def number(m: re.Match[str]) -> str:
            k = int(m[1]) - 1
            lvl = levels.get(k, _Level())
            value = counters.get(k, lvl.start)
            fmt = "decimal" if level.legal and lvl.fmt not in ("none", "bullet") else lvl.fmt
            return format_number(value, fmt)

        return re.sub(r"%([1-9])", number, level.text).strip()

    def _numpr(self, paragraph: Any) -> tuple[str | None, int | None]:
        ppr = paragraph.find(_w("pPr"))
        numpr = ppr.find(_w("numPr")) if ppr is not None else None
        style = _val(ppr.find(_w("pStyle"))) if ppr is not None else None
        style_num, style_lvl = self.style_numpr.get(style or "Normal", (None, None))
        if numpr is not None:
            num_id = _val(numpr.find(_w("numId")))
            ilvl = _val(numpr.find(_w("ilvl")))
            if num_id is not None:
                return num_id, _int(ilvl, 0) if ilvl is not None else style_lvl if style_num == num_id else 0
            if ilvl is not None:
                return style_num, _int(ilvl, 0)
        return style_num, style_lvl


# -- text -----------------------------------------------------------------------

_SKIP = {_w("del"), _w("moveFrom"), _w("txbxContent"), _MC + "Fallback", _w("pPr"), _w("rPr"),
         _w("instrText"), _w("delText"), _w("footnotePr"), _w("endnotePr")}
_CONTAINERS = {_w("sdt"), _w("sdtContent"), _w("customXml"), _w("smartTag"), _w("ins"), _w("moveTo")}
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
            if tag == _w("r"):
                yield child
            elif tag in (_w("hyperlink"), _w("fldSimple"), _w("smartTag"), _w("ins"), _w("moveTo"),
                         _w("customXml"), _w("sdt"), _w("sdtContent"), _MC + "AlternateContent", _MC + "Choice",
                         _w("bdo"), _w("dir")):
                yield from self._runs(child)

    def _run_text(self, run: Any) -> str:
        out: list[str] = []
        for child in run:
            tag = child.tag
            if tag == _w("t"):
                out.append(child.text or "")
            elif tag in (_w("tab"), _w("ptab")):
                out.append("\t")
            elif tag in (_w("br"), _w("cr")):
                out.append("\n")
            elif tag == _w("noBreakHyphen"):
                out.append("-")
            elif tag == _w("footnoteReference"):
                out.append(self._note_mark(child.get(_w("id"), "")))
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
            rpr = run.find(_w("rPr"))
            if rpr is not None and _on(rpr.find(_w("vanish"))):
                continue
            text = self._run_text(run)
            if not text:
                continue
            bold = rpr is not None and _on(rpr.find(_w("b")))
            italic = rpr is not None and _on(rpr.find(_w("i")))
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
            if tag == _w("p"):
                text = self.paragraph_text(child).strip()
                if text:
                    yield text
                yield from self._flush_notes()
            elif tag == _w("tbl"):
                yield from self.table(child)
            elif tag in _CONTAINERS:
                yield from self.blocks(child)

    def _flush_notes(self) -> Iterator[str]:
        while self.pending_notes:
            note_id = self.pending_notes.pop(0)
            paragraphs = [self.paragraph_text(p, with_label=False).strip()
                          for p in self.footnotes[note_id].iter(_w("p"))]
            body = " ".join(p for p in paragraphs if p)
            yield f"<sup>{self.notes_seen[note_id]}</sup> {body}".rstrip()

    def _rows(self, table: Any) -> Iterator[Any]:
        for child in table:
            if child.tag == _w("tr"):
                yield child
            elif child.tag in _CONTAINERS:
                yield from self._rows(child)

    def _cells(self, row: Any) -> Iterator[Any]:
        for child in row:
            if child.tag == _w("tc"):
                yield child
            elif child.tag in _CONTAINERS:
                yield from self._cells(child)

    def table(self, table: Any) -> Iterator[str]:
        rows: list[list[list[str]]] = []
        for row in self._rows(table):
            cells: list[list[str]] = []
            for cell in self._cells(row):
                vmerge = cell.find(f"{_w('tcPr')}/{_w('vMerge')}")
                if vmerge is not None and _val(vmerge, "continue") == "continue":
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
        numbering = Numbering(_related(part, _RT_NUMBERING), _related(part, _RT_STYLES))
        notes_root = _related(part, _RT_FOOTNOTES)
        footnotes: dict[str, Any] = {}
        if notes_root is not None:
            for note in notes_root.iterchildren(_w("footnote")):
                if note.get(_w("type")) in (None, "normal"):
                    footnotes[note.get(_w("id"), "")] = note
        reader = _Reader(numbering, footnotes)
        body = document.element.find(_w("body"))
        return "\n\n".join(reader.blocks(body)) + "\n" if body is not None else ""

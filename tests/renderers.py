"""Render a seed document's text into the files offices hold: .docx, text PDF, scanned PDF.

Built at test time from ``samples/``; nothing binary is committed. The seed's
markdown (``**bold**``, ``#`` headings, ``<sup>n</sup>``) is dropped first, so
every format carries the same words as :func:`seed_text`.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

_MARKS = re.compile(r"\*\*|(?<!\w)\*|\*(?!\w)|^#{1,6}\s*|</?sup>", re.M)


def seed_text(path: Path) -> str:
    """The seed's text without markdown marks: the words every rendering must carry."""
    text = path.read_text(encoding="utf-8")
    return "\n".join(line.rstrip() for line in _MARKS.sub("", text).split("\n")).strip() + "\n"


def seed_paragraphs(path: Path) -> list[list[str]]:
    """Paragraphs (blank-line separated), each a list of its source lines."""
    return [[line.strip() for line in block.split("\n") if line.strip()]
            for block in re.split(r"\n\s*\n", seed_text(path)) if block.strip()]


# -- scanned pages ------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    dpi: int = 300
    width_mm: float = 210
    height_mm: float = 297
    margin_mm: tuple[float, float, float, float] = (20, 20, 20, 30)  # top, right, bottom, left (Nghị định 30)
    font_pt: float = 13

    def px(self, mm: float) -> int:
        return round(mm / 25.4 * self.dpi)


def render_pages(paragraphs: list[list[str]], page: Page = Page()) -> list:
    """Draw the paragraphs on white A4 pages (PIL images), wrapped, with the page number on top from page 2."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), round(page.font_pt / 72 * page.dpi))
    width, height = page.px(page.width_mm), page.px(page.height_mm)
    top, right, bottom, left = (page.px(m) for m in page.margin_mm)
    line_height = round(font.size * 1.35)
    usable = width - left - right
    lines: list[str | None] = []  # None: paragraph gap
    for para in paragraphs:
        for source in para:
            words, current = source.split(), ""
            for word in words:
                trial = f"{current} {word}".strip()
                if font.getlength(trial) <= usable or not current:
                    current = trial
                else:
                    lines.append(current)
                    current = word
            if current:
                lines.append(current)
        lines.append(None)
    pages = []
    y = height  # force a new page
    image = draw = None
    for line in lines:
        if y + line_height > height - bottom:
            image = Image.new("L", (width, height), 255)
            draw = ImageDraw.Draw(image)
            pages.append(image)
            y = top
            if len(pages) > 1:
                number = str(len(pages))
                draw.text(((width - font.getlength(number)) / 2, y), number, font=font, fill=0)
                y += line_height * 2
        if line is None:
            y += line_height // 2
            continue
        draw.text((left, y), line, font=font, fill=0)
        y += line_height
    return pages


def scanned_pdf(paragraphs: list[list[str]], page: Page = Page()) -> bytes:
    """An image-only PDF as a scanner makes it: grey pages, a little blur, JPEG inside, no text layer."""
    from PIL import ImageFilter

    images = [img.filter(ImageFilter.GaussianBlur(0.7)).rotate(0.3, fillcolor=255, expand=False)
              for img in render_pages(paragraphs, page)]
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=page.dpi, quality=80)
    return out.getvalue()


# -- text PDF -----------------------------------------------------------------

Block = list[str] | tuple[list[list[str]], list[list[str]]]  # a paragraph, or a (left, right) two-column row


def _markup(line: str) -> str:
    """Seed markdown emphasis -> reportlab's inline tags."""
    from xml.sax.saxutils import escape

    text = escape(line)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text, flags=re.S)
    return re.sub(r"(?<!\w)\*(\S.*?\S|\S)\*(?!\w)", r"<i>\1</i>", text, flags=re.S)


def _fonts() -> str:
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = FONT.parent
    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        for name, file in (("DejaVu", "DejaVuSans.ttf"), ("DejaVu-Bold", "DejaVuSans-Bold.ttf"),
                           ("DejaVu-Oblique", "DejaVuSans-Oblique.ttf"),
                           ("DejaVu-BoldOblique", "DejaVuSans-BoldOblique.ttf")):
            pdfmetrics.registerFont(TTFont(name, str(folder / file)))
        addMapping("DejaVu", 0, 0, "DejaVu")
        addMapping("DejaVu", 1, 0, "DejaVu-Bold")
        addMapping("DejaVu", 0, 1, "DejaVu-Oblique")
        addMapping("DejaVu", 1, 1, "DejaVu-BoldOblique")
    return "DejaVu"


def text_pdf(blocks: list[Block]) -> bytes:
    """A PDF with a real text layer (reportlab, DejaVu Sans), A4, justified, page number on top from page 2.

    Blocks are the raw seed lines, markdown emphasis included (rendered as bold/italic).
    """
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font = _fonts()
    body = ParagraphStyle("body", fontName=font, fontSize=12, leading=16, alignment=TA_JUSTIFY, spaceAfter=6)
    cell = ParagraphStyle("cell", fontName=font, fontSize=11, leading=14, alignment=TA_CENTER, spaceAfter=4)

    def para(lines: list[str], style: ParagraphStyle) -> Paragraph:
        return Paragraph(_markup("\n".join(lines)).replace("\n", "<br/>"), style)

    story = []
    for block in blocks:
        if isinstance(block, tuple):
            left, right = ([para(p, cell) for p in side] for side in block)
            table = Table([[left, right]], colWidths=[75 * mm, 85 * mm])
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story.append(table)
        else:
            story.append(para(block, body))

    def number(canvas, doc) -> None:
        canvas.setFont(font, 11)
        canvas.drawCentredString(A4[0] / 2, A4[1] - 12 * mm, str(doc.page))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=30 * mm, rightMargin=20 * mm, topMargin=20 * mm,
                            bottomMargin=20 * mm, title="chidao test", author="chidao")
    doc.build(story, onLaterPages=number)
    return out.getvalue()


def raw_paragraphs(path: Path) -> list[list[str]]:
    """Paragraphs of the seed with markdown kept (``#`` heading marks and ``<sup>`` dropped)."""
    text = re.sub(r"^#{1,6}\s*|</?sup>", "", path.read_text(encoding="utf-8"), flags=re.M)
    return [[line.strip() for line in block.split("\n") if line.strip()]
            for block in re.split(r"\n\s*\n", text) if block.strip()]


# -- Word .docx ---------------------------------------------------------------


@dataclass(frozen=True)
class DataTable:
    rows: list[list[str]]


_W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
LIST_ABSTRACT, BULLET_ABSTRACT = 90, 91  # our abstractNum ids, clear of the template's
LIST_NUM, BULLET_NUM = 90, 91


def _lvl(ilvl: int, fmt: str, text: str, start: int = 1) -> str:
    return (f'<w:lvl w:ilvl="{ilvl}"><w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/>'
            f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
            f'<w:pPr><w:ind w:left="{720 * (ilvl + 1)}" w:hanging="360"/></w:pPr></w:lvl>')


def add_numbering(document, abstract_id: int, num_id: int, levels: list[str],
                  start_overrides: dict[int, int] | None = None, extra_num_ids: tuple[int, ...] = ()) -> None:
    """Add a list definition (abstractNum + num) to the document's numbering part, in schema order."""
    from docx.oxml import parse_xml

    numbering = document.part.numbering_part.element
    abstract = parse_xml(f'<w:abstractNum {_W_NS} w:abstractNumId="{abstract_id}">'
                         f'<w:multiLevelType w:val="multilevel"/>{"".join(levels)}</w:abstractNum>')
    nums = numbering.findall(parse_xml(f"<w:num {_W_NS}/>").tag)
    if nums:
        nums[0].addprevious(abstract)
    else:
        numbering.append(abstract)
    for nid in (num_id, *extra_num_ids):
        overrides = "".join(f'<w:lvlOverride w:ilvl="{lvl}"><w:startOverride w:val="{val}"/></w:lvlOverride>'
                            for lvl, val in (start_overrides or {}).items() if nid != num_id)
        numbering.append(parse_xml(f'<w:num {_W_NS} w:numId="{nid}"><w:abstractNumId w:val="{abstract_id}"/>'
                                   f"{overrides}</w:num>"))


def set_numbering(paragraph, num_id: int, ilvl: int) -> None:
    from docx.oxml import parse_xml

    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:numPr {_W_NS}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))


def add_runs(paragraph, text: str) -> None:
    """Seed markdown (``**bold**``, ``*italic*``) and line breaks as real Word runs."""
    for part in re.split(r"(\*\*.+?\*\*|(?<!\w)\*\S.*?\*(?!\w))", text, flags=re.S):
        bold = part.startswith("**") and part.endswith("**") and len(part) > 4
        italic = not bold and part.startswith("*") and part.endswith("*") and len(part) > 2
        part = part[2:-2] if bold else part[1:-1] if italic else part
        for i, piece in enumerate(part.split("\n")):
            run = paragraph.add_run()
            if i:
                run.add_break()
            run.add_text(piece)
            run.bold, run.italic = bold or None, italic or None


_KINDS = {"roman": ("upperRoman", 0), "arabic": ("decimal", 1), "letter": ("lowerLetter", 2)}


def word_document(blocks: list[Block | DataTable], header: str = "", footer: str = "") -> bytes:
    """A .docx of the blocks; "I.", "1.", "a)" and "-" paragraphs get real Word list numbering.

    A number is left in the text (not auto-numbered) where Word's counter would
    not reproduce it, so the document shows exactly the seed's numbers.
    """
    import docx
    from docx.shared import Pt

    from ingest.normalize import plain_text
    from ingest.numbering import match_marker

    document = docx.Document()
    document.styles["Normal"].font.size = Pt(13)
    add_numbering(document, LIST_ABSTRACT, LIST_NUM,
                  [_lvl(0, "upperRoman", "%1."), _lvl(1, "decimal", "%2."), _lvl(2, "lowerLetter", "%3)")])
    add_numbering(document, BULLET_ABSTRACT, BULLET_NUM, [_lvl(0, "bullet", "-")])
    counters: dict[int, int] = {}
    if header:
        document.sections[0].header.paragraphs[0].text = header
    if footer:
        document.sections[0].footer.paragraphs[0].text = footer

    def paragraph(container, lines: list[str]) -> None:
        text = "\n".join(lines)
        marker = match_marker(plain_text(text.replace("**", "").replace("*", "")))
        p = container.add_paragraph()
        if marker is not None and len(lines) == 1:
            bold = text.startswith("**")
            body = plain_text(text.replace("**", "").replace("*", ""))[marker.end:]
            if marker.kind == "bullet" and marker.label == "-":
                set_numbering(p, BULLET_NUM, 0)
                add_runs(p, text[text.index("-") + 1:].lstrip())
                return
            if marker.kind in _KINDS:
                fmt, level = _KINDS[marker.kind]
                expected = counters.get(level, 0) + 1
                value = {"roman": _roman_value, "arabic": int, "letter": _letter_value}[marker.kind](marker.label)
                if value == expected:
                    counters[level] = expected
                    for deeper in [k for k in counters if k > level]:
                        del counters[deeper]
                    set_numbering(p, LIST_NUM, level)
                    add_runs(p, f"**{body}**" if bold else body)
                    return
        add_runs(p, text)

    for block in blocks:
        if isinstance(block, DataTable):
            table = document.add_table(rows=0, cols=len(block.rows[0]))
            table.style = "Table Grid"
            for row in block.rows:
                cells = table.add_row().cells
                for cell, value in zip(cells, row):
                    cell.paragraphs[0].text = value
        elif isinstance(block, tuple):
            table = document.add_table(rows=1, cols=2)
            for cell, side in zip(table.rows[0].cells, block):
                cell.paragraphs[0]._p.getparent().remove(cell.paragraphs[0]._p)
                for lines in side:
                    paragraph(cell, lines)
        else:
            paragraph(document, block)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _roman_value(label: str) -> int:
    values = {"I": 1, "V": 5, "X": 10}
    total = 0
    for ch, nxt in zip(label, [*label[1:], ""]):
        v = values[ch]
        total += -v if nxt and values[nxt] > v else v
    return total


def _letter_value(label: str) -> int:
    return "abcdefghijklmnopqrstuvwxyz".find(label) + 1


def add_footnotes(document, notes: dict[int, str]) -> None:
    """Give the document a footnotes part holding ``notes`` (python-docx writes none of its own)."""
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    body = "".join(
        f'<w:footnote w:id="{n}"><w:p><w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteRef/></w:r>'
        f'<w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:footnote>'
        for n, text in notes.items()
    )
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes {_W_NS}>'
           '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
           f"{body}</w:footnotes>")
    content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
    part = Part(PackURI("/word/footnotes.xml"), content_type, xml.encode(), document.part.package)
    document.part.relate_to(part, RT.FOOTNOTES)


def append_xml(paragraph, xml: str) -> None:
    """Append raw WordprocessingML (runs, w:del, w:ins ...) to a paragraph."""
    from docx.oxml import parse_xml

    wrapper = parse_xml(f'<w:p {_W_NS}>{xml}</w:p>')
    for child in list(wrapper):
        paragraph._p.append(child)

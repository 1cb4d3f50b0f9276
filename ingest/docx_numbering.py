"""Word list numbering replayed: the labels ("I.", "1.", "a)", "-") Word shows before paragraphs.

An auto-numbered paragraph holds no number of its own; the counters come from
``numbering.xml`` (``numFmt``, ``lvlText``, ``start``, overrides, restarts) and
list styles in ``styles.xml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ingest.docx_xml import as_int, is_on, val, w


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
    for lvl in abstract.iterchildren(w("lvl")):
        levels[as_int(lvl.get(w("ilvl")), 0)] = _level(lvl)
    return levels


def _level(lvl: Any) -> _Level:
    restart = lvl.find(w("lvlRestart"))
    return _Level(
        start=as_int(val(lvl.find(w("start"))), 1),
        fmt=val(lvl.find(w("numFmt")), "decimal") or "decimal",
        text=val(lvl.find(w("lvlText")), "") or "",
        restart=as_int(val(restart), 0) if restart is not None else None,
        legal=is_on(lvl.find(w("isLgl"))),
        style=val(lvl.find(w("pStyle"))),
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
        for abstract in numbering.iterchildren(w("abstractNum")):
            aid = abstract.get(w("abstractNumId"), "")
            self.abstract[aid] = _levels(abstract)
            if (link := val(abstract.find(w("numStyleLink")))) is not None:
                self.style_links[aid] = link
        for num in numbering.iterchildren(w("num")):
            starts: dict[int, int] = {}
            overrides: dict[int, _Level] = {}
            for override in num.iterchildren(w("lvlOverride")):
                ilvl = as_int(override.get(w("ilvl")), 0)
                if (start := override.find(w("startOverride"))) is not None:
                    starts[ilvl] = as_int(val(start), 1)
                if (lvl := override.find(w("lvl"))) is not None:
                    overrides[ilvl] = _level(lvl)
            self.nums[num.get(w("numId"), "")] = (val(num.find(w("abstractNumId")), "") or "", starts, overrides)

    def _read_styles(self, styles: Any) -> None:
        raw: dict[str, tuple[str | None, int | None, str | None]] = {}
        for style in styles.iterchildren(w("style")):
            sid = style.get(w("styleId"), "")
            numpr = style.find(f"{w('pPr')}/{w('numPr')}")
            num_id = val(numpr.find(w("numId"))) if numpr is not None else None
            ilvl = val(numpr.find(w("ilvl"))) if numpr is not None else None
            raw[sid] = (num_id, as_int(ilvl, 0) if ilvl is not None else None, val(style.find(w("basedOn"))))
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
            style = val(paragraph.find(f"{w('pPr')}/{w('pStyle')}"))
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
        ppr = paragraph.find(w("pPr"))
        numpr = ppr.find(w("numPr")) if ppr is not None else None
        style = val(ppr.find(w("pStyle"))) if ppr is not None else None
        style_num, style_lvl = self.style_numpr.get(style or "Normal", (None, None))
        if numpr is not None:
            num_id = val(numpr.find(w("numId")))
            ilvl = val(numpr.find(w("ilvl")))
            if num_id is not None:
                return num_id, as_int(ilvl, 0) if ilvl is not None else style_lvl if style_num == num_id else 0
            if ilvl is not None:
                return style_num, as_int(ilvl, 0)
        return style_num, style_lvl

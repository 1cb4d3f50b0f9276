"""An answer as chat messages: the text, then its sources as a numbered list, cut to fit.

The answer's markdown (``**bold**``, ``*italic*``, ``code``) becomes styled runs; a channel
renders the runs (Telegram HTML, escaped; Zalo plain text) and :func:`split_runs` cuts them
into messages under the channel's limit, at a paragraph, line or sentence boundary where it
can, closing and reopening a style that a cut falls inside.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby

from bot.citations import Answer, Citation

TELEGRAM_LIMIT = 4096  # sendMessage text, characters after entity parsing
ZALO_LIMIT = 2000  # OA customer-service text message

SOURCES_HEADING = "Nguồn trích dẫn:"


@dataclass(frozen=True)
class Run:
    text: str
    style: str = ""  # "" | "b" | "i" | "code"


@dataclass(frozen=True)
class Format:
    """How a channel renders runs: escape the text, wrap a styled stretch."""

    escape: Callable[[str], str]
    wrap: Callable[[str, str], str]  # (style, escaped text) -> rendered

    def render(self, runs: Sequence[Run]) -> str:
        out = []
        for style, group in groupby((r for r in runs if r.text), key=lambda r: r.style):
            out.append(self.wrap(style, self.escape("".join(r.text for r in group))))
        return "".join(out)


def _html_wrap(style: str, text: str) -> str:
    return f"<{style}>{text}</{style}>" if style else text


TELEGRAM_HTML = Format(lambda t: html.escape(t, quote=False), _html_wrap)
PLAIN = Format(lambda t: t, lambda _style, t: t)


def utf16_len(text: str) -> int:
    """Length as Telegram and Zalo count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


# markdown -> runs

_INLINE = re.compile(
    r"\*\*(?P<b>[^\n]+?)\*\*"
    r"|`(?P<code>[^`\n]+)`"
    r"|(?<![\w*])\*(?P<i>[^\s*](?:[^*\n]*?[^\s*])?)\*(?![\w*])"
)


def parse_markdown(text: str) -> list[Run]:
    """The inline markdown the answerer writes, as runs; anything else stays literal text."""
    runs: list[Run] = []
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            runs.append(Run(text[pos:m.start()]))
        style = m.lastgroup or ""
        runs.append(Run(m.group(style), style))
        pos = m.end()
    if pos < len(text):
        runs.append(Run(text[pos:]))
    return runs


def source_runs(citations: Sequence[Citation]) -> list[Run]:
    """The numbered sources: ``[n] type – title`` then số hiệu, section (and page)."""
    if not citations:
        return []
    runs = [Run("\n\n"), Run(SOURCES_HEADING, "b")]
    for c in sorted(citations, key=lambda c: c.n):
        doc, chunk = c.passage.document, c.passage.chunk
        head = " – ".join(p for p in (doc.doc_type, doc.title) if p) or doc.source
        details = [f"Số hiệu: {doc.doc_number}" if doc.doc_number else f"Tệp: {doc.source}"]
        if chunk.section:
            details.append(f"Mục: {chunk.section}")
        if chunk.page:
            details.append(f"Trang: {chunk.page}")
        runs += [Run(f"\n[{c.n}] "), Run(head, "b"), Run("\n    " + " · ".join(details))]
    return runs


def reply_runs(reply: Answer | str) -> list[Run]:
    """An answer (text and sources) or a fixed message (markdown) as runs."""
    if isinstance(reply, Answer):
        return parse_markdown(reply.answer) + source_runs(reply.citations)
    return parse_markdown(reply)


def telegram_messages(reply: Answer | str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    return split_runs(reply_runs(reply), limit, TELEGRAM_HTML)


def plain_messages(reply: Answer | str, limit: int = ZALO_LIMIT) -> list[str]:
    return split_runs(reply_runs(reply), limit, PLAIN)


def html_to_plain(message: str) -> str:
    """A message rendered by :data:`TELEGRAM_HTML` as plain text (for a fallback send)."""
    return html.unescape(re.sub(r"</?(?:b|i|code)>", "", message))


# splitting

_BREAKS = re.compile(
    r"(?P<para>\n[ \t]*\n\s*)"
    r"|(?P<line>\n)"
    r"|(?P<sentence>(?<=[.!?…;])[\"”’)\]]*[ \t]+)"
    r"|(?P<clause>(?<=[,:])[ \t]+)"
    r"|(?P<word>[ \t]+)"
)
_STRENGTH = {"para": 4, "line": 3, "sentence": 2, "clause": 1, "word": 0}
_NO_BREAK = -1


@dataclass(frozen=True)
class _Piece:
    run: Run
    strength: int  # how good a place to cut the end of this piece is


def _pieces(runs: Sequence[Run]) -> Iterator[_Piece]:
    for run in runs:
        pos = 0
        for m in _BREAKS.finditer(run.text):
            yield _Piece(Run(run.text[pos:m.end()], run.style), _STRENGTH[m.lastgroup or "word"])
            pos = m.end()
        if pos < len(run.text):
            yield _Piece(Run(run.text[pos:], run.style), _NO_BREAK)


class _Measure:
    """Rendered length of a growing list of pieces, without re-rendering it each time."""

    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt

    def cost(self, piece: _Piece, previous: _Piece | None) -> int:
        text = utf16_len(self.fmt.escape(piece.run.text))
        if piece.run.style and (previous is None or previous.run.style != piece.run.style):
            text += utf16_len(self.fmt.wrap(piece.run.style, ""))
        return text


def _strip(pieces: list[_Piece]) -> list[Run]:
    """The pieces' runs without the whitespace a message would start or end with."""
    runs = [p.run for p in pieces]
    while runs and not runs[0].text.strip():
        runs.pop(0)
    while runs and not runs[-1].text.strip():
        runs.pop()
    if runs:
        runs[0] = Run(runs[0].text.lstrip(), runs[0].style)
        runs[-1] = Run(runs[-1].text.rstrip(), runs[-1].style)
    return runs


def _best_cut(pieces: list[_Piece], costs: list[int], limit: int) -> int:
    """How many leading pieces to send: the strongest boundary, preferring a well-filled message."""
    candidates = []
    length = 0
    for i, (piece, cost) in enumerate(zip(pieces, costs)):
        length += cost
        if piece.strength > _NO_BREAK:
            candidates.append((length >= limit // 2, piece.strength, i + 1))
    return max(candidates)[2] if candidates else len(pieces)


def _hard_cut(piece: _Piece, limit: int, fmt: Format) -> tuple[_Piece, _Piece]:
    """A piece longer than a whole message (no space to cut at), cut by characters."""
    text, style = piece.run.text, piece.run.style
    keep = max(1, min(len(text) - 1, limit))
    while keep > 1 and utf16_len(fmt.render([Run(text[:keep], style)])) > limit:
        keep -= max(1, keep // 20)
    return _Piece(Run(text[:keep], style), _NO_BREAK), _Piece(Run(text[keep:], style), piece.strength)


def split_runs(runs: Sequence[Run], limit: int, fmt: Format) -> list[str]:
    """Render ``runs`` as messages of at most ``limit`` UTF-16 units each."""
    measure = _Measure(fmt)
    pending = list(_pieces(runs))
    messages: list[str] = []
    current: list[_Piece] = []
    costs: list[int] = []
    used = 0
    i = 0
    while i < len(pending):
        piece = pending[i]
        cost = measure.cost(piece, current[-1] if current else None)
        if used + cost <= limit:
            current.append(piece)
            costs.append(cost)
            used += cost
            i += 1
        elif not current:
            head, pending[i] = _hard_cut(piece, limit, fmt)
            messages.append(fmt.render([head.run]))
        else:
            cut = _best_cut(current, costs, limit)
            messages.append(fmt.render(_strip(current[:cut])))
            current = current[cut:]
            costs = [measure.cost(p, current[j - 1] if j else None) for j, p in enumerate(current)]
            used = sum(costs)
    if current:
        messages.append(fmt.render(_strip(current)))
    return [m for m in messages if m.strip()]

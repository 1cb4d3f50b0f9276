"""Follow-up questions made standalone before retrieval.

"Còn Sở Y tế thì sao?" after "Sở Giáo dục và Đào tạo có nhiệm vụ gì?" must
search for Sở Y tế's tasks. :class:`RuleContextualizer` does it without a
model: it carries the previous question's intent and swaps the entity (read,
when a reader is wired in, by :func:`vectorstore.question.read_question`, so
"con so y te thi sao" after "so giao duc va dao tao co nhiem vu gi" swaps too), and
resolves "văn bản này", "cơ quan đó", "việc đó". ``bot.contextualize_llm``
asks the language model and falls back to these rules when the model fails.
Both read only the most recent turns, within a bound on characters
(:func:`recent_turns`), so the work stays linear and bounded however long a
conversation grows.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ingest.folding import fold_chars
from vectorstore.question import Question

Reader = Callable[[str], Question]

log = logging.getLogger(__name__)


class TurnLike(Protocol):
    role: str  # user | assistant
    content: str


class Contextualizer(ABC):
    @abstractmethod
    def rewrite(self, message: str, history: Sequence[TurnLike]) -> str:
        """``message`` as a question that stands on its own, given the earlier ``history``."""


HISTORY_CHARS = 6000  # the conversation read to resolve a follow-up (CHIDAO_HISTORY_CHARS)
TURN_CHARS = 1500  # of one turn (a long answer's start names its document)


@dataclass(frozen=True)
class _Turn:
    role: str
    content: str


def recent_turns(history: Sequence[TurnLike], max_chars: int = HISTORY_CHARS,
                 turn_chars: int = TURN_CHARS) -> list[_Turn]:
    """The most recent turns, oldest first, within ``max_chars`` characters in all (each cut to
    ``turn_chars``): the work of reading a conversation stays bounded however long it grows."""
    picked: list[_Turn] = []
    left = max_chars
    for turn in reversed(history):
        if left <= 0:
            break
        content = turn.content[: min(turn_chars, left)]
        picked.append(_Turn(turn.role, content))
        left -= len(content)
    return picked[::-1]


# -- the deterministic contextualiser ------------------------------------------

# Agencies, references and name ends are matched on the lowercased text (same offsets, accents
# kept: "sở" is not "số", "đó" is not "do"); follow-up frames on fold_chars() text.
_AGENCY = re.compile(
    r"\b(?:sở|công an|[uủ]y ban nhân dân|ubnd|bộ chỉ huy|bchqs|ban(?! hành| đêm| ngày| đầu| thân)|cục|chi cục"
    r"|viện kiểm sát|t[oò]a án|tỉnh đoàn|đoàn thanh niên|hội liên hiệp|hội nông dân|hội cựu chiến binh"
    r"|liên đoàn lao động|[uủ]y ban mặt trận|mặt trận tổ quốc|bộ đội biên phòng|đài phát thanh|trung tâm"
    r"|cơ sở giáo dục|bảo hiểm xã hội|kho bạc|thanh tra|hải quan|văn phòng|ngân hàng)\b"
)
_PLACE = re.compile(r"\b(?:tỉnh|thành phố|huyện|thị xã|thị trấn|xã|phường)\s+")
# What a question says about an agency: the agency's name ends before it.
_NAME_END = re.compile(
    r"(?:có|phải|cần|được|đã|đang|sẽ|thực hiện|làm|chủ trì|phối hợp|trong|theo|thì|ở|là|nhận|tham mưu|ra|thế"
    r"|như|gì|nào|về|tại|khi|bao|bảo đảm|đảm bảo|giữ|chịu|đóng|tham gia|triển khai|tổ chức|xây dựng|hướng dẫn"
    r"|kiểm tra|chỉ đạo|để|phụ trách|năm|cho|với|giao|đăng ký|báo cáo)\b"
)
_FOLLOW_UP = [
    re.compile(r"^(?:va |vay |the |con nhu )?con (?P<x>.+?)(?: thi sao| thi the nao| thi ra sao| the nao| ra sao)"
               r"(?: a| nhi| vay)?\s*[?.!]*\s*$"),
    re.compile(r"^(?:the |vay )?con (?P<x>.+?)\s*[?.!]*\s*$"),  # "Còn Sở Y tế?" (checked: short, a name)
    re.compile(r"^(?:vay |the )?(?:doi voi |voi )?(?P<x>.+?) thi sao(?: a| nhi| vay)?\s*[?.!]*\s*$"),
    re.compile(r"^(?:and |so )?(?:what|how) about (?P<x>.+?)\s*[?.!]*\s*$"),
]
_DOC_REF = re.compile(
    r"\b(?:văn bản|kế hoạch|công văn|chỉ thị|quyết định|thông báo|phát động thi đua|phong trào thi đua)"
    r"\s+(?:này|đó|trên|nói trên|vừa nêu|vừa rồi)\b"
)
_AGENCY_REF = re.compile(r"\b(?:cơ quan|đơn vị|ngành|lực lượng)\s+(?:này|đó|trên|nói trên|vừa nêu)\b")
_THING_REF = re.compile(
    r"\b(?:việc|nhiệm vụ|nội dung|vấn đề|hoạt động|chỉ tiêu|yêu cầu|biện pháp|mục tiêu|mốc|hạn)\s+(?:này|đó|trên)\b"
    r"|\b(?:đó|này)\s*[?.!]*\s*$"
)
_DOC_NUMBER = re.compile(r"\b\d+/[\wĐđ-]*[A-ZĐ][\wĐđ-]*")
_BOLD_LABEL = re.compile(r"\*\*([^*\n]{3,120}?)\*\*")


_WORD = re.compile(r"[\w&]+")
NAME_SPAN = 80  # characters an agency's name may run past its first word
FOLLOW_UP_CHARS = 200  # longer messages are not "Còn X thì sao?" follow-ups


def _lower(text: str) -> str:
    """Lowercase with one character per character, so offsets match ``text``."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(_lower(text))]


def find_agency(text: str) -> str | None:
    """The first agency the text names ("Sở Giáo dục và Đào tạo", "Công an tỉnh"), as written."""
    low = _lower(text)
    for m in _AGENCY.finditer(low):
        end = m.end()
        for word in _WORD.finditer(low, m.end(), m.start() + NAME_SPAN + 1):  # a bounded window: linear
            start = word.start()
            gap = low[end:start]
            if any(ch in gap for ch in "?,.;:!()\n") or _NAME_END.match(low, start) or start - m.start() > NAME_SPAN:
                break
            end = word.end()
        name = text[m.start():end].strip()
        if len(name.split()) >= 2 or low[m.start():end] in {"ubnd", "bchqs"}:
            return name
    return None


def find_place(text: str) -> str | None:
    """A place name after "tỉnh/huyện/xã …" ("Lào Cai"), as written."""
    for m in _PLACE.finditer(_lower(text)):
        names = []
        for word in text[m.end():m.end() + NAME_SPAN].split():
            if not word[:1].isupper():
                break
            names.append(word.rstrip("?.,;:!"))
            if word[-1:] in "?.,;:!":
                break
        if names:
            return " ".join(names)
    return None


def find_document(text: str) -> str | None:
    """A document the text names: a số hiệu ("195/KH-UBND") or the bold label of an answer."""
    label = _BOLD_LABEL.search(text)
    if label and _DOC_NUMBER.search(label.group(1)):
        return label.group(1).split(",")[0].strip()
    number = _DOC_NUMBER.search(text)
    return number.group(0) if number else None


@dataclass(frozen=True)
class Context:
    question: str | None = None  # the last user question, made standalone
    agency: str | None = None
    document: str | None = None
    named_document: bool = False  # the last question named the document itself

    def after_question(self, question: str) -> Context:
        document = find_document(question)
        return Context(question, find_agency(question) or self.agency, document or self.document, bool(document))

    def after_answer(self, answer: str) -> Context:
        out = self
        if not self.named_document and (document := find_document(answer)):
            out = replace(out, document=document)
        if out.agency is None and (agency := find_agency(answer)):
            out = replace(out, agency=agency)
        return out


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _strip_end(question: str) -> str:
    return question.strip().rstrip("?.! ").strip()


class RuleContextualizer(Contextualizer):
    """Deterministic follow-up resolution (no language model)."""

    max_follow_up_words = 10

    def __init__(self, max_chars: int = HISTORY_CHARS, reader: Reader | None = None) -> None:
        self.max_chars = max_chars
        self.reader = reader  # the one reading of a question; without it, agencies are found as written

    def rewrite(self, message: str, history: Sequence[TurnLike]) -> str:
        context = Context()
        for turn in recent_turns(history, self.max_chars):
            if turn.role == "user":
                context = context.after_question(self.resolve(_nfc(turn.content), context))
            elif turn.role == "assistant":
                context = context.after_answer(_nfc(turn.content))
        resolved = self.resolve(_nfc(message), context)
        if resolved != message:
            log.debug("follow-up %r read as %r", message, resolved)
        return resolved

    def resolve(self, message: str, context: Context) -> str:
        message = message.strip()
        if not context.question:
            return message
        swapped = self._follow_up(message, context)
        if swapped is not None:
            return swapped
        return self._references(message, context)

    def _follow_up(self, message: str, context: Context) -> str | None:
        """"Còn X thì sao?": the previous question about X."""
        if len(message) > FOLLOW_UP_CHARS:
            return None
        folded = fold_chars(message)
        for i, pattern in enumerate(_FOLLOW_UP):
            m = pattern.match(folded)
            if not m:
                continue
            x = message[m.start("x"):m.end("x")].strip(" ,")
            words = len(x.split())
            if not x or words > self.max_follow_up_words:
                continue
            if i == 1 and not (find_agency(x) or x[:1].isupper() or self._agency(x)):  # bare "Còn …": a name
                continue
            return self._swap(x, context)
        return None

    def _agency(self, text: str) -> tuple[Question, int, int] | None:
        """The reading of ``text`` and the span of the first agency it names (toned or not)."""
        if self.reader is None:
            return None
        question = self.reader(text)
        first = question.agencies[0] if question.agencies else None
        return (question, first.start, first.end) if first else None

    def _swap(self, x: str, context: Context) -> str:
        previous = context.question or ""
        new, old = self._agency(x), self._agency(previous)
        if new and old:  # the previous question's agency span, replaced by the new one as typed
            (asked, start, end), (before, at, until) = new, old
            return before.text[:at] + asked.text[start:end] + before.text[until:]
        agency = find_agency(previous)
        place = find_place(previous)
        if find_agency(x) and agency:
            return previous.replace(agency, x, 1)
        if x[:1].isupper() and place and not find_agency(x):
            return previous.replace(place, x, 1)
        if x[:1].isupper() and agency:
            return previous.replace(agency, x, 1)
        return f"{_strip_end(previous)}: {x}?"

    def _references(self, message: str, context: Context) -> str:
        """"văn bản này", "cơ quan đó", "việc đó" -> what the conversation named."""
        out = _replace_spans(message, _DOC_REF, context.document)
        out = _replace_spans(out, _AGENCY_REF, context.agency)
        if out == message and _spans(_THING_REF, message) and len(message.split()) <= 16:
            out = f"{_strip_end(message)} ({_strip_end(context.question or '')})?"
        return out


def _replace_spans(text: str, pattern: re.Pattern[str], by: str | None) -> str:
    """``text`` with every match of ``pattern`` (on its lowercase form) replaced by ``by``, in one pass."""
    if not by:
        return text
    pieces, last = [], 0
    for start, end in _spans(pattern, text):
        pieces += [text[last:start], by]
        last = end
    return "".join(pieces) + text[last:] if pieces else text

"""Sentence by sentence, what a language model wrote is kept only when its passages support it.

The model's text is cut into sentences as it streams. Each complete sentence is checked:

- its ``[n]`` markers naming no passage are dropped; a sentence left with no marker is removed
  (uncited, or citing only passages that do not exist: "[9]" of three);
- the passages it cites must support it (:func:`bot.grounding.check`); if not, it is removed;
- a kept sentence's markers are renumbered 1..k in order of first citation, and it is handed on.

A line ending with ":" leads into what follows and is checked with it; a list number or bullet
alone ("1.", "-") goes with the next sentence; anything else is a sentence and needs support.
When less than :data:`MIN_KEPT` of the sentences survive, the answer is not grounded
(:class:`NotGrounded`) and the caller falls back.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from bot.grounding import THRESHOLD, Evidence, check
from ingest.folding import fold
from vectorstore.retriever import Passage

log = logging.getLogger(__name__)

MIN_KEPT = 0.5  # least share of the model's sentences that must be supported
_NUMBERS = r"\d{1,3}(?:\s*[-–]\s*\d{1,3})?(?:\s*[,;]\s*\d{1,3}(?:\s*[-–]\s*\d{1,3})?)*"
_MARKER = re.compile(r"[ \t]*\[\s*(" + _NUMBERS + r")\s*\]")
# A sentence ends at a line break, or at . ! ? … (closing quotes and markers after it belong to it)
# followed by blank space. The end is known only once something follows (or the text is over).
_END = re.compile(r"\n|[.!?…]+[\"”’)*\]]*(?:[ \t]*\[[\d\s,;\-–]*\])*(?=[ \t]+[^\s\[]|[ \t]*\n)")
_RESCAN = 64  # a sentence end is recognised only once what follows it arrives: look back this far
_LIST_MARK = re.compile(r"(?m)^[ \t]*(?:[-*•+]|\d{1,2}[.)]|[a-zđ][.)])[ \t]+")  # "1. ", "a) ", "- " at a line start
_LIST_ONLY = re.compile(r"\s*(?:[-*•+]|\d{1,2}[.)]|[a-zđ][.)]|[IVX]{1,4}\.)?\s*")  # "1.", "a)", "-" alone
_REFUSAL = re.compile(r"\bkhong tim thay\b|\bkhong co thong tin\b")


class NotGrounded(Exception):
    """Too little of the model's answer is supported by its passages."""

    def __init__(self, kept: int, total: int, refused: bool = False) -> None:
        super().__init__(f"{kept} of {total} sentences supported" + (" (the model refused)" if refused else ""))
        self.kept = kept
        self.total = total
        self.refused = refused


def is_refusal(text: str) -> bool:
    """The prompt's answer for passages that do not answer ("KHÔNG TÌM THẤY TRONG VĂN BẢN")."""
    return bool(_REFUSAL.search(fold(text)))


def indexes(numbers: str) -> Iterator[int]:
    """0-based passage indexes of a marker's numbers: "1, 3" -> 0, 2; "2-4" -> 1, 2, 3."""
    for item in re.split(r"\s*[,;]\s*", numbers.strip()):
        ends = [int(x) for x in re.split(r"\s*[-–]\s*", item) if x]
        if len(ends) == 2 and 0 <= ends[1] - ends[0] <= 10:
            yield from (n - 1 for n in range(ends[0], ends[1] + 1))
        elif ends:
            yield ends[0] - 1


@dataclass
class Kept:
    text: str  # the sentence as shown, markers renumbered
    claim: str  # without markers
    cited: list[int]  # 0-based passage indexes


@dataclass
class SentenceChecker:
    """Checks the model's sentences against ``passages`` as its text arrives.

    ``evidence_of`` gives what a passage offers as support (its text with document and headings).
    """

    passages: Sequence[Passage]
    evidence_of: Callable[[Passage], Sequence[str]]
    threshold: float = THRESHOLD
    order: list[int] = field(default_factory=list)  # cited passages, in order of first citation
    kept: list[Kept] = field(default_factory=list)
    sentences: int = 0  # sentences seen (list numbers and bullets not counted)
    _pending: str = ""
    _lead: str = ""  # a list number, bullet or lead-in waiting for its sentence
    _gap: str = ""  # blank space after the last kept sentence, shown only if another follows
    _seen: str = ""  # everything the model wrote
    _evidence: dict[int, Evidence] = field(default_factory=dict)

    def feed(self, text: str) -> str:
        """Text that is now verified (complete kept sentences), to show."""
        self._seen += text
        start = max(0, len(self._pending) - _RESCAN)  # what came before was scanned: linear in the text
        self._pending += text
        out = []
        while (m := _END.search(self._pending, start)) is not None:
            sentence, rest = self._pending[:m.end()], self._pending[m.end():]
            body = sentence.rstrip()
            following = rest[: len(rest) - len(rest.lstrip())]
            self._pending = rest[len(following):]
            out.append(self._sentence(body, sentence[len(body):] + following))
            start = 0
        return "".join(out)

    def finish(self) -> str:
        """The rest, once the model is done; :class:`NotGrounded` when too little was supported."""
        rest = self._sentence(self._pending.rstrip(), "") if self._pending.strip() else ""
        self._pending = ""
        if self._lead.strip() and not _LIST_ONLY.fullmatch(self._lead):
            self.sentences += 1  # a lead-in nothing followed
        if not self.kept or len(self.kept) < MIN_KEPT * self.sentences:
            raise NotGrounded(len(self.kept), self.sentences, refused=is_refusal(self._seen))
        return rest

    @property
    def text(self) -> str:
        """The verified answer: exactly what :meth:`feed` and :meth:`finish` handed out."""
        return "".join(k.text for k in self.kept)

    def claims(self, n: int) -> str:
        """What the kept sentences citing passage ``order[n - 1]`` say."""
        index = self.order[n - 1]
        return " ".join(k.claim for k in self.kept if index in k.cited)

    # -- one sentence ---------------------------------------------------------

    def _sentence(self, sentence: str, gap: str) -> str:
        piece = _MARKER.sub("", sentence)
        if piece == sentence and (_LIST_ONLY.fullmatch(piece) or piece.endswith(":")):
            self._lead += sentence + gap  # "1.", "-", "Sở Y tế có các nhiệm vụ sau:" go with what follows
            return ""
        sentence, self._lead = self._lead + sentence, ""
        claim = _LIST_MARK.sub("", _MARKER.sub("", sentence))
        self.sentences += 1
        cited = [i for m in _MARKER.finditer(sentence) for i in indexes(m.group(1)) if 0 <= i < len(self.passages)]
        cited = list(dict.fromkeys(cited))
        if not cited:
            log.info("removed a sentence citing no passage: %.120r", sentence)
            return ""
        verdict = check(claim, Evidence.union([self._evidence_for(i) for i in cited]), self.threshold)
        if not verdict.supported:
            log.info("removed a sentence its passages do not support (overlap %.2f, missing %s): %.120r",
                     verdict.overlap, ", ".join(verdict.missing) or "-", sentence)
            return ""
        for i in cited:
            if i not in self.order:
                self.order.append(i)
        text = _MARKER.sub(self._renumber, sentence).strip()
        shown = self._gap + text if self.kept else text
        self.kept.append(Kept(shown, claim.strip(), cited))
        self._gap = gap
        return shown

    def _renumber(self, match: re.Match[str]) -> str:
        lead = match.group(0)[: match.group(0).index("[")]
        out: list[str] = []
        for i in indexes(match.group(1)):
            if 0 <= i < len(self.passages) and (marker := f"[{self.order.index(i) + 1}]") not in out:
                out.append(marker)
        return lead + "".join(out) if out else ""

    def _evidence_for(self, index: int) -> Evidence:
        if index not in self._evidence:
            self._evidence[index] = Evidence.of(self.evidence_of(self.passages[index]))
        return self._evidence[index]

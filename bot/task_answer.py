"""Answer "what is X assigned?" and "what deadlines does X have?" from the extracted task list.

It answers only when the question names an agency the task list knows, asks for
duties or deadlines, and the agency's tasks hold the rest of the question (the
documents retrieved for it come first). Otherwise it declines (returns None) and
the general answerer takes the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import prompts
from bot.citations import Answer, Citation
from bot.extract import intents
from ingest.agencies import AgencyRegistry, match_words
from ingest.folding import fold
from vectorstore.retriever import Passage
from vectorstore.task_index import TaskIndex, TaskView
from vectorstore.text import (
    ENGLISH_STOPWORDS,
    FRAMES,
    FUNCTION_WORDS,
    QUESTION_WORDS,
    QueryTerms,
    names_place,
)

Weight = Callable[[str], float]

_MONTH = re.compile(r"\bthang (\d{1,2})(?:\s*(?:/|nam)\s*((?:19|20)\d\d))?\b")
_QUARTER = re.compile(r"\bquy (iv|iii|ii|i|[1-4])\b(?:\s*(?:/|nam)\s*((?:19|20)\d\d))?")
_QUARTERS = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_ASKING = re.compile(
    r"\b(?:nhiem vu|trach nhiem|phai lam|can lam|lam gi|de nghi|duoc giao|phan cong|vai tro|cong viec|thoi han"
    r"|han chot|khi nao|bao gio|ngay nao|thang nao|quy nao|co han|han gi|nhung gi|nhung viec|assigned|assignments?"
    r"|tasks?|duty|duties|responsibilit\w*|deadlines?|due"
    r"|thang \d{1,2}(?: \d{4})?|quy (?:iv|iii|ii|i|[1-4])(?: \d{4})?|nam \d{4})\b"
)
MAX_TASKS = 6
MIN_COVERAGE = 0.35


@dataclass(frozen=True)
class Period:
    """A time a question asks about: a month (any year unless given) or a quarter."""

    months: frozenset[int]
    year: int | None

    def holds(self, view: TaskView) -> bool:
        for deadline in view.deadlines:
            days = [deadline.start, deadline.due] if deadline.kind != "yearly" else []
            if deadline.kind == "yearly" and deadline.month_day:
                days = [date(self.year or 2000, deadline.month_day[0], 1)]
            for day in days:
                if day and day.month in self.months and (self.year is None or deadline.kind == "yearly"
                                                         or day.year == self.year):
                    return True
        return False


def asked_period(folded: str) -> Period | None:
    if m := _MONTH.search(folded):
        month = int(m.group(1))
        if 1 <= month <= 12:
            return Period(frozenset({month}), int(m.group(2)) if m.group(2) else None)
    if m := _QUARTER.search(folded):
        first = 3 * (_QUARTERS[m.group(1)] - 1) + 1
        return Period(frozenset({first, first + 1, first + 2}), int(m.group(2)) if m.group(2) else None)
    return None


class TaskAnswerer:
    def __init__(self, index: TaskIndex, weight: Weight, registry: AgencyRegistry | None = None) -> None:
        self.index = index
        self.weight = weight
        self.registry = registry or AgencyRegistry.default()

    def answer(self, query: QueryTerms, passages: list[Passage]) -> Answer | None:
        folded = fold(query.text)
        wanted = intents(query.text)
        wants_deadline = "date" in wanted
        if not (wants_deadline or "duty" in wanted):
            return None
        mentions = self.registry.find(query.text)
        agency = next((m for m in mentions if self.index.tasks_for(m.agency.id)), None)
        if agency is None:
            return None
        rest = self._rest(query, agency.start, agency.end)
        views = self.index.tasks_for(agency.agency.id)
        places = {v.document.place for v in self.index.views() if names_place(query.words, v.document.place)}
        if places:  # "… tỉnh Lai Châu …": only that province's documents
            views = [v for v in views if v.document.place in places]
        views = self._relevant(views, rest, passages)
        period = asked_period(folded)
        if wants_deadline or period:
            views = [v for v in views if v.deadlines and (period is None or period.holds(v))]
            views.sort(key=lambda v: min((d.due or date.max) for d in v.deadlines))
        if not views:
            return None
        return self._compose(agency.agency.name, views[:MAX_TASKS], wants_deadline or bool(period))

    def _rest(self, query: QueryTerms, start: int, end: int) -> list[str]:
        """The question's content words besides the agency's name and the asking."""
        seq = match_words(query.text)
        text = FRAMES.sub(" ", _ASKING.sub(" ", " ".join(seq[:start] + ["|"] + seq[end:])))
        stop = QUESTION_WORDS | FUNCTION_WORDS | (ENGLISH_STOPWORDS if query.english else frozenset())
        return [w for w in text.split() if w not in stop and w != "|" and not w.isdigit()]

    def _relevant(self, views: list[TaskView], rest: list[str], passages: list[Passage]) -> list[TaskView]:
        """Tasks that hold the rest of the question, from retrieved documents first."""
        order = {p.document.id: i for i, p in reversed(list(enumerate(passages)))}
        weights = {w: self.weight(w) for w in set(rest)}
        total = sum(weights.values())
        scored = []
        for view in views:
            if total:
                share = sum(weight for w, weight in weights.items() if w in view.vocabulary) / total
            else:
                share = 1.0
            scored.append((share, view))
        best = max((s for s, _ in scored), default=0.0)
        if best < MIN_COVERAGE:
            return []
        keep = [(s, v) for s, v in scored if s >= 0.6 * best]
        role_rank = {"assignment": 0, "unit-type": 0, "sentence": 1, "partner": 2}
        keep.sort(key=lambda sv: (-round(sv[0], 1), order.get(sv[1].document.id, len(order)),
                                  role_rank.get(sv[1].task.source, 3), sv[1].task.role != "chủ trì",
                                  sv[1].task.index))
        return [v for _, v in keep]

    def _compose(self, agency_name: str, views: list[TaskView], deadlines: bool) -> Answer:
        citations = []
        lines = []
        item = prompts.load("task_deadline_item.txt" if deadlines else "task_item.txt")
        for view in views:
            passage = self._passage(view)
            if passage is None:
                continue
            citation = Citation(len(citations) + 1, passage, _exact(passage.chunk.text, view.task.quote))
            citations.append(citation)
            when = "; ".join(d.text for d in view.deadlines)
            lines.append(item.format(role=view.task.role, task=view.task.text, deadline=when,
                                     label=citation.label, section=view.task.section, n=citation.n))
        if not citations:
            return Answer(prompts.load("not_found.txt"), False)
        intro = prompts.load("task_deadline_intro.txt" if deadlines else "task_intro.txt").format(agency=agency_name)
        return Answer(intro + "\n\n" + "\n".join(lines), True, tuple(citations), mode="tasks")

    def _passage(self, view: TaskView) -> Passage | None:
        chunk = self.index.store.get_chunks([view.task.chunk_id]).get(view.task.chunk_id)
        return Passage(chunk, view.document, 1.0) if chunk else None


def _exact(text: str, quote: str) -> str:
    """``quote`` as it stands in ``text`` (whitespace may differ where a paragraph was re-joined)."""
    if quote in text:
        return quote
    pattern = r"\s+".join(re.escape(part) for part in quote.split())
    m = re.search(pattern, text)
    return m.group(0) if m else quote


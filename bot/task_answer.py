"""Answer "what is X assigned?" and "what deadlines does X have?" from the extracted task list.

It answers only when the question names an agency the task list knows, asks for
duties or deadlines, and the agency's tasks hold the rest of the question on the
judge's scale (:meth:`bot.judge.Judge.share`; the documents retrieved for it come
first). Otherwise it declines (returns None) and the general answerer takes the question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache

import numpy as np

import prompts
from bot.citations import Answer
from bot.compose import Quote, cite, number_of
from bot.judge import Judge, names_anything
from bot.task_table import TaskTable, TaskTables
from vectorstore.lexical import LexicalIndex
from vectorstore.question import Period, Question
from vectorstore.retriever import Passage
from vectorstore.task_index import TaskIndex, TaskView
from vectorstore.text import words

MAX_TASKS = 6
KEEP_SHARE = 0.6  # tasks holding at least this share of the best task's match are listed
READ_BATCH = 200  # task passages read at a time, best shares first


def period_holds(period: Period, view: TaskView) -> bool:
    """Whether one of the task's deadlines falls in the months of ``period``."""
    for deadline in view.deadlines:
        days = [deadline.start, deadline.due] if deadline.kind != "yearly" else []
        if deadline.kind == "yearly" and deadline.month_day:
            days = [date(period.year or 2000, deadline.month_day[0], 1)]
        for day in days:
            if day and day.month in period.months and (period.year is None or deadline.kind == "yearly"
                                                       or day.year == period.year):
                return True
    return False


class TaskAnswerer:
    def __init__(self, index: TaskIndex, judge: Judge, lexical: Callable[[], LexicalIndex] | None = None) -> None:
        self.index = index
        self.judge = judge
        self.lexical = lexical
        self.tables = TaskTables()

    def warm(self) -> None:
        """Read every task and every agency's table now rather than at the first question about it."""
        for agency_id in {v.task.agency_id for v in self.index.views()}:
            self.tables.table(agency_id, self.index.tasks_for(agency_id))

    def answer(self, question: Question, passages: list[Passage]) -> Answer | None:
        wants_deadline = "when" in question.intents
        if not (wants_deadline or "duty" in question.intents):
            return None
        agency = next((a for a in question.agencies if self.index.tasks_for(a.id)), None)
        if agency is None:
            return None
        table = self.tables.table(agency.id, self.index.tasks_for(agency.id))
        views, stated = self._relevant(question, table, question.rest(excluding=agency), passages)
        period = question.period if question.period and question.period.kind in ("month", "quarter") else None
        if wants_deadline or period:
            views = [v for v in views if v.deadlines and (period is None or period_holds(period, v))]
            views.sort(key=lambda v: min((d.due or date.max) for d in v.deadlines))
        found = self._stated_first(views, stated)
        if not found:
            return None
        return self._compose(question, agency.name, found, wants_deadline or bool(period))

    def _stated_first(self, views: list[TaskView], stated: dict[str, Passage]) -> list[tuple[TaskView, Passage]]:
        """The first ``MAX_TASKS`` views whose passage is there, read as far as needed."""
        found: list[tuple[TaskView, Passage]] = []
        for start in range(0, len(views), 2 * MAX_TASKS):
            part = views[start:start + 2 * MAX_TASKS]
            stated.update(self._passages([v for v in part if v.task.id not in stated]))
            found += [(v, stated[v.task.id]) for v in part if v.task.id in stated]
            if len(found) >= MAX_TASKS:
                break
        return found[:MAX_TASKS]

    def _relevant(
        self, question: Question, table: TaskTable, rest: list[str], passages: list[Passage]
    ) -> tuple[list[TaskView], dict[str, Passage]]:
        """Tasks that hold the rest of the question (on the judge's scale), from retrieved documents
        first, among those whose passage holds what the question names ("… tỉnh Lai Châu …",
        "… Kế hoạch 195 …"); with the passages read to check that (none when the question names
        nothing: the answer reads the ones it shows). Tasks are looked at from the best share down, so
        passages are read only until the shares fall below ``KEEP_SHARE`` of the best named one (an
        agency has thousands of tasks in a large archive: they are weighed all at once, see
        :mod:`bot.task_table`)."""
        order = {p.document.id: i for i, p in reversed(list(enumerate(passages)))}
        shares = table.shares(question, self.judge.weights(rest), self.judge.lexicon.equivalents)
        ranked = np.argsort(-shares, kind="stable")
        for number, chunks in self._holding_numbers(question).items():
            may = table.positions(chunks, {d.id for d in table.documents if number in _owner_words(d.issuer, d.place)})
            ranked = ranked[may[ranked]]
        stated: dict[str, Passage] = {}
        keep: list[tuple[float, TaskView]] = []
        best: float | None = None
        reads = names_anything(question)  # else every passage holds what it names: read the shown ones only
        for start in range(0, len(ranked), READ_BATCH):
            batch = [(float(shares[i]), table.views[i]) for i in ranked[start:start + READ_BATCH]]
            batch = [sv for sv in batch if best is None or sv[0] >= KEEP_SHARE * best]
            if not batch:
                break
            if reads:
                stated.update(self._passages([v for _, v in batch]))
            for share, view in batch:
                if best is not None and share < KEEP_SHARE * best:
                    break
                if not reads or (view.task.id in stated and self.judge.names_held(question, stated[view.task.id])):
                    best = share if best is None else best
                    keep.append((share, view))
        if best is None or best < self.judge.threshold:
            return [], stated
        role_rank = {"assignment": 0, "unit-type": 0, "sentence": 1, "partner": 2}
        keep.sort(key=lambda sv: (-round(sv[0], 1), order.get(sv[1].document.id, len(order)),
                                  role_rank.get(sv[1].task.source, 3), sv[1].task.role != "chủ trì",
                                  sv[1].task.index))
        return [v for _, v in keep], stated

    def _holding_numbers(self, question: Question) -> dict[str, set[str]]:
        """Number the question names ("Kế hoạch 195") -> the passages the lexical index holds it in
        (numbers too common to narrow anything down are left out). A task whose passage is not
        among them, and whose document's issuer and place do not hold the number either, cannot
        pass ``Judge.names_held`` (which reads the passage): it is not read."""
        if self.lexical is None or not question.numbers:
            return {}
        index = self.lexical()
        found = {n: index.chunks_with(n) for n in set(question.numbers)}
        return {n: chunks for n, chunks in found.items() if chunks is not None}

    def _compose(
        self, question: Question, agency_name: str, found: list[tuple[TaskView, Passage]], deadlines: bool
    ) -> Answer:
        lang = question.language
        quotes = [Quote(passage, _exact(passage.chunk.text, view.task.quote)) for view, passage in found]
        citations = cite(quotes)
        item = prompts.load("task_deadline_item.txt" if deadlines else "task_item.txt", lang)
        lines = []
        for (view, _), quote in zip(found, quotes):
            c = citations[number_of(citations, quote) - 1]
            lines.append(item.format(role=view.task.role, task=view.task.text,
                                     deadline="; ".join(d.text for d in view.deadlines),
                                     label=c.label, section=view.task.section, n=c.n))
        intro = prompts.load("task_deadline_intro.txt" if deadlines else "task_intro.txt", lang).format(
            agency=agency_name)
        return Answer(intro + "\n\n" + "\n".join(lines), True, tuple(citations), mode="tasks")

    def _passages(self, views: list[TaskView]) -> dict[str, Passage]:
        """Task id -> the passage stating the task (tasks whose passage is gone are left out)."""
        chunks = self.index.stating(views)
        return {v.task.id: Passage(chunks[v.task.chunk_id], v.document, 1.0) for v in views
                if v.task.chunk_id in chunks}


@lru_cache(maxsize=4096)
def _owner_words(issuer: str, place: str) -> frozenset[str]:
    return frozenset(words(" ".join([issuer, place])))


def _exact(text: str, quote: str) -> str:
    """``quote`` as it stands in ``text`` (whitespace may differ where a paragraph was re-joined)."""
    if quote in text:
        return quote
    pattern = r"\s+".join(re.escape(part) for part in quote.split())
    m = re.search(pattern, text)
    return m.group(0) if m else quote

"""An agency's tasks weighed against a question all at once, on the judge's scale.

The task answer weighs every task of the agency a question names — thousands of them in a
province's archive — by :meth:`bot.judge.Judge.share`. Word by word in Python that took
seconds per question at 100k passages. Here each task's text is read once (:class:`TaskWords`,
kept while the task lives) and an agency's tasks become postings (word -> tasks), so a
question's shares for all of them are a few array operations.

:meth:`TaskTable.shares` gives, task by task, exactly what ``Judge.share`` gives for the task's
text (``tests/test_task_table.py`` holds them equal); the rules themselves (equivalent words,
cue words held when the text states what they ask for, a word the question wrote with
diacritics spelled so in a text that has them) stay described in ``Judge._share``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.extract import states
from bot.judge import written_with_marks
from ingest.folding import toned_words_once
from vectorstore.question import Question
from vectorstore.records import document_line
from vectorstore.task_index import TaskView
from vectorstore.text import words_once


def task_text(view: TaskView) -> str:
    """What a task says, with its section and document (what the judge weighs)."""
    return " ".join([view.task.quote, view.task.section, document_line(view.document)])


class _Ids:
    """Words -> small integers, shared by every table (an archive has some tens of thousands)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def of(self, items: set[str]) -> np.ndarray:
        with self._lock:
            return np.array(sorted(self._ids.setdefault(w, len(self._ids)) for w in items), dtype=np.int32)

    def get(self, item: str) -> int | None:
        return self._ids.get(item)


_FOLDED, _TONED = _Ids(), _Ids()


@dataclass(frozen=True, slots=True)
class TaskWords:
    """A task text's folded words and, when it is written with diacritics, its toned words (ids).
    Read once per task and kept: the text goes through the word functions without their caches
    (109,171 task texts at 100k passages filled three caches of 32,768 texts each)."""

    folded: np.ndarray
    toned: np.ndarray  # empty when the text is not written with diacritics
    marked: bool

    @classmethod
    def read(cls, text: str) -> TaskWords:
        marked = written_with_marks.__wrapped__(text)
        toned = set(toned_words_once(text)) if marked else set()
        return cls(_FOLDED.of(set(words_once(text))), _TONED.of(toned), marked)


class _Postings:
    """Word id -> the table positions holding it."""

    def __init__(self, lists: Sequence[np.ndarray]) -> None:
        ids = np.concatenate(lists) if lists else np.zeros(0, np.int32)
        where = np.repeat(np.arange(len(lists), dtype=np.int32), [len(x) for x in lists])
        order = np.argsort(ids, kind="stable")
        self.ids, self.where = ids[order], where[order]

    def holders(self, word_id: int | None) -> np.ndarray:
        if word_id is None:
            return self.where[:0]
        lo, hi = np.searchsorted(self.ids, [word_id, word_id + 1])
        return self.where[lo:hi]


class TaskTable:
    """One agency's tasks (in the task index's order) ready to be weighed."""

    def __init__(self, views: Sequence[TaskView], read: Mapping[str, TaskWords]) -> None:
        self.source = views  # the task index's own sequence: the same object while nothing changed
        self.views = list(views)
        self.ids = tuple(v.task.id for v in self.views)
        self.read = {v.task.id: read[v.task.id] for v in self.views}
        found = [self.read[i] for i in self.ids]
        self.marked = np.array([w.marked and len(w.toned) > 0 for w in found], dtype=bool)
        self._folded = _Postings([w.folded for w in found])
        self._toned = _Postings([w.toned for w in found])
        self._stated: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._of_chunk: dict[str, list[int]] = {}
        self._of_document: dict[str, list[int]] = {}
        for i, view in enumerate(self.views):
            self._of_chunk.setdefault(view.task.chunk_id, []).append(i)
            self._of_document.setdefault(view.document.id, []).append(i)
        self.documents = list({v.document.id: v.document for v in self.views}.values())

    def __len__(self) -> int:
        return len(self.views)

    def positions(self, chunks: set[str], documents: set[str]) -> np.ndarray:
        """A mask of the tasks stated in one of ``chunks`` or belonging to one of ``documents``."""
        mask = np.zeros(len(self), dtype=bool)
        for found, of in ((chunks, self._of_chunk), (documents, self._of_document)):
            for key in found & of.keys():
                mask[of[key]] = True
        return mask

    def _holding(self, word: str) -> np.ndarray:
        held = np.zeros(len(self), dtype=bool)
        held[self._folded.holders(_FOLDED.get(word))] = True
        return held

    def _states(self, intent: str) -> np.ndarray:
        """Which tasks' texts state what ``intent`` asks for (read once per intent)."""
        with self._lock:
            found = self._stated.get(intent)
        if found is None:
            found = np.array([states(intent, task_text(v)) for v in self.views], dtype=bool)
            with self._lock:
                self._stated[intent] = found
        return found

    def shares(
        self, question: Question, weights: Mapping[str, float], equivalents: Mapping[str, Sequence[str]]
    ) -> np.ndarray:
        """Each task's share (weighted) of ``weights``' words, as ``Judge.share`` weighs its text."""
        if not weights:
            return np.ones(len(self))
        total = sum(weights.values())
        out = np.zeros(len(self))
        if not total:
            return out
        spelled = self.marked if question.forms else np.zeros(len(self), dtype=bool)
        for word, weight in weights.items():
            held = np.zeros(len(self), dtype=bool)
            for intent, cue in question.cues.items():
                if word in cue:
                    held |= self._states(intent)
            for other in equivalents.get(word, ()):
                held |= self._holding(other)
            plain = self._holding(word)
            if word in question.forms:
                toned = np.zeros(len(self), dtype=bool)
                for form in question.forms[word]:
                    toned[self._toned.holders(_TONED.get(form))] = True
                plain = np.where(spelled, toned, plain)
            out += weight * (held | plain)
        return out / total


class TaskTables:
    """The tables of the agencies asked about, remade when an agency's tasks change; a task's
    words are read once while it lives."""

    def __init__(self, read: Callable[[str], TaskWords] = TaskWords.read) -> None:
        self._read = read
        self._tables: dict[str, TaskTable] = {}
        self._lock = threading.Lock()

    def table(self, agency_id: str, views: Sequence[TaskView]) -> TaskTable:
        with self._lock:
            old = self._tables.get(agency_id)
        if old is not None and (old.source is views or old.ids == tuple(v.task.id for v in views)):
            return old
        known = old.read if old is not None else {}
        read = {v.task.id: known.get(v.task.id) or self._read(task_text(v)) for v in views}
        table = TaskTable(views, read)
        with self._lock:
            self._tables[agency_id] = table
        return table

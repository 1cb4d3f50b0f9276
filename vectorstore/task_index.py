"""Look up tasks by agency and deadlines by date, from the tasks the store holds.

Kept per live document version: when the registry changes (the store's
fingerprint), only the tasks of versions it newly names are read, and those of
versions it no longer names are dropped, as in the lexical index.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from ingest.agencies import AgencyRegistry
from ingest.deadlines import Deadline
from vectorstore.recent_chunks import RecentChunks
from vectorstore.records import DocumentRecord, StoredChunk, StoredTask
from vectorstore.store import Store

STATING_CACHE = 10000  # passages kept for the task answer (1-3 KB each)


@dataclass(frozen=True, slots=True)
class TaskView:
    task: StoredTask
    document: DocumentRecord
    deadlines: tuple[Deadline, ...]


@dataclass(frozen=True)
class AgencySummary:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    task_count: int
    lead_count: int
    deadline_count: int

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "aliases": list(self.aliases),
                "task_count": self.task_count, "lead_count": self.lead_count, "deadline_count": self.deadline_count}


@dataclass(frozen=True)
class Occurrence:
    """One due day of one deadline of one task."""

    day: date
    view: TaskView
    deadline: Deadline


class TaskIndex:
    def __init__(self, store: Store, registry: AgencyRegistry | None = None) -> None:
        self.store = store
        self.registry = registry or AgencyRegistry.default()
        self._key = ""
        self._views: list[TaskView] = []
        self._by_version: dict[tuple[str, str], list[TaskView]] = {}
        self._by_agency: dict[str, tuple[TaskView, ...]] = {}
        self._grouped: list[TaskView] | None = None  # the views _by_agency was made from
        self._stating = RecentChunks(store, STATING_CACHE)
        self._lock = threading.Lock()

    def views(self) -> list[TaskView]:
        key = self.store.fingerprint()
        with self._lock:
            if key != self._key:
                registry = self.store.registry()
                live = {(d.id, d.version) for d in registry.values()}
                kept = {k: v for k, v in self._by_version.items() if k in live}
                fetched = self.store.version_tasks(live - kept.keys())
                for doc_id, version in live - kept.keys():  # a version without tasks is read once too
                    kept[(doc_id, version)] = [
                        TaskView(t, registry[doc_id], tuple(Deadline.from_dict(d) for d in t.deadlines))
                        for t in fetched.get((doc_id, version), [])
                    ]
                self._by_version = kept
                self._views = [v for k in sorted(kept) for v in kept[k]]
                self._key = key
            return self._views

    def resolve(self, ref: str) -> str | None:
        """An agency id from an id, a name or an alias ("Sở GD&ĐT", "Department of Education")."""
        known = {v.task.agency_id for v in self.views()}
        if ref in known or self.registry.get(ref):
            return ref
        mentions = self.registry.find(ref)
        if mentions:
            return mentions[0].agency.id
        ad_hoc = self.registry.ad_hoc(ref).id
        return ad_hoc if ad_hoc in known else None

    def agencies(self) -> list[AgencySummary]:
        counts: dict[str, list[TaskView]] = {}
        for view in self.views():
            counts.setdefault(view.task.agency_id, []).append(view)
        out = []
        for agency_id, views in counts.items():
            known = self.registry.get(agency_id)
            out.append(AgencySummary(
                agency_id, known.name if known else views[0].task.agency_name,
                known.kind if known else views[0].task.agency_kind, known.aliases if known else (),
                len(views), sum(1 for v in views if v.task.role == "chủ trì" and v.task.source != "partner"),
                sum(1 for v in views if v.deadlines),
            ))
        return sorted(out, key=lambda a: (a.kind != "agency", -a.task_count, a.name))

    def tasks_for(self, agency_id: str) -> tuple[TaskView, ...]:
        """An agency's tasks, in the order of :meth:`views` (grouped once per change of the views:
        the same tuple until then)."""
        views = self.views()
        with self._lock:
            if self._grouped is not views:
                grouped: dict[str, list[TaskView]] = {}
                for view in views:
                    grouped.setdefault(view.task.agency_id, []).append(view)
                self._by_agency, self._grouped = {k: tuple(v) for k, v in grouped.items()}, views
            return self._by_agency.get(agency_id, ())

    def stating(self, views: list[TaskView]) -> dict[str, StoredChunk]:
        """The passages stating ``views``' tasks, by chunk id (the recently used from memory: an
        agency's tasks are asked about again and again)."""
        return self._stating.get(v.task.chunk_id for v in views)

    def _with_deadlines(self, agency_id: str | None) -> list[TaskView]:
        return [v for v in self.views() if v.deadlines and (agency_id is None or v.task.agency_id == agency_id)]

    def date_range(
        self, first: date | None = None, last: date | None = None, agency_id: str | None = None
    ) -> tuple[date, date]:
        """``[first, last]`` with a missing end taken from the deadlines' years (to the year after the last)."""
        if first is None or last is None:
            years = [d.due.year for v in self._with_deadlines(agency_id) for d in v.deadlines if d.due]
            first = first or date(min(years, default=date.today().year), 1, 1)
            last = last or date(min(max(years, default=date.today().year) + 1, date.max.year), 12, 31)
        return first, last

    def occurrences(
        self, first: date | None = None, last: date | None = None, agency_id: str | None = None
    ) -> list[Occurrence]:
        """Due days in ``[first, last]`` (yearly deadlines expanded), earliest first."""
        views = self._with_deadlines(agency_id)
        first, last = self.date_range(first, last, agency_id)
        out = [
            Occurrence(day, view, deadline)
            for view in views for deadline in view.deadlines for day in deadline.occurrences(first, last)
        ]
        return sorted(out, key=lambda o: (o.day, o.view.task.agency_name, o.view.task.index))

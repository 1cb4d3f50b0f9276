"""Deadlines as CSV (Vietnamese intact, UTF-8 with BOM for spreadsheets) and iCalendar."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from vectorstore.task_index import Occurrence, TaskView

CSV_COLUMNS = [
    "ngay_han", "co_quan", "vai_tro", "nhiem_vu", "thoi_han_nguyen_van", "thoi_han_chuan", "lap_lai",
    "van_ban", "so_hieu", "muc", "trich_dan",
]


def occurrence_row(o: Occurrence) -> dict[str, str]:
    t, d = o.view.task, o.view.document
    return {
        "ngay_han": o.day.isoformat(), "co_quan": t.agency_name, "vai_tro": t.role, "nhiem_vu": t.text,
        "thoi_han_nguyen_van": o.deadline.text, "thoi_han_chuan": o.deadline.key,
        "lap_lai": "hằng năm" if o.deadline.kind == "yearly" else "", "van_ban": d.title, "so_hieu": d.doc_number,
        "muc": t.section, "trich_dan": t.quote,
    }


def to_csv(occurrences: Iterable[Occurrence]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for o in occurrences:
        writer.writerow(occurrence_row(o))
    return "\ufeff" + out.getvalue()


def to_ics(views: Iterable[TaskView], first: date, last: date) -> bytes:
    """One all-day event per deadline due within ``[first, last]``; yearly ones as yearly recurrences."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//chidao//Hạn công việc//VI")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "chidao – thời hạn nhiệm vụ")
    stamp = datetime.now(UTC)
    for view in views:
        for deadline in view.deadlines:
            days = deadline.occurrences(first, last)
            if not days:
                continue
            t, d = view.task, view.document
            event = Event()
            uid = hashlib.sha1(f"{t.id}|{deadline.key}".encode()).hexdigest()
            event.add("uid", f"{uid}@chidao")
            event.add("dtstamp", stamp)
            event.add("dtstart", days[0])
            event.add("dtend", days[0] + timedelta(days=1))
            event.add("summary", f"{t.agency_name}: {t.text[:120]}")
            event.add("description", f"{deadline.text}\n{d.label} – {t.section}\n“{t.quote}”")
            if deadline.kind == "yearly":
                event.add("rrule", {"freq": "yearly"})
            calendar.add_component(event)
    return calendar.to_ical()

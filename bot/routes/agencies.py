"""Responsibilities and deadlines by agency: /api/agencies, /api/deadlines (JSON, CSV, iCalendar)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from bot import exports
from bot.routes.auth import ReaderDep
from bot.routes.deps import ServiceDep
from vectorstore.task_index import Occurrence, TaskIndex, TaskView

router = APIRouter()

# One export covers at most this many years and rows: a yearly deadline over 0001–9999 would
# otherwise expand to ten thousand rows each (finding 6 of issue 15).
MAX_SPAN_YEARS = 10
MAX_ROWS = 5000


def citation(view: TaskView) -> dict[str, Any]:
    t, d = view.task, view.document
    return {"document_id": d.id, "source": d.source, "title": d.title, "doc_number": d.doc_number,
            "doc_type": d.doc_type, "section": t.section, "chunk_id": t.chunk_id, "quote": t.quote}


def task_dict(view: TaskView) -> dict[str, Any]:
    t = view.task
    return {"agency_id": t.agency_id, "agency_name": t.agency_name, "role": t.role, "text": t.text,
            "source": t.source, "deadlines": [d.to_dict() for d in view.deadlines], "citation": citation(view)}


def occurrence_dict(o: Occurrence) -> dict[str, Any]:
    return {"date": o.day.isoformat(), "deadline": o.deadline.to_dict(), **task_dict(o.view)}


def _day(value: str | None, name: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(422, f"Tham số '{name}' phải là ngày dạng YYYY-MM-DD (nhận: '{value}').") from None


def _check_span(first: date, last: date) -> None:
    if first > last:
        raise HTTPException(422, "Khoảng ngày không hợp lệ: 'from' sau 'to'.")
    if (last - first).days > MAX_SPAN_YEARS * 366:
        raise HTTPException(422, f"Khoảng ngày quá rộng ({first.isoformat()} – {last.isoformat()}): mỗi lần xuất "
                                 f"tối đa {MAX_SPAN_YEARS} năm. Hãy chọn 'from' và 'to' gần nhau hơn.")


def _agency(index: TaskIndex, ref: str | None) -> str | None:
    if ref is None or not ref.strip():
        return None
    agency_id = index.resolve(ref.strip())
    if agency_id is None:
        raise HTTPException(404, f"Không có cơ quan '{ref}' trong danh mục nhiệm vụ.")
    return agency_id


@router.get("/api/agencies")
async def agencies(service: ServiceDep, _: ReaderDep) -> list[dict[str, Any]]:
    return [a.to_dict() for a in await run_in_threadpool(service.tasks.agencies)]


@router.get("/api/agencies/{agency_id}")
async def agency(agency_id: str, service: ServiceDep, _: ReaderDep) -> dict[str, Any]:
    index = service.tasks
    resolved = _agency(index, agency_id)
    summary = next((a for a in await run_in_threadpool(index.agencies) if a.id == resolved), None)
    if summary is None:
        raise HTTPException(404, f"Không có nhiệm vụ nào giao cho '{agency_id}'.")
    views = await run_in_threadpool(index.tasks_for, summary.id)
    return {**summary.to_dict(), "tasks": [task_dict(v) for v in views]}


@router.get("/api/deadlines", response_model=None)
async def deadlines(
    service: ServiceDep,
    _: ReaderDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    end: Annotated[str | None, Query(alias="to")] = None,
    agency: str | None = None,
    format: Literal["json", "csv", "ics"] = "json",  # noqa: A002 - the contract's parameter name
) -> list[dict[str, Any]] | Response:
    first, last = _day(start, "from"), _day(end, "to")
    if first and last and first > last:
        raise HTTPException(422, "Khoảng ngày không hợp lệ: 'from' sau 'to'.")
    index = service.tasks
    agency_id = _agency(index, agency)
    if first or last:  # a range asked for; without one, the deadlines' own years bound it
        first, last = await run_in_threadpool(index.date_range, first, last, agency_id)
        _check_span(first, last)
    found = await run_in_threadpool(index.occurrences, first, last, agency_id)
    if len(found) > MAX_ROWS:
        raise HTTPException(422, f"Quá nhiều thời hạn trong khoảng đã chọn ({len(found)}; tối đa {MAX_ROWS} mỗi lần "
                                 "xuất). Hãy thu hẹp khoảng ngày (from, to) hoặc chọn một cơ quan (agency).")
    if format == "csv":
        return Response(exports.to_csv(found), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="chidao-thoi-han.csv"'})
    if format == "ics":
        views = list({o.view.task.id: o.view for o in found}.values())
        lo = first or min((o.day for o in found), default=date.today())
        hi = last or max((o.day for o in found), default=date.today())
        return Response(exports.to_ics(views, lo, hi), media_type="text/calendar; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="chidao-thoi-han.ics"'})
    return [occurrence_dict(o) for o in found]

"""The fixed API: /healthz, /api/search, /api/chat, /api/documents."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal, TypeVar

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator, model_validator

from bot.citations import Answer, Delta
from bot.routes.auth import ReaderDep
from bot.routes.deps import ServiceDep, SettingsDep
from bot.routes.feedback import remember_answer
from bot.routes.streaming import keep_alive
from bot.service import Turn
from vectorstore.filters import Filters

log = logging.getLogger(__name__)
router = APIRouter()
T = TypeVar("T")


class SearchFilters(BaseModel):
    """Optional ``filters`` (contract): only passages of documents matching every field given."""

    document_ids: list[str] | None = None
    doc_types: list[str] | None = None
    issuers: list[str] | None = None
    date_from: str | None = Field(default=None, description="YYYY-MM-DD")
    date_to: str | None = Field(default=None, description="YYYY-MM-DD")

    @model_validator(mode="before")
    @classmethod
    def _valid(cls, data: Any) -> Any:
        Filters.parse(data)  # a FilterError (ValueError) becomes a 422 with its Vietnamese reason
        return data

    def parsed(self) -> Filters:
        return Filters.parse(self.model_dump(exclude_none=True))


def parsed_filters(filters: SearchFilters | None) -> Filters | None:
    return filters.parsed() if filters is not None else None


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)
    filters: SearchFilters | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("câu hỏi trống")
        return value.strip()


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20000)


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=2000)
    history: list[HistoryTurn] = Field(default_factory=list, max_length=50)
    stream: bool = False
    filters: SearchFilters | None = None

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("câu hỏi trống")
        return value.strip()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# Everything CPU-bound runs in the thread pool, the JSON encoding of the reply included (a
# ``JSONResponse`` renders when it is built): the event loop only moves bytes. At most as many
# searches and answers run at once as the process has cores; the rest wait on the loop, at no
# cost, instead of taking turns at the interpreter lock (measured: more threads, less throughput).
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


async def in_thread(work: Callable[[], T]) -> T:
    loop = asyncio.get_running_loop()  # one limiter per event loop (a limiter belongs to its loop)
    limiter = _LIMITERS.setdefault(loop, anyio.CapacityLimiter(max(1, os.cpu_count() or 1)))
    return await anyio.to_thread.run_sync(work, limiter=limiter)


@router.post("/api/search", response_model=None)
async def search(body: SearchRequest, service: ServiceDep, _: ReaderDep) -> JSONResponse:
    def run() -> JSONResponse:
        passages = service.search(body.query, body.k, parsed_filters(body.filters))
        return JSONResponse({"query": body.query, "results": [p.to_dict() for p in passages]})

    return await in_thread(run)


@router.post("/api/chat", response_model=None)
async def chat(
    body: ChatRequest, service: ServiceDep, settings: SettingsDep, _: ReaderDep
) -> JSONResponse | StreamingResponse:
    """The cited answer, with an ``answer_id`` for feedback; with ``"stream": true``, Server-Sent
    Events (see :func:`sse_events`)."""
    history = [Turn(t.role, t.content) for t in body.history]
    filters = parsed_filters(body.filters)

    def remember(answer: dict[str, Any]) -> dict[str, Any]:
        return remember_answer(settings, body.message, answer)

    if body.stream:  # each step of the answer runs in the thread pool (keep_alive)
        return StreamingResponse(
            sse_events(service.chat_stream(body.message, history, filters), remember, settings.sse_keepalive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def run() -> JSONResponse:
        return JSONResponse(remember(service.chat(body.message, history, filters).to_dict()))

    return await in_thread(run)


def sse(event: str, data: dict[str, Any]) -> str:
    """One event. Text no encoder can write (a lone surrogate) goes out \\u-escaped, never failing."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data)
    return f"event: {event}\ndata: {text}\n\n"


def sse_events(
    events: Iterator[Delta | Answer],
    finish: Callable[[dict[str, Any]], dict[str, Any]] = lambda a: a,
    keepalive: float = 15.0,
) -> AsyncIterator[str]:
    """``delta`` events ({"text": …}) as the answer grows, then one ``answer`` event with the
    same object as the non-streaming response; ``error`` ({"detail": …}) if it fails midway.
    A ``: keep-alive`` comment whenever no event has come for ``keepalive`` seconds."""
    return keep_alive(_sse_lines(events, finish), keepalive)


def _sse_lines(events: Iterator[Delta | Answer], finish: Callable[[dict[str, Any]], dict[str, Any]]) -> Iterator[str]:
    try:
        for event in events:
            if isinstance(event, Delta):
                yield sse("delta", {"text": event.text})
            else:
                yield sse("answer", finish(event.to_dict()))
    except Exception:  # the stream has started: report in-band, never a silent cut
        log.exception("streaming answer failed")
        yield sse("error", {"detail": "Lỗi máy chủ khi tạo câu trả lời. Vui lòng thử lại."})

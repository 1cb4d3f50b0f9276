"""The fixed API: /healthz, /api/search, /api/chat, /api/documents."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from bot.citations import Answer, Delta
from bot.routes.auth import ReaderDep
from bot.routes.deps import ServiceDep, SettingsDep
from bot.routes.feedback import remember_answer
from bot.routes.streaming import keep_alive
from bot.service import Turn

log = logging.getLogger(__name__)
router = APIRouter()


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)

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

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("câu hỏi trống")
        return value.strip()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/api/search")
async def search(body: SearchRequest, service: ServiceDep, _: ReaderDep) -> dict[str, Any]:
    passages = await run_in_threadpool(service.search, body.query, body.k)
    return {"query": body.query, "results": [p.to_dict() for p in passages]}


@router.post("/api/chat", response_model=None)
async def chat(
    body: ChatRequest, service: ServiceDep, settings: SettingsDep, _: ReaderDep
) -> dict[str, Any] | StreamingResponse:
    """The cited answer, with an ``answer_id`` for feedback; with ``"stream": true``, Server-Sent
    Events (see :func:`sse_events`)."""
    history = [Turn(t.role, t.content) for t in body.history]

    def remember(answer: dict[str, Any]) -> dict[str, Any]:
        return remember_answer(settings, body.message, answer)

    if body.stream:
        return StreamingResponse(
            sse_events(service.chat_stream(body.message, history), remember, settings.sse_keepalive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = await run_in_threadpool(service.chat, body.message, history)
    return await run_in_threadpool(remember, answer.to_dict())


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

"""The fixed API: /healthz, /api/search, /api/chat, /api/documents."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, field_validator

from bot.routes.deps import ServiceDep
from bot.service import Turn

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
async def search(body: SearchRequest, service: ServiceDep) -> dict[str, Any]:
    passages = await run_in_threadpool(service.search, body.query, body.k)
    return {"query": body.query, "results": [p.to_dict() for p in passages]}


@router.post("/api/chat")
async def chat(body: ChatRequest, service: ServiceDep) -> dict[str, Any]:
    history = [Turn(t.role, t.content) for t in body.history]
    answer = await run_in_threadpool(service.chat, body.message, history)
    return answer.to_dict()


@router.get("/api/documents")
async def documents(service: ServiceDep) -> list[dict[str, Any]]:
    return [d.summary() for d in await run_in_threadpool(service.documents)]

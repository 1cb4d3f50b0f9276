"""Thumbs up/down on answers: ``POST /api/feedback``, and the hook that gives answers an id."""

from __future__ import annotations

import functools
import logging
import sqlite3
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from bot.feedback import FeedbackStore, UnknownAnswer
from bot.routes.auth import ReaderDep
from bot.routes.deps import SettingsDep
from bot.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter()


@functools.lru_cache(maxsize=8)
def _store_at(data_dir: Path) -> FeedbackStore:
    return FeedbackStore.in_dir(data_dir)


def feedback_store(settings: Settings) -> FeedbackStore:
    return _store_at(settings.data_dir)


def remember_answer(settings: Settings, question: str, answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` with the ``answer_id`` feedback will name. Storage trouble never costs the answer."""
    try:
        answer_id = feedback_store(settings).record_answer(question, answer)
    except (sqlite3.Error, OSError):
        log.exception("could not record the answer for feedback")
        return answer
    return {**answer, "answer_id": answer_id}


class FeedbackRequest(BaseModel):
    answer_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


@router.post("/api/feedback")
async def feedback(body: FeedbackRequest, settings: SettingsDep, _: ReaderDep) -> dict[str, Any]:
    store = feedback_store(settings)
    try:
        return await run_in_threadpool(store.rate, body.answer_id, body.rating, body.comment.strip())
    except UnknownAnswer:
        raise HTTPException(
            status_code=404,
            detail=f"Không tìm thấy câu trả lời '{body.answer_id}': không thể ghi nhận đánh giá.",
        ) from None

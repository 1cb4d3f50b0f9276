"""``GET /api/status``: whether the server answers, and how each messaging channel is doing —
replies still queued, the last delivery, the last error (with the provider's code), and for
Zalo until when its access token is valid. ``/healthz`` stays the bare liveness check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from bot.routes.auth import ReaderDep
from bot.routes.webhooks import ChannelsDep

router = APIRouter()


@router.get("/api/status")
async def status(channels: ChannelsDep, _: ReaderDep) -> dict[str, Any]:
    return {"status": "ok", "channels": await run_in_threadpool(channels.status)}

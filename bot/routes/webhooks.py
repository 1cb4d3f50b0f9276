"""Webhooks of the messaging channels: verify, take the delivery, answer in the background.

Both providers re-send a delivery that is not acknowledged quickly (Zalo wants a 200 within
about two seconds), so the handlers only check, de-duplicate and queue.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from bot.channels.base import Accepted
from bot.channels.hub import Channels
from bot.channels.telegram import SECRET_HEADER
from bot.channels.zalo import SIGNATURE_HEADER

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def get_channels(request: Request) -> Channels:
    return request.app.state.channels  # type: ignore[no-any-return]


ChannelsDep = Annotated[Channels, Depends(get_channels)]


def _busy() -> JSONResponse:
    """Our backlog is full: the provider re-sends later."""
    return JSONResponse({"detail": "Máy chủ đang bận, vui lòng gửi lại sau."}, status_code=503)


async def _json_object(request: Request, raw: bytes | None = None) -> dict[str, Any]:
    try:
        body = json.loads(raw if raw is not None else await request.body())
    except ValueError:
        raise HTTPException(status_code=400, detail="Nội dung không phải JSON hợp lệ.") from None
    if not isinstance(body, dict):
        raise HTTPException(status_code=400, detail="Nội dung phải là một đối tượng JSON.")
    return body


@router.post("/telegram", response_model=None)
async def telegram(request: Request, channels: ChannelsDep) -> dict[str, Any] | JSONResponse:
    bot = channels.telegram
    if bot is None:
        raise HTTPException(status_code=404, detail="Kênh Telegram chưa được cấu hình (TELEGRAM_BOT_TOKEN).")
    if not bot.webhook_secret:
        raise HTTPException(status_code=503, detail="Chưa đặt TELEGRAM_WEBHOOK_SECRET nên không nhận webhook.")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), bot.webhook_secret.encode()):
        raise HTTPException(status_code=401, detail="Thiếu hoặc sai mã bí mật webhook Telegram.")
    result = bot.accept_update(await _json_object(request))
    return _busy() if result is Accepted.BUSY else {"ok": True}


@router.post("/zalo", response_model=None)
async def zalo(request: Request, channels: ChannelsDep) -> dict[str, Any] | JSONResponse:
    bot = channels.zalo
    if bot is None:
        missing = ", ".join(channels.zalo_missing)
        raise HTTPException(status_code=404, detail=f"Kênh Zalo chưa được cấu hình (thiếu {missing}).")
    raw = await request.body()
    header = request.headers.get(SIGNATURE_HEADER)
    event = await _json_object(request, raw)
    if not bot.verify(header, raw, event):  # unsigned or forged: 401, and no reply
        raise HTTPException(status_code=401, detail="Chữ ký sự kiện Zalo không hợp lệ.")
    result = bot.accept_event(event)
    return _busy() if result is Accepted.BUSY else {"message": "ok"}

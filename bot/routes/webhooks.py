"""Webhooks of the messaging channels: check the sender, read the body defensively, queue the
message durably and acknowledge at once (Zalo wants a 200 within about two seconds and may
disable a webhook that keeps failing; Telegram re-sends what is not acknowledged).

The sender is checked before the body is parsed: Telegram's secret header needs no body at
all, Zalo's signature only the raw bytes. A body that is too large, too deeply nested, not
JSON or malformed gets a 4xx with the reason, never a 5xx.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from bot.channels.hub import Channels
from bot.channels.telegram_api import SECRET_HEADER
from bot.channels.wire import BadBody, json_object, read_capped
from bot.channels.zalo import SIGNATURE_HEADER

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def get_channels(request: Request) -> Channels:
    return request.app.state.channels  # type: ignore[no-any-return]


ChannelsDep = Annotated[Channels, Depends(get_channels)]


async def _body(request: Request) -> bytes:
    try:
        return await read_capped(request.stream())
    except BadBody as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.post("/telegram")
async def telegram(request: Request, channels: ChannelsDep) -> dict[str, Any]:
    bot = channels.telegram
    if bot is None:
        raise HTTPException(status_code=404, detail="Kênh Telegram chưa được cấu hình (TELEGRAM_BOT_TOKEN).")
    if not bot.webhook_secret:
        raise HTTPException(status_code=503, detail="Chưa đặt TELEGRAM_WEBHOOK_SECRET nên không nhận webhook.")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), bot.webhook_secret.encode()):
        raise HTTPException(status_code=401, detail="Thiếu hoặc sai mã bí mật webhook Telegram.")
    try:
        bot.accept_update(json_object(await _body(request)))
    except BadBody as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"ok": True}


@router.post("/zalo")
async def zalo(request: Request, channels: ChannelsDep) -> dict[str, Any]:
    bot = channels.zalo
    if bot is None:
        missing = ", ".join(channels.zalo_missing)
        raise HTTPException(status_code=404, detail=f"Kênh Zalo chưa được cấu hình (thiếu {missing}).")
    raw = await _body(request)
    timestamp = bot.signed_timestamp(request.headers.get(SIGNATURE_HEADER), raw)
    if timestamp is None:  # unsigned or forged: 401, and no reply
        raise HTTPException(status_code=401, detail="Chữ ký sự kiện Zalo không hợp lệ.")
    try:
        bot.accept_event(json_object(raw), timestamp)
    except BadBody as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"message": "ok"}

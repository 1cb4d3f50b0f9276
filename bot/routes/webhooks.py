"""Webhooks of the messaging channels: check the sender, read the body defensively, queue the
message durably and acknowledge at once (Zalo wants a 200 within about two seconds and may
disable a webhook that keeps failing; Telegram re-sends what is not acknowledged).

The sender is checked before the body is parsed: the secret header of Telegram and of Zalo Bot
needs no body at all (compared in constant time), Zalo OA's signature only the raw bytes. A body
that is too large, too deeply nested, not JSON or malformed gets a 4xx with the reason, never a 5xx.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request

from bot.channels import telegram_api, zalo_bot_api
from bot.channels.hub import Channels
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


def _check_secret(request: Request, header: str, secret: str | None, setting: str, label: str) -> None:
    """401 unless the request carries the webhook secret; 503 when none is set (nothing could be trusted)."""
    if not secret:
        raise HTTPException(status_code=503, detail=f"Chưa đặt {setting} nên không nhận webhook.")
    given = request.headers.get(header, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise HTTPException(status_code=401, detail=f"Thiếu hoặc sai mã bí mật webhook {label}.")


async def _take(request: Request, accept: Callable[[dict[str, Any]], object]) -> None:
    """The body read, decoded and handed to ``accept``; a body refused there is a 4xx with its reason."""
    raw = await _body(request)
    try:
        accept(json_object(raw))
    except BadBody as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.post("/telegram")
async def telegram(request: Request, channels: ChannelsDep) -> dict[str, Any]:
    bot = channels.telegram
    if bot is None:
        raise HTTPException(status_code=404, detail="Kênh Telegram chưa được cấu hình (TELEGRAM_BOT_TOKEN).")
    _check_secret(request, telegram_api.SECRET_HEADER, bot.webhook_secret, "TELEGRAM_WEBHOOK_SECRET", "Telegram")
    await _take(request, bot.accept_update)
    return {"ok": True}


@router.post("/zalo-bot")
async def zalo_bot(request: Request, channels: ChannelsDep) -> dict[str, Any]:
    bot = channels.zalo_bot
    if bot is None:
        raise HTTPException(status_code=404, detail="Kênh Zalo Bot chưa được cấu hình (ZALO_BOT_TOKEN).")
    _check_secret(request, zalo_bot_api.SECRET_HEADER, bot.webhook_secret, "ZALO_BOT_WEBHOOK_SECRET", "Zalo Bot")
    await _take(request, bot.accept_update)
    return {"message": "Success"}


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

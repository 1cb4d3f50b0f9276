"""Request-body size limits, per route, enforced while the body is read and before any route runs.

The limit is checked twice: a declared ``Content-Length`` over it is refused before a byte of
the body is read, and a body sent without one (chunked) is counted as it arrives and refused
as soon as it passes the limit. Either way the answer is a 413 that comes before auth and
before parsing, so an oversized body costs the server at most the limit in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse

from bot.channels.wire import MAX_BODY
from bot.settings import Settings

KIB = 1024
MIB = 1024 * KIB
DEFAULT_LIMIT = 64 * KIB  # search, feedback, and any body sent to a route that reads none
CHAT_LIMIT = 1 * MIB  # a question with its history (the web chat sends the last 20 turns)
WEBHOOK_LIMIT = MAX_BODY  # one Telegram update or Zalo event is a few KB (the webhooks' own read cap)
MAX_UPLOAD_FILES = 50  # per upload request; each file is checked on its own while it streams


def _size(limit: int) -> str:
    return f"{limit / MIB:g} MB" if limit >= MIB else f"{limit // KIB} KB"


class BodyTooLarge(HTTPException):
    """Raised from the request stream the moment the body passes its route's limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Nội dung yêu cầu quá lớn: tối đa {_size(limit)} cho đường dẫn này.")


@dataclass(frozen=True)
class BodyLimits:
    rules: tuple[tuple[str, int], ...]  # (path prefix, bytes); the first match wins
    default: int = DEFAULT_LIMIT

    def for_path(self, path: str) -> int:
        return next((limit for prefix, limit in self.rules if path.startswith(prefix)), self.default)


def body_limits(settings: Settings) -> BodyLimits:
    return BodyLimits((
        ("/webhooks/", WEBHOOK_LIMIT),
        ("/api/chat", CHAT_LIMIT),
        ("/v1/chat/completions", CHAT_LIMIT),
        ("/api/documents", MAX_UPLOAD_FILES * settings.upload_limit_bytes + MIB),
    ))


def _declared_length(scope: dict[str, Any]) -> int | None:
    """The Content-Length header as a number; -1 when it is not one."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


class BodyLimitMiddleware:
    """Pure ASGI: wraps ``receive`` so that no route ever reads more than its limit."""

    def __init__(self, app: Any, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope.get("path", ""))
        declared = _declared_length(scope)
        if declared == -1:
            await JSONResponse({"detail": "Content-Length không hợp lệ."}, 400)(scope, receive, send)
            return
        if declared is not None and declared > limit:
            too_large = BodyTooLarge(limit)
            await JSONResponse({"detail": too_large.detail}, 413)(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message  # type: ignore[no-any-return]

        await self.app(scope, limited_receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(BodyLimitMiddleware, limits=body_limits(settings))

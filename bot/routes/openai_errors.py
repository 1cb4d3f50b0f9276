"""Errors on ``/v1/*`` in OpenAI's shape, whoever raised them.

OpenAI clients read ``{"error": {"message", "type", "param", "code"}}`` and pick the exception
class from the status (400 bad request, 401 key, 404 not found, 429 rate limit, 5xx server).
The routes under ``/v1`` build such bodies themselves (:func:`error_response`); everything else
that can answer there — request validation, the key check, an unknown path, a size or rate
limit, an unhandled exception — answers in the rest of the API's ``{"detail": …}`` shape, and
:class:`OpenAIErrors` rewrites it on the way out. Other paths pass through untouched.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PREFIX = "/v1"
SERVER_ERROR = "Lỗi máy chủ khi tạo câu trả lời. Vui lòng thử lại."


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(status: int, message: str, param: str | None = None, code: str | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(message, error_type(status), param, code))


def error_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    if status == 429:
        return "rate_limit_error"
    return "invalid_request_error"


def param_of(loc: list[Any] | tuple[Any, ...] | None) -> str | None:
    """A validation error's location as OpenAI names a parameter: ``messages[0].content``."""
    out = ""
    for part in loc or ():
        if part == "body":
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def rewrite(status: int, body: bytes, method: str, path: str) -> tuple[int, dict[str, Any]]:
    """The status and OpenAI-shaped body for an error response of the rest of the API."""
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {"detail": body.decode("utf-8", "replace").strip()}
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return status, data  # already in shape
    detail = data.get("detail") if isinstance(data, dict) else None
    message = detail if isinstance(detail, str) and detail else SERVER_ERROR if status >= 500 else str(detail or "")
    param = code = None
    if status == 422:  # request validation: OpenAI answers 400
        status = 400
        first = (data.get("errors") or [{}])[0]
        param = None if first.get("type") == "json_invalid" else param_of(first.get("loc"))
    elif status in (401, 403):  # OpenAI: a missing or wrong key is 401 invalid_api_key
        status, code = 401, "invalid_api_key"
    elif status in (404, 405) and message in ("Not Found", "Method Not Allowed", ""):
        message = f"Không có {method} {path} trên máy chủ này."
    elif status == 429:
        code = "rate_limit_exceeded"
    return status, error_body(message or f"Lỗi {status}.", error_type(status), param, code)


class OpenAIErrors:
    """ASGI middleware: error responses under ``/v1`` leave in OpenAI's shape (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}  # the start message of an error response, and its body so far
        started = False

        async def capture(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 400:
                    held.update(start=message, body=b"")
                    return
            elif message["type"] == "http.response.body" and held:
                held["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                status, body = rewrite(held["start"]["status"], held["body"], scope["method"], path)
                await _send_json(send, status, body, held["start"].get("headers", []))
                return
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except Exception:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope["method"], path)
            await _send_json(send, 500, error_body(SERVER_ERROR, "server_error"), [])


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: list[Any]) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    kept = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"content-type")]
    kept += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": kept})
    await send({"type": "http.response.body", "body": payload})

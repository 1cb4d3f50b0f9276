"""The web chat page and its static files (plain HTML/CSS/JS, no build step), served from ``bot/web``."""

from __future__ import annotations

import re
from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response

from bot.routes.deps import SettingsDep
from bot.settings import Settings

router = APIRouter()

MEDIA_TYPES = {
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
}
ASSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(css|js|svg)$")
# Offline page: nothing may load from elsewhere.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _read(name: str) -> str:
    return resources.files("bot.web").joinpath(name).read_text(encoding="utf-8")


def answer_timeout(settings: Settings) -> int:
    """Seconds the page waits for a byte of the answer: past the language model's timeouts (a
    follow-up's rewrite, then the answer) with room to spare, so the extractive fallback the
    server hands over when the model gives up always reaches the officer. The stream's
    keep-alive comments reset the wait while the model thinks."""
    return int(2 * settings.llm_timeout + 30)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(settings: SettingsDep) -> HTMLResponse:
    page = _read("index.html").replace("{{ANSWER_TIMEOUT}}", str(answer_timeout(settings)))
    return HTMLResponse(page, headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP})


@router.api_route("/static/{name}", methods=["GET", "HEAD"], include_in_schema=False)
def asset(name: str) -> Response:
    match = ASSET_NAME.match(name)
    if match is None:
        raise HTTPException(status_code=404, detail=f"Không có tệp '{name}'.")
    try:
        body = _read(name)
    except (FileNotFoundError, IsADirectoryError):
        raise HTTPException(status_code=404, detail=f"Không có tệp '{name}'.") from None
    return Response(body, media_type=MEDIA_TYPES[match.group(1)], headers={"Cache-Control": "no-cache"})

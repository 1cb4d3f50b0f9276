"""The web chat page and its static files, served from ``bot/web``."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()


def _page(name: str) -> str:
    return resources.files("bot.web").joinpath(name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> HTMLResponse:
    return HTMLResponse(_page("index.html"))

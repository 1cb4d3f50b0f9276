"""The API's own description: ``/openapi.json``, ``/docs``, ``/redoc``, behind the read key.

FastAPI serves these unguarded by default; the app is built without them and this router
serves them as read routes (``CHIDAO_READ_KEY``, when set, is needed), or not at all when
``CHIDAO_API_DOCS=false``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from bot.routes.auth import ReaderDep
from bot.settings import Settings

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
def openapi(request: Request, _: ReaderDep) -> dict[str, Any]:
    return request.app.openapi()  # type: ignore[no-any-return]


@router.get("/docs")
def swagger(request: Request, _: ReaderDep) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} – API")


@router.get("/redoc")
def redoc(request: Request, _: ReaderDep) -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title=f"{request.app.title} – API")


def install(app: FastAPI, settings: Settings) -> None:
    if settings.api_docs:
        app.include_router(router)

"""The FastAPI application: ``create_app(service, settings)`` wires routes to a built service."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import ratelimit
from bot.channels.hub import build_channels
from bot.routes import agencies, core, docs, documents, errors, feedback, limits, openai_compat, status, web
from bot.routes.openai_errors import OpenAIErrors
from bot.routes.webhooks import router as webhooks_router
from bot.service import ChatService
from bot.settings import Settings

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5


def create_app(service: ChatService, settings: Settings | None = None) -> FastAPI:
    """An app serving ``service``. Startup warms the models, so /healthz answers only when ready."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.warm_up, False)
        log.info("chidao ready: %d documents", len(service.documents()))
        stop = threading.Event()
        poller = threading.Thread(target=keep_fresh, args=(service, stop), name="chidao-refresh", daemon=True)
        poller.start()
        yield
        service.stop_warming()
        stop.set()
        app.state.channels.close()

    # /docs, /redoc and /openapi.json come from bot.routes.docs, behind the read key
    app = FastAPI(title="chidao", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service
    app.state.settings = settings or Settings()
    app.state.channels = build_channels(app.state.settings, service)
    errors.install(app)
    limits.install(app, app.state.settings)  # body size: before auth and parsing
    ratelimit.install(app, app.state.settings)  # outermost: refused before anything is read
    docs.install(app, app.state.settings)
    app.include_router(core.router)
    app.include_router(documents.router)
    app.include_router(agencies.router)
    app.include_router(feedback.router)
    app.include_router(web.router)
    app.include_router(openai_compat.router)
    app.include_router(webhooks_router)
    app.include_router(status.router)
    app.add_middleware(WorkerHeader)
    app.add_middleware(OpenAIErrors)
    if origins := app.state.settings.cors_origin_list:  # CHIDAO_CORS_ORIGINS; outermost, so errors carry it
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                           allow_headers=["*"], max_age=600)
    return app


def keep_fresh(service: ChatService, stop: threading.Event, every: float = REFRESH_SECONDS) -> None:
    """Take in what other processes ingest or remove, off the request path (each worker, each node)."""
    while not stop.wait(every):
        try:
            service.refresh()
        except Exception:  # a store hiccup (a Chroma server restarting): try again next time
            log.warning("refreshing the index failed", exc_info=True)


def app_from_environment() -> FastAPI:
    """The app of ``chidao serve --workers N``: each worker process builds its own service from the
    environment (``CHIDAO_DATA_DIR``, ``CHIDAO_CHROMA_URL``, ``.env``)."""
    from bot.wiring import build_service

    settings = Settings()
    return create_app(build_service(settings), settings)


class WorkerHeader:
    """Names the serving process in ``X-Chidao-Worker`` (which of ``--workers N`` answered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (b"x-chidao-worker", str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, tagged)

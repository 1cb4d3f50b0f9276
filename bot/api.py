"""The FastAPI application: ``create_app(service, settings)`` wires routes to a built service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from bot.channels.hub import build_channels
from bot.routes import agencies, core, documents, errors, feedback, openai_compat, status, web
from bot.routes.openai_errors import OpenAIErrors
from bot.routes.webhooks import router as webhooks_router
from bot.service import ChatService
from bot.settings import Settings

log = logging.getLogger(__name__)


def create_app(service: ChatService, settings: Settings | None = None) -> FastAPI:
    """An app serving ``service``. Startup warms the models, so /healthz answers only when ready."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.warm_up)
        log.info("chidao ready: %d documents", len(service.documents()))
        yield
        app.state.channels.close()

    app = FastAPI(title="chidao", version="0.1.0", lifespan=lifespan)
    app.state.service = service
    app.state.settings = settings or Settings()
    app.state.channels = build_channels(app.state.settings, service)
    errors.install(app)
    app.include_router(core.router)
    app.include_router(documents.router)
    app.include_router(agencies.router)
    app.include_router(feedback.router)
    app.include_router(web.router)
    app.include_router(openai_compat.router)
    app.include_router(webhooks_router)
    app.include_router(status.router)
    app.add_middleware(OpenAIErrors)
    if origins := app.state.settings.cors_origin_list:  # CHIDAO_CORS_ORIGINS; outermost, so errors carry it
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                           allow_headers=["*"], max_age=600)
    return app

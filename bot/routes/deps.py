"""Shared FastAPI dependencies: the service and the settings of the running app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bot.service import ChatService
from bot.settings import Settings


def get_service(request: Request) -> ChatService:
    return request.app.state.service  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


ServiceDep = Annotated[ChatService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]

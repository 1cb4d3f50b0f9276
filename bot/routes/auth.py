"""API keys: the admin key guards upload and delete; an optional read key guards reading.

A key is sent as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``. No key: 401;
a wrong key: 403.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from bot.routes.deps import SettingsDep


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def _matches(key: str, expected: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(key.encode(), (expected or "").encode())


def require_admin(request: Request, settings: SettingsDep) -> None:
    if not settings.admin_key:
        raise HTTPException(
            403, "Máy chủ chưa cấu hình khóa quản trị (CHIDAO_ADMIN_KEY): không thể nạp hay xóa văn bản."
        )
    key = presented_key(request)
    if key is None:
        raise HTTPException(401, "Cần khóa quản trị (Authorization: Bearer KHÓA hoặc X-API-Key: KHÓA).",
                            headers={"WWW-Authenticate": "Bearer"})
    if not _matches(key, settings.admin_key):
        raise HTTPException(403, "Khóa quản trị không đúng.")


def require_reader(request: Request, settings: SettingsDep) -> None:
    if not settings.read_key:
        return
    key = presented_key(request)
    if key is None:
        raise HTTPException(401, "Cần khóa đọc (Authorization: Bearer KHÓA hoặc X-API-Key: KHÓA).",
                            headers={"WWW-Authenticate": "Bearer"})
    if not (_matches(key, settings.read_key) or _matches(key, settings.admin_key)):
        raise HTTPException(403, "Khóa đọc không đúng.")


AdminDep = Annotated[None, Depends(require_admin)]
ReaderDep = Annotated[None, Depends(require_reader)]

"""Document management: list, read one (metadata, section tree, text, passages)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from bot.routes.deps import ServiceDep

router = APIRouter()


@router.get("/api/documents")
async def documents(service: ServiceDep) -> list[dict[str, Any]]:
    return [d.summary() for d in await run_in_threadpool(service.documents)]


@router.get("/api/documents/{doc_id}")
async def document(doc_id: str, service: ServiceDep) -> dict[str, Any]:
    """Metadata, the section tree, the full text, and the passages with their sections."""
    detail = await run_in_threadpool(service.document_detail, doc_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"Không có văn bản '{doc_id}'.")
    return detail

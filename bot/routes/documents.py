"""Document management: list, read, upload (multipart, one or many files), delete."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from bot.routes.auth import AdminDep, ReaderDep
from bot.routes.deps import ServiceDep, SettingsDep
from bot.routes.limits import MAX_UPLOAD_FILES
from bot.routes.uploads import Upload, read_uploads
from bot.service import ChatService
from ingest.labels import clean_label

router = APIRouter()

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def safe_name(filename: str | None) -> str:
    """The uploaded name reduced to a plain file name; it is only ever a label, never a path."""
    name = clean_label((filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).strip(" ._")
    return name[:150] or "tai-lieu"


@router.get("/api/documents")
async def documents(service: ServiceDep, _: ReaderDep) -> list[dict[str, Any]]:
    return [d.summary() for d in await run_in_threadpool(service.documents)]


@router.get("/api/documents/{doc_id}")
async def document(doc_id: str, service: ServiceDep, _: ReaderDep) -> dict[str, Any]:
    """Metadata, the section tree, the full text, and the passages with their sections."""
    detail = await run_in_threadpool(service.document_detail, doc_id)
    if detail is None:
        raise HTTPException(status_code=404, detail=f"Không có văn bản '{doc_id}'.")
    return detail


@router.post("/api/documents")
async def upload(request: Request, service: ServiceDep, settings: SettingsDep, _: AdminDep) -> JSONResponse:
    """Ingest uploaded files. Each file is reported; a failed one changes nothing. A file over
    the limit stops the reading at once (413) and nothing of the request is ingested."""
    limit = settings.upload_limit_bytes
    async with read_uploads(request, limit, settings.upload_limit_mb, MAX_UPLOAD_FILES) as uploads:
        if not uploads:
            raise HTTPException(422, "Không có tệp nào trong yêu cầu (multipart/form-data, trường 'files').")
        results, codes = await _ingest_all(uploads, service)
    status = 200 if 200 in codes else codes[0]
    body: dict[str, Any] = {"results": results}
    if status != 200:
        body["detail"] = "; ".join(f"{r['source']}: {r['reason']}" for r in results)
    return JSONResponse(body, status_code=status)


async def _ingest_all(uploads: list[Upload], service: ChatService) -> tuple[list[dict[str, Any]], list[int]]:
    results: list[dict[str, Any]] = []
    codes: list[int] = []
    for item in uploads:
        data = await run_in_threadpool(item.read)
        result = await run_in_threadpool(service.ingest, data, safe_name(item.filename))
        results.append({"source": result.source, "status": result.status, "document_id": result.document_id,
                        "chunks": result.chunks, "reason": result.reason})
        codes.append(200 if result.ok else 503 if result.server_fault else 422)
    return results, codes


@router.delete("/api/documents/{doc_id}")
async def delete(doc_id: str, service: ServiceDep, _: AdminDep) -> dict[str, Any]:
    removed = await run_in_threadpool(service.remove, doc_id)
    if removed is None:
        raise HTTPException(status_code=404, detail=f"Không có văn bản '{doc_id}'.")
    return {"deleted": removed}

"""An OpenAI-compatible face: ``POST /v1/chat/completions``, ``GET /v1/models[/{id}]``.

Chat front ends and bridges that speak OpenAI's wire format plug in unchanged.
The last user message is the question, earlier user/assistant messages are the
history (client system messages are ignored: chidao's own rules apply). The
reply's text ends with a numbered source list; the citations also travel as
data (see :mod:`bot.routes.openai_format`). A front end's background task prompt
(a chat title, tags, follow-up suggestions: :mod:`bot.client_tasks`) is answered
briefly without searching. Errors come in OpenAI's shape (:mod:`bot.routes.openai_errors`).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot import client_tasks
from bot.citations import Answer
from bot.routes.auth import ReaderDep
from bot.routes.core import SearchFilters, parsed_filters
from bot.routes.deps import ServiceDep, SettingsDep
from bot.routes.openai_errors import error_response
from bot.routes.openai_format import Completion, answer_fields, no_fields
from bot.routes.streaming import keep_alive
from bot.routes.unicode_checks import lone_surrogate_path
from bot.service import Turn

router = APIRouter(prefix="/v1")

MODEL_ID = "chidao"
MAX_QUESTION = 2000
MAX_MESSAGE = 20_000  # characters of one message, as for a turn of /api/chat's history
_CREATED = int(time.time())


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ChatMessage:
        if len(self.text()) > MAX_MESSAGE:
            raise ValueError(f"tin nhắn quá dài (tối đa {MAX_MESSAGE} ký tự)")
        return self

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "\n".join(str(p.get("text", "")) for p in parts if p.get("type") in ("text", "input_text"))


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens … are accepted and ignored

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    filters: SearchFilters | None = None  # chidao's extra field: the same filters as /api/chat


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the user/assistant turns before it."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    if last < 0:
        return "", []
    history = [Turn(m.role, m.text()) for m in messages[:last] if m.role in ("user", "assistant") and m.text()]
    return messages[last].text().strip(), history


def model_card(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": _CREATED, "owned_by": "chidao"}


@router.get("/models")
def models(_: ReaderDep) -> dict[str, Any]:
    return {"object": "list", "data": [model_card(MODEL_ID)]}


@router.get("/models/{model_id}", response_model=None)
def model(model_id: str, _: ReaderDep) -> dict[str, Any] | JSONResponse:
    if model_id != MODEL_ID:
        return unknown_model(model_id)
    return model_card(MODEL_ID)


def unknown_model(model_id: str) -> JSONResponse:
    return error_response(404, f"Không có mô hình '{model_id}'. Máy chủ này có một mô hình: '{MODEL_ID}'.",
                          param="model", code="model_not_found")


def refusal(body: CompletionRequest) -> JSONResponse | None:
    """Why the request cannot be answered (400/404 in OpenAI's shape), or None."""
    bad = lone_surrogate_path(body.model_dump(exclude_none=True))
    if bad is not None:
        return error_response(400, f"'{bad}': chứa ký tự Unicode không hợp lệ (nửa cặp UTF-16 đứng một mình).",
                              param=bad, code="invalid_value")
    if body.model not in (None, MODEL_ID):
        return unknown_model(body.model)
    return None


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: CompletionRequest, service: ServiceDep, settings: SettingsDep, _: ReaderDep
) -> dict[str, Any] | StreamingResponse | JSONResponse:
    if (refused := refusal(body)) is not None:
        return refused
    question, history = split_messages(body.messages)
    if not question:
        return error_response(400, "Thiếu câu hỏi: cần ít nhất một tin nhắn 'user' có nội dung.", "messages")
    task = client_tasks.recognise(question)
    if task is None and len(question) > MAX_QUESTION:
        return error_response(400, f"Câu hỏi quá dài (tối đa {MAX_QUESTION} ký tự).", "messages")
    completion = Completion(
        model=MODEL_ID, count=service.retriever.embedder.count_tokens,
        prompt=[t.content for t in history] + [question], id=f"chatcmpl-{uuid.uuid4().hex}",
        fields=no_fields if task else answer_fields,
    )
    if body.stream:
        events = (iter([Answer(task.reply(), True, mode="task")]) if task
                  else service.chat_stream(question, history, parsed_filters(body.filters)))
        usage = bool((body.stream_options or {}).get("include_usage"))
        return StreamingResponse(
            keep_alive(completion.stream(events, usage), settings.sse_keepalive),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if task:
        answer = Answer(task.reply(), True, mode="task")
    else:
        answer = await run_in_threadpool(service.chat, question, history, parsed_filters(body.filters))
    return await run_in_threadpool(completion.whole, answer)

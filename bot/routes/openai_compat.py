"""An OpenAI-compatible face: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Chat front ends and bridges that speak OpenAI's wire format plug in unchanged.
The last user message is the question, earlier user/assistant messages are the
history (client system messages are ignored: chidao's own rules apply). The
reply's text ends with a numbered source list; the citations also travel as
data: ``citations`` (with ``answered``, ``mode``, ``note``) on the completion,
or on the final chunk of a stream.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

import prompts
from bot.citations import Answer, Citation, Delta
from bot.routes.auth import ReaderDep
from bot.routes.core import SearchFilters, parsed_filters
from bot.routes.deps import ServiceDep
from bot.service import Turn

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1")

MODEL_ID = "chidao"
MAX_QUESTION = 2000
_CREATED = int(time.time())


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

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


def _error(status: int, message: str, param: str | None = "messages") -> JSONResponse:
    """OpenAI's error shape (``error.message``), plus the ``detail`` the rest of the API uses."""
    return JSONResponse(
        status_code=status,
        content={"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None},
                 "detail": message},
    )


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the user/assistant turns before it."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    if last < 0:
        return "", []
    history = [Turn(m.role, m.text()) for m in messages[:last] if m.role in ("user", "assistant") and m.text()]
    return messages[last].text().strip(), history


def source_line(c: Citation) -> str:
    doc = c.passage.document
    return prompts.load("source_item.txt").format(
        n=c.n, label=c.label, title=doc.title or doc.source, section=c.passage.chunk.section or "—"
    )


def message_text(answer: Answer) -> str:
    """The answer as one chat message: text, the fallback note if any, then the numbered sources."""
    parts = [answer.answer]
    if answer.note:
        parts.append(f"_{answer.note}_")
    if answer.citations:
        lines = [source_line(c) for c in sorted(answer.citations, key=lambda c: c.n)]
        parts.append(prompts.load("sources_heading.txt") + "\n" + "\n".join(lines))
    return "\n\n".join(parts)


def answer_fields(answer: Answer) -> dict[str, Any]:
    """What the OpenAI format has no place for: citations, answered, mode, note."""
    data = answer.to_dict()
    return {k: data[k] for k in ("citations", "answered", "mode", "note") if k in data}


@router.get("/models")
def models(_: ReaderDep) -> dict[str, Any]:
    return {"object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": _CREATED, "owned_by": "chidao"}]}


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: CompletionRequest, service: ServiceDep, _: ReaderDep
) -> dict[str, Any] | StreamingResponse | JSONResponse:
    question, history = split_messages(body.messages)
    if not question:
        return _error(400, "Thiếu câu hỏi: cần ít nhất một tin nhắn 'user' có nội dung.")
    if len(question) > MAX_QUESTION:
        return _error(400, f"Câu hỏi quá dài (tối đa {MAX_QUESTION} ký tự).")
    model = body.model or MODEL_ID
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        usage = bool((body.stream_options or {}).get("include_usage"))
        return StreamingResponse(
            stream_chunks(service.chat_stream(question, history, parsed_filters(body.filters)), completion_id, model,
                          usage),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = await run_in_threadpool(service.chat, question, history, parsed_filters(body.filters))
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": message_text(answer)},
            "finish_reason": "stop",
            "logprobs": None,
        }],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **answer_fields(answer),
    }


def _data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def stream_chunks(
    events: Iterator[Delta | Answer], completion_id: str, model: str, include_usage: bool = False
) -> Iterator[str]:
    """``chat.completion.chunk`` events: the role, the text as it grows, the source list, a final
    chunk with ``finish_reason`` and the citations, then ``data: [DONE]``."""
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return _data({
            "id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        })

    yield chunk({"role": "assistant", "content": ""})
    sent = ""
    try:
        final: Answer | None = None
        for event in events:
            if isinstance(event, Delta):
                sent += event.text
                yield chunk({"content": event.text})
            else:
                final = event
        if final is None:
            raise RuntimeError("the answer stream ended without an answer")
        full = message_text(final)
        # Text already streamed that the final answer does not continue (a model that failed
        # midway) is superseded: the final answer follows in full.
        rest = full[len(sent):] if full.startswith(sent) else "\n\n---\n\n" + full
        if rest:
            yield chunk({"content": rest})
        yield chunk({}, "stop", **answer_fields(final))
        if include_usage:
            yield _data({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}})
    except Exception:  # the stream has started: report in-band, as OpenAI does
        log.exception("streaming completion failed")
        yield _data({"error": {"message": "Lỗi máy chủ khi tạo câu trả lời. Vui lòng thử lại.",
                               "type": "server_error", "param": None, "code": None}})
    yield "data: [DONE]\n\n"

"""OpenAI's chat completion objects, built from chidao's answers.

A completion's text is the answer, the fallback note if any, then the numbered sources; what
the OpenAI format has no place for (``citations``, ``answered``, ``mode``, ``note``) travels as
extra fields on the completion, or on the final chunk of a stream. ``usage`` counts tokens with
the embedder's tokenizer: the question and history the answer was built from, and the reply.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import prompts
from bot.citations import Answer, Citation, Delta
from bot.routes.openai_errors import SERVER_ERROR, error_body

log = logging.getLogger(__name__)

TokenCounter = Callable[[str], int]


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


def no_fields(answer: Answer) -> dict[str, Any]:
    return {}


def data_line(payload: dict[str, Any]) -> str:
    """One ``data:`` event. Text no encoder can write goes out \\u-escaped rather than failing."""
    text = json.dumps(payload, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(payload)
    return f"data: {text}\n\n"


@dataclass
class Completion:
    """One completion being answered: its id, model, and how its tokens are counted."""

    model: str
    count: TokenCounter
    prompt: list[str]  # the texts the answer is built from: history, then the question
    fields: Callable[[Answer], dict[str, Any]] = answer_fields
    id: str = ""
    created: int = field(default_factory=lambda: int(time.time()))

    def usage(self, content: str) -> dict[str, int]:
        prompt = sum(self.count(t) for t in self.prompt if t)
        reply = self.count(content) if content else 0
        return {"prompt_tokens": prompt, "completion_tokens": reply, "total_tokens": prompt + reply}

    def whole(self, answer: Answer) -> dict[str, Any]:
        """The ``chat.completion`` object for a finished answer."""
        content = message_text(answer)
        return {
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": self.usage(content),
            **self.fields(answer),
        }

    def chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return data_line({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        })

    def stream(self, events: Iterator[Delta | Answer], include_usage: bool = False) -> Iterator[str]:
        """``chat.completion.chunk`` events: the role, the text as it grows, the source list, a final
        chunk with ``finish_reason`` and the citations, the usage if asked, then ``data: [DONE]``.
        A failure midway ends the stream with an error event and ``[DONE]``, never a silent cut."""
        try:
            yield self.chunk({"role": "assistant", "content": ""})
            sent = ""
            final: Answer | None = None
            for event in events:
                if isinstance(event, Delta):
                    sent += event.text
                    yield self.chunk({"content": event.text})
                else:
                    final = event
            if final is None:
                raise RuntimeError("the answer stream ended without an answer")
            full = message_text(final)
            # Text already streamed that the final answer does not continue (a model that failed
            # midway) is superseded: the final answer follows in full.
            rest = full[len(sent):] if full.startswith(sent) else "\n\n---\n\n" + full
            if rest:
                yield self.chunk({"content": rest})
            yield self.chunk({}, "stop", **self.fields(final))
            if include_usage:
                yield data_line({"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                 "model": self.model, "choices": [], "usage": self.usage(full)})
        except Exception:  # the stream has started: report in-band, as OpenAI does
            log.exception("streaming completion failed")
            yield data_line(error_body(SERVER_ERROR, "server_error"))
        yield "data: [DONE]\n\n"

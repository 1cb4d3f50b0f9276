"""A webhook body, read and decoded defensively: size capped while reading, nesting checked
before the JSON parser sees it, so a hostile body gets a 4xx and never a 5xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from itertools import accumulate
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

MAX_BODY = 512 * 1024  # bytes; a Telegram update or a Zalo event is a few kilobytes
MAX_DEPTH = 32  # nesting of arrays and objects; real updates stay under 10

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class BadBody(Exception):
    """The body cannot be taken; ``status`` is the HTTP status to answer with, the message is Vietnamese."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_capped(chunks: AsyncIterator[bytes], limit: int = MAX_BODY) -> bytes:
    """The whole body, refusing (413) as soon as it grows past ``limit`` bytes."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise BadBody(413, f"Nội dung quá lớn (tối đa {limit // 1024} KB).")
    return bytes(body)


def nesting(raw: bytes) -> int:
    """The deepest nesting of ``[`` and ``{`` in ``raw``, brackets inside strings not counted."""
    brackets = _STRING.sub(b'""', raw).translate(None, _NOT_BRACKET)
    if not brackets:
        return 0
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets))


class WireModel(BaseModel):
    """Base of the models a provider's JSON is validated with: unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


_PROBLEMS = {"int_type": "phải là số nguyên", "string_type": "phải là chuỗi", "bool_type": "phải là true/false",
             "missing": "bị thiếu", "model_type": "phải là một đối tượng", "list_type": "phải là một danh sách"}


def invalid_field(exc: ValidationError) -> str:
    """The first problem of ``exc`` in Vietnamese: ``trường message.chat.id phải là số nguyên``."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "(gốc)"
    return f"trường {where} {_PROBLEMS.get(error['type'], 'không hợp lệ')}"


def json_object(raw: bytes, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """``raw`` decoded as one JSON object, or :class:`BadBody` (400) saying why not."""
    if nesting(raw) > max_depth:
        raise BadBody(400, f"Nội dung JSON lồng nhau quá sâu (tối đa {max_depth} cấp).")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadBody(400, "Nội dung không phải JSON hợp lệ.") from None
    if not isinstance(body, dict):
        raise BadBody(400, "Nội dung phải là một đối tượng JSON.")
    return body

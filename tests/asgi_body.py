"""Drive an ASGI app with a request body sent in chunks, counting how much of it the app pulled.

The structural check for the body limits: an app that stops reading at its limit pulls at
most the limit plus one chunk, whatever the client offers.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

CHUNK = 64 * 1024


@dataclass
class Offered:
    """``total`` bytes offered in ``CHUNK``-sized messages: ``head``, then ``filler`` repeated, then ``tail``."""

    total: int
    head: bytes = b""
    tail: bytes = b""
    filler: bytes = b"x"
    pulled: int = 0
    messages: list[bytes] = field(default_factory=list)

    @classmethod
    def json(cls, value: Any) -> Offered:
        data = json.dumps(value, ensure_ascii=False).encode()
        return cls(len(data), head=data)

    def chunks(self) -> Any:
        middle = self.total - len(self.head) - len(self.tail)
        block = (self.filler * (CHUNK // len(self.filler) + 1))[:CHUNK]
        yield self.head
        sent = 0
        while sent < middle:
            piece = block[: min(CHUNK, middle - sent)]
            sent += len(piece)
            yield piece
        yield self.tail


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(app: Any, method: str, path: str, offered: Offered, headers: dict[str, str] | None = None,
         client: str = "127.0.0.1") -> Reply:
    """One request through ``app`` (no lifespan), the body pulled only as the app asks for it."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()],
        "client": (client, 50000), "server": ("127.0.0.1", 80), "state": {},
    }
    pieces = offered.chunks()
    done = False
    status: list[int] = []
    out_headers: dict[str, str] = {}
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal done
        if done:
            await asyncio.sleep(3600)  # the client is still there; the app must not wait on it
        piece = next(pieces, None)
        if piece is None:
            done = True
            return {"type": "http.request", "body": b"", "more_body": False}
        offered.pulled += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
            out_headers.update({k.decode(): v.decode() for k, v in message.get("headers", [])})
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    async def main() -> None:
        await asyncio.wait_for(app(scope, receive, send), timeout=120)

    asyncio.run(main())
    return Reply(status[0], out_headers, bytes(body))

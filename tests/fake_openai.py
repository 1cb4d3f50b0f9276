"""A fake OpenAI-compatible server on loopback, for tests: scripted chat completions.

``FakeOpenAI.script`` is a function from the request body (JSON) to a :class:`Reply`;
the server answers in OpenAI's wire format, streamed (``text/event-stream`` chunks,
then ``data: [DONE]``) when the request asks for ``stream``, JSON otherwise. Every
request body is kept in ``requests`` so tests can see exactly what the model got.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.loopback import LoopbackHTTP


@dataclass
class Reply:
    text: str = ""
    chunks: list[str] | None = None  # the pieces a stream sends (default: the text in 4-character pieces)
    status: int = 200
    delay: float = 0.0  # seconds before answering (a slow or hung model)
    # Streams wait on this after the first ``gate_after`` chunks; a JSON reply waits on it before answering.
    gate: threading.Event | None = None
    gate_after: int = 1
    finished: threading.Event = field(default_factory=threading.Event)  # set once the reply is fully sent


def text_chunks(text: str, size: int = 4) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def system_text(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "system")


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")


def passage_blocks(body: dict[str, Any]) -> list[str]:
    """The delimited passages of an answer request, in order (the text between the tags)."""
    user = user_text(body)
    tag = re.search(r"<(doan-[0-9a-f]+) so=", user)
    if not tag:
        return []
    return re.findall(rf"<{tag.group(1)} so=\"\d+\">\n(.*?)\n</{tag.group(1)}>", user, re.S)


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: Callable[[dict[str, Any]], Reply] = lambda body: Reply("Được [1].")
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # the Authorization header of each request
        self.http = LoopbackHTTP(self._handler())
        self.port = self.http.port
        self.base_url = f"{self.http.url}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.stop()

    def reset(self, script: Callable[[dict[str, Any]], Reply]) -> None:
        self.script = script
        self.requests.clear()
        self.authorizations.clear()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": "not found"}})
                    return
                fake.requests.append(body)
                fake.authorizations.append(self.headers.get("Authorization"))
                reply = fake.script(body)
                try:
                    if reply.delay:
                        time.sleep(reply.delay)
                    if reply.status != 200:
                        self._json(reply.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                    elif body.get("stream"):
                        self._stream(body, reply)
                    else:
                        if reply.gate is not None:
                            reply.gate.wait(timeout=20)
                        self._json(200, completion(body, reply.text))
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                    pass
                finally:
                    reply.finished.set()

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = reply.chunks if reply.chunks is not None else text_chunks(reply.text)
                self._event(chunk(body, {"role": "assistant", "content": ""}))
                for i, piece in enumerate(pieces):
                    if reply.gate is not None and i == reply.gate_after:
                        reply.gate.wait(timeout=20)
                    self._event(chunk(body, {"content": piece}))
                self._event(chunk(body, {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()

        return Handler


def completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }

"""Fake Telegram Bot API, Zalo OA API and Zalo Bot API: small HTTP servers on loopback speaking their wire formats.

They record every request (path, headers, JSON or form body, arrival time) and can be scripted
to answer the next calls of a method with an error status, or only after a delay (a timeout
for a client with a shorter one). The fake Zalo also runs Zalo's OAuth token endpoint: access
tokens it issued are accepted until expired, and each refresh token works once.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.conftest import LiveServer
from tests.loopback import LoopbackHTTP


@dataclass(frozen=True)
class Call:
    method: str  # Telegram method, or the Zalo path's last part ("cs")
    path: str
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() on arrival


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    delay: float = 0.0


@dataclass
class FakeApi:
    """Base: records calls, plays scripted replies, else the subclass's default reply."""

    calls: list[Call] = field(default_factory=list)
    _scripts: dict[str, deque[Reply]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    body: Any = dict(parse_qsl(raw.decode()))
                else:
                    body = json.loads(raw) if raw else None
                call = Call(self.path.rsplit("/", 1)[-1], self.path, {k.lower(): v for k, v in self.headers.items()},
                            body, time.monotonic())
                reply = fake._record(call)
                if reply.delay:
                    time.sleep(reply.delay)
                data = json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.http = LoopbackHTTP(Handler)
        self.url = self.http.url

    def __enter__(self) -> FakeApi:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.stop()

    def script(self, method: str, *replies: Reply) -> None:
        """The next calls of ``method`` get these replies, in order; later ones the default."""
        with self._lock:
            self._scripts.setdefault(method, deque()).extend(replies)

    def _record(self, call: Call) -> Reply:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
            script = self._scripts.get(call.method)
            scripted = script.popleft() if script else None
        return scripted or self.default(call)

    def default(self, call: Call) -> Reply:
        raise NotImplementedError

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int, timeout: float = 30.0) -> list[Call]:
        """The first ``count`` calls of ``method``, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} {method} calls after {timeout}s, expected {count}")
                self._changed.wait(left)


class FakeTelegram(FakeApi):
    """``POST /bot{token}/METHOD``; getUpdates serves queued updates from the offset on."""

    def __init__(self, username: str = "chidao_bot") -> None:
        super().__init__()
        self.username = username
        self.updates: list[dict[str, Any]] = []
        self._message_id = 1000

    def push(self, *updates: dict[str, Any]) -> None:
        with self._lock:
            self.updates.extend(updates)

    def default(self, call: Call) -> Reply:
        body = call.body or {}
        if call.method == "sendMessage":
            with self._lock:
                self._message_id += 1
                mid = self._message_id
            return Reply(200, {"ok": True, "result": {
                "message_id": mid, "date": int(time.time()), "chat": {"id": body.get("chat_id"), "type": "private"},
                "text": body.get("text")}})
        if call.method == "getUpdates":
            offset = body.get("offset")
            with self._lock:
                if offset is not None:  # as Telegram: an offset confirms every earlier update
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                pending = list(self.updates)
            return Reply(200, {"ok": True, "result": pending})
        if call.method == "getMe":
            bot_id = int(self.token_of(call).split(":")[0])
            return Reply(200, {"ok": True, "result": {"id": bot_id, "is_bot": True, "first_name": "chidao",
                                                      "username": self.username}})
        if call.method in {"sendChatAction", "setMyCommands"}:
            return Reply(200, {"ok": True, "result": True})
        if call.method == "getWebhookInfo":
            return Reply(200, {"ok": True, "result": {"url": "", "pending_update_count": 0}})
        if call.method in {"setWebhook", "deleteWebhook"}:
            return Reply(200, {"ok": True, "result": True, "description": "Webhook was set"})
        return Reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def token_of(self, call: Call) -> str:
        return call.path.split("/")[1].removeprefix("bot")


class FakeZalo(FakeApi):
    """``POST /v3.0/oa/message/cs`` with the ``access_token`` header, and Zalo's OAuth refresh
    ``POST /v4/oa/access_token`` (form: refresh_token, app_id, grant_type; header secret_key)."""

    def __init__(self, access_token: str = "zalo-access-token-xyz", refresh_token: str | None = None,
                 app_id: str = "", app_secret: str = "", expires_in: int = 90000) -> None:
        super().__init__()
        self.valid = {access_token}
        self.refresh_tokens = {refresh_token} if refresh_token else set()
        self.app_id, self.app_secret, self.expires_in = app_id, app_secret, expires_in
        self.issued: list[tuple[str, str]] = []

    def expire(self, token: str) -> None:
        with self._lock:
            self.valid.discard(token)

    def default(self, call: Call) -> Reply:
        if call.path == "/v4/oa/access_token":
            return self._refresh(call)
        if call.path != "/v3.0/oa/message/cs":
            return Reply(404, {"error": 404, "message": "not found"})
        with self._lock:
            valid = call.headers.get("access_token") in self.valid
        if not valid:
            return Reply(200, {"error": -216, "message": "Access token is invalid"})
        recipient = (call.body or {}).get("recipient") or {}
        return Reply(200, {"error": 0, "message": "Success",
                           "data": {"message_id": f"m{len(self.calls)}", "user_id": recipient.get("user_id", "")}})

    def _refresh(self, call: Call) -> Reply:
        form = call.body or {}
        if call.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return Reply(200, {"error": -14002, "error_name": "Invalid app", "error_description": "App secret wrong"})
        with self._lock:
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in self.refresh_tokens:
                return Reply(200, {"error": -14020, "error_name": "Invalid refresh token",
                                   "error_description": "Refresh token is invalid or has been used"})
            self.refresh_tokens.discard(form["refresh_token"])  # single-use
            pair = (f"access-{len(self.issued) + 1}", f"refresh-{len(self.issued) + 1}")
            self.issued.append(pair)
            self.valid.add(pair[0])
            self.refresh_tokens.add(pair[1])
        return Reply(200, {"access_token": pair[0], "refresh_token": pair[1], "expires_in": str(self.expires_in)})


class FakeZaloBot(FakeApi):
    """The Zalo Bot API as its docs describe it (https://bot.zaloplatforms.com/docs/): ``POST /bot{token}/METHOD``
    with JSON; ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …}``. String ids;
    sendMessage takes 1–2000 characters; getUpdates hands out one queued update per call (408 when none);
    getWebhookInfo / setWebhook / deleteWebhook keep one URL."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.updates: deque[dict[str, Any]] = deque()
        self.webhook = ""
        self._message_id = 0

    def push(self, *updates: dict[str, Any]) -> None:
        with self._lock:
            self.updates.extend(updates)

    def default(self, call: Call) -> Reply:
        if call.path.split("/")[1] != f"bot{self.token}":
            return zalo_bot_error(401, "Unauthorized")
        body = call.body or {}
        handler = {"sendMessage": self._send, "sendChatAction": self._action, "getUpdates": self._update,
                   "getMe": self._me, "setWebhook": self._set, "deleteWebhook": self._delete,
                   "getWebhookInfo": self._info}.get(call.method)
        return handler(body) if handler else zalo_bot_error(404, "Not found")

    def _send(self, body: dict[str, Any]) -> Reply:
        text = body.get("text")
        if not isinstance(body.get("chat_id"), str) or not isinstance(text, str) or not 1 <= len(text) <= 2000:
            return zalo_bot_error(400, "Bad request")
        with self._lock:
            self._message_id += 1
            mid = f"{self._message_id:020x}"
        return Reply(200, {"ok": True, "result": {"message_id": mid, "date": int(time.time() * 1000)}})

    def _action(self, body: dict[str, Any]) -> Reply:
        if not isinstance(body.get("chat_id"), str) or body.get("action") not in {"typing", "upload_photo"}:
            return zalo_bot_error(400, "Bad request")
        return Reply(200, {"ok": True})

    def _update(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            update = self.updates.popleft() if self.updates else None
        if update is None:
            return zalo_bot_error(408, "Request timeout")
        return Reply(200, {"ok": True, "result": update})

    def _me(self, body: dict[str, Any]) -> Reply:
        return Reply(200, {"ok": True, "result": {"id": self.token.split(":")[0], "account_name": "bot.ChiDao",
                                                  "account_type": "BASIC", "can_join_groups": False}})

    def _set(self, body: dict[str, Any]) -> Reply:
        secret = body.get("secret_token")
        if not isinstance(body.get("url"), str) or not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            return zalo_bot_error(400, "Bad request")
        with self._lock:
            self.webhook = body["url"]
        return self._info({})

    def _delete(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.webhook = ""
        return self._info({})

    def _info(self, body: dict[str, Any]) -> Reply:
        return Reply(200, {"ok": True, "result": {"url": self.webhook, "updated_at": int(time.time() * 1000)}})


def zalo_bot_error(code: int, description: str, status: int | None = None) -> Reply:
    """An error as the Zalo Bot API sends it: HTTP ``status`` (default: the code itself) and ``ok: false``."""
    return Reply(status or code, {"ok": False, "error_code": code, "description": description})


def zalo_error(code: int, message: str) -> Reply:
    return Reply(200, {"error": code, "message": message})


def telegram_error(status: int, description: str, retry_after: int | None = None, delay: float = 0.0) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return Reply(status, body, delay)


class ServiceProxy:
    """The real (seeded) service, seen through a test's lens: records each chat call, and can
    answer slowly, wait for a ``gate`` to open, or pad the answer (to force one longer than a message)."""

    def __init__(self, inner: Any, *, delay: float = 0.0, repeat: int = 1,
                 gate: threading.Event | None = None) -> None:
        self.inner = inner
        self.delay = delay
        self.repeat = repeat
        self.gate = gate
        self.chats: list[tuple[str, list[Any]]] = []
        self.answers: list[Any] = []
        self._changed = threading.Condition()

    def chat(self, message: str, history: Any = ()) -> Any:
        import dataclasses

        with self._changed:
            self.chats.append((message, list(history)))
            self._changed.notify_all()
        if self.gate is not None:
            self.gate.wait(60)
        time.sleep(self.delay)
        answer = self.inner.chat(message, history)
        if self.repeat > 1:
            answer = dataclasses.replace(answer, answer="\n\n".join([answer.answer] * self.repeat))
        self.answers.append(answer)
        return answer

    def wait_for_chats(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` questions reached the service."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.chats) >= count, timeout):
                raise AssertionError(f"{len(self.chats)} questions reached the service, expected {count}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def check_telegram_html(text: str) -> None:
    """Only <b>, <i>, <code>, properly nested; every other <, > and & escaped."""
    import re

    stack: list[str] = []
    for closing, tag in re.findall(r"<(/?)(\w+)>", text):
        assert tag in {"b", "i", "code"}, tag
        if closing:
            assert stack and stack.pop() == tag, text
        else:
            stack.append(tag)
    assert not stack, text
    bare = re.sub(r"</?(?:b|i|code)>", "", text)
    assert "<" not in bare and ">" not in bare, bare
    assert not re.search(r"&(?!(?:lt|gt|amp);)", bare), bare


def answer_text(answer: Any) -> str:
    """The answer's text as a channel shows it, markup removed."""
    from bot.channels.formatting import PLAIN, parse_markdown

    return PLAIN.render(parse_markdown(answer.answer))


def check_sources(text: str, answer: Any) -> None:
    """Under the answer, every citation as ``[n] type – title`` with its số hiệu and section."""
    assert answer.citations, "expected a cited answer"
    body, sources = text.split("Nguồn trích dẫn:")
    for c in answer.citations:
        doc, chunk = c.passage.document, c.passage.chunk
        assert f"[{c.n}]" in body
        head = " – ".join(p for p in (doc.doc_type, doc.title) if p) or doc.source
        entry = sources.split(f"[{c.n}] ", 1)[1]
        assert entry.startswith(head), (entry[:80], head)
        assert (f"Số hiệu: {doc.doc_number}" if doc.doc_number else f"Tệp: {doc.source}") in entry
        assert f"Mục: {chunk.section}" in entry


def check_cut_at_line_ends(parts: list[str], full: str) -> None:
    """The parts are ``full`` in order, each ending where a line of ``full`` ends."""
    pos = 0
    for part in parts:
        start = full.index(part.strip(), pos)
        assert not full[pos:start].strip(), full[pos:start]
        pos = start + len(part.strip())
        assert pos == len(full) or full[pos] == "\n", (part[-40:], full[pos:pos + 40])
    assert not full[pos:].strip()


@contextmanager
def serve_channels(service: Any, data_dir: Path, settings: dict[str, Any],
                   tune: Callable[[Any], None] | None = None) -> Iterator[LiveServer]:
    """The app over ``service`` with these settings on a real uvicorn server on loopback;
    ``tune`` gets the app's channels before the server starts."""
    from bot.api import create_app
    from bot.settings import Settings

    app = create_app(service, Settings(data_dir=data_dir, **settings))
    if tune:
        tune(app.state.channels)
    with LiveServer(app) as server:
        yield server


def queued(server: LiveServer, channel: str) -> int:
    import httpx

    return int(httpx.get(server.url + "/api/status", timeout=10).json()["channels"][channel]["queued"])


def wait_drained(server: LiveServer, channel: str, timeout: float = 60.0) -> None:
    """Until ``channel`` has no reply left to send (every queued message answered or given up)."""
    deadline = time.monotonic() + timeout
    while queued(server, channel):
        if time.monotonic() > deadline:
            raise AssertionError(f"{channel}: replies still queued after {timeout}s")
        time.sleep(0.05)

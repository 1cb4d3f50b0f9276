"""What Telegram's Bot API and the Zalo Bot API share (Zalo's platform is modelled on Telegram's):
calls to ``{base}/bot{token}/METHOD`` with a JSON body, answers ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code": …, "description": …}``, getMe, sendChatAction "typing", and the
webhook methods. Each provider's client (:mod:`bot.channels.telegram_api`,
:mod:`bot.channels.zalo_bot_api`) adds what differs.

Errors: HTTP 429 and 5xx are retried by :class:`~bot.channels.http.JsonClient`. An error in the
body (``ok: false``, even under HTTP 200) is an error too: its ``error_code`` 408, 429 or 5xx is
retried with the same backoff, anything else is raised at once with the provider's code.
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import httpx

from bot.channels.http import ONCE, JsonClient, RetryPolicy, UpstreamError

log = logging.getLogger(__name__)

_BOT_PATH = re.compile(r"/bot[^/\s]+/")


class _RedactToken(logging.Filter):
    """httpx logs each request URL; ours carry the bot token in the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _BOT_PATH.sub("/bot<token>/", str(a)) if isinstance(a, httpx.URL | str) else a for a in record.args
            )
        return True


_REDACT = _RedactToken()


def description(body: Any) -> str:
    return str(body.get("description", "")) if isinstance(body, dict) else ""


def error_code(body: Any) -> int | None:
    code = body.get("error_code") if isinstance(body, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def is_transient(code: int | None) -> bool:
    """Worth trying again: the provider timed out (408), is rate limiting (429) or failed (5xx)."""
    return code is not None and (code in (408, 429) or 500 <= code <= 599)


class BotApi:
    """A client of one bot: ``name`` is the provider as log lines and errors name it."""

    name = ""

    def __init__(self, token: str, api_base: str, *, timeout: float = 15.0, retry: RetryPolicy | None = None) -> None:
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.client = JsonClient(api_base, self.name, timeout=timeout, retry=retry)
        self._me: dict[str, Any] | None = None
        self._me_lock = threading.Lock()
        logging.getLogger("httpx").addFilter(_REDACT)

    def call(self, method: str, payload: dict[str, Any], *, timeout: float | None = None,
             retry: RetryPolicy | None = None) -> Any:
        """``result`` of a successful call; :class:`UpstreamError` (``code``: the provider's) otherwise."""
        policy = retry or self.client.retry
        failures = 0
        while True:
            try:
                body = self.client.post(f"/bot{self.token}/{method}", payload, timeout=timeout, what=method,
                                        retry=policy)
            except UpstreamError as exc:
                exc.code = error_code(exc.body) or exc.status
                if exc.transient or not is_transient(exc.code):
                    raise  # already retried by the client, or not worth retrying
                body, status = exc.body, exc.status  # an HTTP 408: retried below
            else:
                if isinstance(body, dict) and body.get("ok") is True:
                    return body.get("result")
                status = None  # an error in a successful HTTP answer: only the body's code counts
            code = error_code(body) or status
            failures += 1
            problem = f"{self.name} {method}: error {code} ({description(body) or 'no description'})"
            if is_transient(code) and failures < policy.attempts:
                wait = policy.backoff(failures)
                log.warning("%s; retrying in %.1fs (try %d of %d)", problem, wait, failures + 1, policy.attempts)
                self.client.sleep(wait)
                continue
            raise UpstreamError(problem, status, body, code=code, transient=is_transient(code))

    def me(self) -> dict[str, Any]:
        """The bot's own account (getMe), asked once and remembered."""
        with self._me_lock:
            if self._me is None:
                result = self.call("getMe", {})
                if not isinstance(result, dict) or result.get("id") in (None, ""):
                    raise UpstreamError(f"{self.name} getMe: unexpected answer", None, result, transient=True)
                self._me = result
            return self._me

    def send_typing(self, chat_id: int | str) -> None:
        """"typing…" in the chat for a few seconds; a failure only costs the indicator."""
        try:
            self.call("sendChatAction", {"chat_id": chat_id, "action": "typing"}, timeout=5.0, retry=ONCE)
        except Exception as exc:  # noqa: BLE001 - also a client closed by a shutdown
            log.debug("%s sendChatAction failed: %s", self.name, exc)

    def webhook_info(self) -> dict[str, Any]:
        result = self.call("getWebhookInfo", {})
        return result if isinstance(result, dict) else {}

    def close(self) -> None:
        self.client.close()


class Typing(AbstractContextManager["Typing"]):
    """"typing…" now and every few seconds until the block ends (shown for about 5 s at most)."""

    def __init__(self, api: BotApi, chat_id: int | str, every: float = 4.0) -> None:
        self.api, self.chat_id, self.every = api, chat_id, every
        self._done = threading.Event()

    def __enter__(self) -> Typing:
        self.api.send_typing(self.chat_id)
        threading.Thread(target=self._repeat, name="chidao-typing", daemon=True).start()
        return self

    def _repeat(self) -> None:
        while not self._done.wait(self.every):
            self.api.send_typing(self.chat_id)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()

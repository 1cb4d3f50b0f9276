"""The Telegram Bot API client (https://core.telegram.org/bots/api).

Calls go to ``{TELEGRAM_API_BASE}/bot{token}/METHOD`` with a JSON body; every answer is
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …,
"parameters": {"retry_after": …}}``.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

import httpx

import prompts
from bot.channels.formatting import html_to_plain
from bot.channels.http import ONCE, JsonClient, RetryPolicy, UpstreamError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token
ALLOWED_UPDATES = ["message"]

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


def bot_commands() -> list[dict[str, str]]:
    """The commands shown in Telegram's menu (prompts/channel_commands.txt: ``command<TAB>description``)."""
    rows = (line.split("\t", 1) for line in prompts.load("channel_commands.txt").splitlines() if "\t" in line)
    return [{"command": name.strip(), "description": text.strip()} for name, text in rows]


def description(body: Any) -> str:
    return str(body.get("description", "")) if isinstance(body, dict) else ""


class TelegramApi:
    def __init__(self, token: str, api_base: str, *, timeout: float = 15.0, retry: RetryPolicy | None = None) -> None:
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.client = JsonClient(api_base, "telegram", timeout=timeout, retry=retry)
        self._me: dict[str, Any] | None = None
        self._me_lock = threading.Lock()
        logging.getLogger("httpx").addFilter(_REDACT)

    def call(self, method: str, payload: dict[str, Any], *, timeout: float | None = None,
             retry: RetryPolicy | None = None) -> Any:
        body = self.client.post(f"/bot{self.token}/{method}", payload, timeout=timeout, what=method, retry=retry)
        if not isinstance(body, dict) or body.get("ok") is not True:
            raise UpstreamError(f"telegram {method}: {description(body)}", None, body)
        return body.get("result")

    def me(self) -> dict[str, Any]:
        """The bot's own user (getMe), asked once and remembered."""
        with self._me_lock:
            if self._me is None:
                result = self.call("getMe", {})
                if not isinstance(result, dict) or not isinstance(result.get("id"), int):
                    raise UpstreamError("telegram getMe: unexpected answer", None, result, transient=True)
                self._me = result
            return self._me

    def send_message(self, chat_id: int, text: str, reply_to: str | None = None) -> Any:
        """Send HTML; if Telegram cannot parse it, the same text once more as plain text."""
        payload: dict[str, Any] = {
            "chat_id": chat_id, "text": text, "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if reply_to and reply_to.isdigit():
            payload["reply_parameters"] = {"message_id": int(reply_to), "allow_sending_without_reply": True}
        try:
            return self.call("sendMessage", payload)
        except UpstreamError as exc:
            if exc.status != 400 or "parse" not in description(exc.body).lower():
                raise
            log.warning("telegram sendMessage: HTML refused (%s); sending plain text", description(exc.body))
            payload.pop("parse_mode")
            payload["text"] = html_to_plain(text)
            return self.call("sendMessage", payload)

    def send_typing(self, chat_id: int) -> None:
        """"typing…" in the chat for up to five seconds; a failure only costs the indicator."""
        try:
            self.call("sendChatAction", {"chat_id": chat_id, "action": "typing"}, timeout=5.0, retry=ONCE)
        except Exception as exc:  # noqa: BLE001 - also a client closed by a shutdown
            log.debug("telegram sendChatAction failed: %s", exc)

    def set_commands(self) -> Any:
        return self.call("setMyCommands", {"commands": bot_commands()})

    def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        payload: dict[str, Any] = {"timeout": timeout, "allowed_updates": ALLOWED_UPDATES}
        if offset is not None:
            payload["offset"] = offset
        result = self.call("getUpdates", payload, timeout=timeout + 15)
        return [u for u in result or [] if isinstance(u, dict) and isinstance(u.get("update_id"), int)]

    def set_webhook(self, url: str, secret: str, drop_pending: bool = False) -> Any:
        return self.call("setWebhook", {
            "url": url, "secret_token": secret, "allowed_updates": ALLOWED_UPDATES,
            "drop_pending_updates": drop_pending,
        })

    def delete_webhook(self, drop_pending: bool = False) -> Any:
        return self.call("deleteWebhook", {"drop_pending_updates": drop_pending})

    def webhook_info(self) -> dict[str, Any]:
        return self.call("getWebhookInfo", {}) or {}

    def close(self) -> None:
        self.client.close()

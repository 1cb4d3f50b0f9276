"""Telegram: the Bot API client, updates -> inbound messages, answers as HTML messages.

Calls go to ``{TELEGRAM_API_BASE}/bot{token}/METHOD`` with a JSON body; every answer is
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …,
"parameters": {"retry_after": …}}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from bot.channels.base import Accepted, BackgroundWorker, ChannelBot, Inbound
from bot.channels.formatting import html_to_plain, telegram_messages
from bot.channels.history import ChannelStore
from bot.channels.http import JsonClient, RetryPolicy, UpstreamError
from bot.citations import Answer
from bot.service import ChatService

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


class TelegramApi:
    def __init__(self, token: str, api_base: str, *, timeout: float = 15.0, retry: RetryPolicy | None = None) -> None:
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.client = JsonClient(api_base, "telegram", timeout=timeout, retry=retry)
        logging.getLogger("httpx").addFilter(_REDACT)

    def call(self, method: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
        body = self.client.post(f"/bot{self.token}/{method}", payload, timeout=timeout, what=method)
        if not isinstance(body, dict) or body.get("ok") is not True:
            raise UpstreamError(f"telegram {method}: {_description(body)}", None, body)
        return body.get("result")

    def send_message(self, chat_id: int | str, text: str, reply_to: str | None = None) -> Any:
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
            if exc.status != 400 or "parse" not in _description(exc.body).lower():
                raise
            log.warning("telegram sendMessage: HTML refused (%s); sending plain text", _description(exc.body))
            payload.pop("parse_mode")
            payload["text"] = html_to_plain(text)
            return self.call("sendMessage", payload)

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


def _description(body: Any) -> str:
    return str(body.get("description", "")) if isinstance(body, dict) else ""


def parse_update(update: dict[str, Any]) -> Inbound | None:
    """A user's message in the update, or None for anything we do not answer."""
    message = update.get("message")
    if not isinstance(update.get("update_id"), int) or not isinstance(message, dict):
        return None
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("id") is None:
        return None
    text = message.get("text")
    if not isinstance(text, str):
        if chat.get("type") != "private":  # photos and the like in a group are not for us
            return None
        text = None
    message_id = message.get("message_id")
    return Inbound(str(chat["id"]), str(update["update_id"]), text,
                   str(message_id) if message_id is not None else None)


def _chat_id(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


class TelegramBot(ChannelBot):
    name = "telegram"

    def __init__(
        self,
        service: ChatService,
        store: ChannelStore,
        worker: BackgroundWorker,
        api: TelegramApi,
        webhook_secret: str | None = None,
    ) -> None:
        super().__init__(service, store, worker)
        self.api = api
        self.webhook_secret = webhook_secret

    def render(self, reply: Answer | str) -> list[str]:
        return telegram_messages(reply)

    def send(self, inbound: Inbound, messages: list[str]) -> None:
        for i, text in enumerate(messages):
            self.api.send_message(_chat_id(inbound.chat_id), text, inbound.message_id if i == 0 else None)

    def accept_update(self, update: dict[str, Any]) -> Accepted | None:
        """A webhook update: queued, a duplicate, refused for a full backlog, or None (ignored)."""
        inbound = parse_update(update)
        return self.accept(inbound) if inbound else None

    def close(self) -> None:
        super().close()
        self.api.close()

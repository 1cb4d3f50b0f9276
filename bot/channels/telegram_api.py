"""The Telegram Bot API client (https://core.telegram.org/bots/api).

Calls go to ``{TELEGRAM_API_BASE}/bot{token}/METHOD`` with a JSON body; every answer is
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …,
"parameters": {"retry_after": …}}``. What Zalo's Bot API shares with it is in
:mod:`bot.channels.bot_api`; here is what only Telegram has (HTML, replies, commands, offsets).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import prompts
from bot.channels.bot_api import BotApi, description
from bot.channels.formatting import html_to_plain
from bot.channels.http import UpstreamError

__all__ = ["SECRET_FORMAT", "SECRET_HEADER", "TelegramApi", "bot_commands", "description"]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what setWebhook accepts as secret_token
ALLOWED_UPDATES = ["message"]


def bot_commands() -> list[dict[str, str]]:
    """The commands shown in Telegram's menu (prompts/channel_commands.txt: ``command<TAB>description``)."""
    rows = (line.split("\t", 1) for line in prompts.load("channel_commands.txt").splitlines() if "\t" in line)
    return [{"command": name.strip(), "description": text.strip()} for name, text in rows]


class TelegramApi(BotApi):
    name = "telegram"

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

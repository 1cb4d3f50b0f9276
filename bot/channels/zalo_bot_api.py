"""The Zalo Bot API client (https://bot.zaloplatforms.com/docs/).

Zalo's bot platform follows Telegram's Bot API (:mod:`bot.channels.bot_api`): calls go to
``{ZALO_BOT_API_BASE}/bot{token}/METHOD`` (POST, JSON), the token is ``{bot_id}:{access_token}``,
answers are ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": …, "description": …}``.
What differs from Telegram: ids are strings; sendMessage takes plain text of 1–2000 characters
(no markup, no reply-to); getUpdates has no offset and hands out one update per call, and when
nothing arrives within ``timeout`` it answers error 408; setWebhook needs a secret of 8–256
characters, which Zalo sends back in the ``X-Bot-Api-Secret-Token`` header; there is no command menu.
"""

from __future__ import annotations

import re
from typing import Any

from bot.channels.bot_api import BotApi
from bot.channels.http import ONCE, UpstreamError

SECRET_HEADER = "X-Bot-Api-Secret-Token"
# setWebhook: "Khóa bí mật từ 8 tới 256 ký tự"; printable ASCII without spaces, as a header carries it
SECRET_FORMAT = re.compile(r"^[\x21-\x7e]{8,256}$")
NO_UPDATE = 408  # getUpdates: nothing arrived within the timeout


class ZaloBotApi(BotApi):
    name = "zalo_bot"

    def send_message(self, chat_id: str, text: str) -> Any:
        return self.call("sendMessage", {"chat_id": chat_id, "text": text})

    def get_updates(self, timeout: int) -> list[dict[str, Any]]:
        """What one getUpdates call brings (the docs: one update), held open up to ``timeout`` seconds.

        Not retried here: the poller paces itself after a failure.
        """
        try:
            result = self.call("getUpdates", {"timeout": str(timeout)}, timeout=timeout + 15, retry=ONCE)
        except UpstreamError as exc:
            if exc.code == NO_UPDATE:
                return []
            raise
        updates = result if isinstance(result, list) else [result]
        return [u for u in updates if isinstance(u, dict) and u]

    def set_webhook(self, url: str, secret: str) -> Any:
        return self.call("setWebhook", {"url": url, "secret_token": secret})

    def delete_webhook(self) -> Any:
        return self.call("deleteWebhook", {})

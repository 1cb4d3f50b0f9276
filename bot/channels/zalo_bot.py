"""Zalo Bot (Zalo's token-based bot platform): updates -> inbound messages, answers as plain-text
messages of at most 2000 characters, "typing…" shown while the service works. The client is
:mod:`bot.channels.zalo_bot_api`.

An update (https://bot.zaloplatforms.com/docs/, "Webhook") is ``{"event_name": …, "message":
{"message_id", "date" (epoch ms), "chat": {"id", "chat_type": "PRIVATE"|"GROUP"}, "from": {"id",
"display_name", "is_bot"}, "text"}}``. The docs show the webhook body wrapped like an API answer,
``{"ok": true, "result": <update>}``; a bare update is taken as well. A text is answered; an image,
a sticker or an "unsupported" message (Zalo withholds the content of some accounts) gets the
text-only notice. Group chats are not answered: the platform's groups are still in internal
testing and the docs do not show how a mention of the bot appears in the text, so a question
could not be told from the bot's name. A message older than the age window is not answered.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import Field, StrictBool, StrictStr, ValidationError

from bot.channels.base import Accepted, ChannelBot, Inbound
from bot.channels.bot_api import Typing
from bot.channels.formatting import ZALO_LIMIT, plain_messages
from bot.channels.history import ChannelStore
from bot.channels.jobs import JobQueue
from bot.channels.wire import BadBody, WireModel, invalid_field
from bot.channels.zalo_bot_api import ZaloBotApi
from bot.citations import Answer
from bot.service import ChatService

log = logging.getLogger(__name__)

TEXT_EVENT = "message.text.received"
PRIVATE = "PRIVATE"
FUTURE_SKEW = 600.0  # seconds a message's clock may run ahead of ours


class _Party(WireModel):
    id: StrictStr
    is_bot: StrictBool = False


class _Chat(WireModel):
    id: StrictStr
    chat_type: StrictStr = PRIVATE


class _Message(WireModel):
    message_id: StrictStr
    chat: _Chat
    sender: _Party | None = Field(default=None, alias="from")
    text: StrictStr | None = None
    date: float | None = None  # epoch milliseconds


class _Update(WireModel):
    event_name: StrictStr | None = None
    message: _Message | None = None


def unwrap(body: dict[str, Any]) -> dict[str, Any]:
    """The update in a webhook body: ``{"ok": true, "result": update}`` (as the docs show) or the bare update."""
    if "result" not in body or "message" in body or "event_name" in body:
        return body
    result = body["result"]
    if not isinstance(result, dict):
        raise BadBody(400, "Cập nhật Zalo Bot không hợp lệ: trường result phải là một đối tượng.")
    return result


def _text_of(event: str | None, message: _Message) -> tuple[bool, str | None]:
    """Whether the event is a user's message, and its text (None: not text)."""
    if event is None:  # getUpdates' sample carries no event name
        return True, message.text
    if event == TEXT_EVENT:
        return True, message.text
    return event.startswith("message.") and event.endswith(".received"), None


def _stale(date_ms: float | None, max_age: float, now: float) -> bool:
    if date_ms is None:
        return False
    age = now - date_ms / 1000
    return age > max_age or age < -FUTURE_SKEW


def parse_update(body: dict[str, Any], max_age: float, now: float | None = None) -> Inbound | None:
    """A private user's message in the update; None for what is not answered; :class:`BadBody` if malformed."""
    try:
        parsed = _Update.model_validate(unwrap(body))
    except ValidationError as exc:
        raise BadBody(400, f"Cập nhật Zalo Bot không hợp lệ: {invalid_field(exc)}.") from None
    m = parsed.message
    if m is None or (m.sender is not None and m.sender.is_bot):
        return None
    is_message, text = _text_of(parsed.event_name, m)
    if not is_message:
        return None
    if m.chat.chat_type != PRIVATE:
        log.info("zalo_bot: a %s message in chat %s not answered (only private chats are)", m.chat.chat_type,
                 m.chat.id)
        return None
    if _stale(m.date, max_age, time.time() if now is None else now):
        log.warning("zalo_bot: message %s of chat %s is dated outside the last %.0f s; not answered",
                    m.message_id, m.chat.id, max_age)
        return None
    sender = m.sender.id if m.sender else m.chat.id
    return Inbound(chat_id=m.chat.id, delivery=f"{m.chat.id}:{m.message_id}", text=text, message_id=m.message_id,
                   sender_id=sender)


class ZaloBotChannel(ChannelBot):
    name = "zalo_bot"

    def __init__(self, service: ChatService, store: ChannelStore, queue: JobQueue, api: ZaloBotApi,
                 webhook_secret: str | None = None, max_age: float = 3 * 3600) -> None:
        super().__init__(service, store, queue)
        self.api = api
        self.webhook_secret = webhook_secret
        self.max_age = max_age  # seconds; older messages are not answered
        self.health.details = lambda: {"webhook_secret_set": bool(webhook_secret)}

    def render(self, reply: Answer | str) -> list[str]:
        return plain_messages(reply, ZALO_LIMIT)

    def working(self, inbound: Inbound) -> Typing:
        return Typing(self.api, inbound.chat_id)

    def send_one(self, inbound: Inbound, index: int, text: str) -> None:
        self.api.send_message(inbound.chat_id, text)

    def accept_update(self, body: dict[str, Any]) -> Accepted | None:
        """A webhook body or a polled update: queued, a duplicate, or None (not answered);
        :class:`BadBody` if malformed."""
        inbound = parse_update(body, self.max_age)
        return self.accept(inbound) if inbound else None

    def close(self) -> None:
        self.api.close()

"""Telegram: updates -> inbound messages (typed: an id that is not an integer is refused), the
group rules of :mod:`bot.channels.telegram_group`, answers as HTML messages with "typing…"
shown while the service works. The Bot API client is :mod:`bot.channels.telegram_api`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, ValidationError

from bot.channels.base import Accepted, ChannelBot, Entity, Inbound, Request
from bot.channels.bot_api import Typing
from bot.channels.formatting import telegram_messages
from bot.channels.history import ChannelStore
from bot.channels.jobs import JobQueue
from bot.channels.telegram_api import SECRET_FORMAT, SECRET_HEADER, TelegramApi
from bot.channels.telegram_group import needs_identity, read_addressed
from bot.channels.wire import BadBody, WireModel, invalid_field
from bot.citations import Answer
from bot.service import ChatService

__all__ = ["SECRET_FORMAT", "SECRET_HEADER", "TelegramApi", "TelegramBot", "parse_update"]

GROUP_TYPES = {"group", "supergroup"}


class _User(WireModel):
    id: StrictInt
    is_bot: StrictBool = False


class _Chat(WireModel):
    id: StrictInt
    type: StrictStr


class _Entity(WireModel):
    type: StrictStr
    offset: StrictInt = Field(ge=0)
    length: StrictInt = Field(ge=0)
    user: _User | None = None


class _Replied(WireModel):
    message_id: StrictInt
    sender: _User | None = Field(default=None, alias="from")


class _Message(WireModel):
    message_id: StrictInt
    chat: _Chat
    sender: _User | None = Field(default=None, alias="from")
    text: StrictStr | None = None
    entities: list[_Entity] = Field(default_factory=list, max_length=1000)
    reply_to_message: _Replied | None = None


class _Update(WireModel):
    update_id: StrictInt
    message: _Message | None = None


def parse_update(update: dict[str, Any]) -> Inbound | None:
    """A user's message in the update; None for updates we do not answer; :class:`BadBody` for a malformed one."""
    try:
        parsed = _Update.model_validate(update)
    except ValidationError as exc:
        raise BadBody(400, f"Cập nhật Telegram không hợp lệ: {invalid_field(exc)}.") from None
    m = parsed.message
    if m is None or m.chat.type not in GROUP_TYPES | {"private"} or (m.sender is not None and m.sender.is_bot):
        return None
    group = m.chat.type in GROUP_TYPES
    if m.text is None and group:  # photos and the like in a group are not for us
        return None
    replied = m.reply_to_message
    return Inbound(
        chat_id=str(m.chat.id), delivery=str(parsed.update_id), text=m.text, message_id=str(m.message_id),
        sender_id=str(m.sender.id) if m.sender else None, group=group,
        entities=tuple(Entity(e.type, e.offset, e.length, str(e.user.id) if e.user else None) for e in m.entities),
        reply_to_sender=str(replied.sender.id) if replied and replied.sender else None,
    )


class TelegramBot(ChannelBot):
    name = "telegram"

    def __init__(self, service: ChatService, store: ChannelStore, queue: JobQueue, api: TelegramApi,
                 webhook_secret: str | None = None) -> None:
        super().__init__(service, store, queue)
        self.api = api
        self.webhook_secret = webhook_secret

    def render(self, reply: Answer | str) -> list[str]:
        return telegram_messages(reply)

    def read(self, inbound: Inbound) -> Request | None:
        if inbound.event == "message" and needs_identity(inbound):
            return read_addressed(inbound, self.api.me())
        return super().read(inbound)

    def working(self, inbound: Inbound) -> Typing:
        return Typing(self.api, int(inbound.chat_id))

    def send_one(self, inbound: Inbound, index: int, text: str) -> None:
        self.api.send_message(int(inbound.chat_id), text, inbound.message_id if index == 0 else None)

    def accept_update(self, update: dict[str, Any]) -> Accepted | None:
        """A webhook or polled update: queued, a duplicate, or None (not for us); :class:`BadBody` if malformed."""
        inbound = parse_update(update)
        return self.accept(inbound) if inbound else None

    def close(self) -> None:
        self.api.close()

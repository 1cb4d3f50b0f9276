"""Telegram: updates -> inbound messages (typed: an id that is not an integer is refused), the
group rules of :mod:`bot.channels.telegram_group`, answers as HTML messages with "typing…"
shown while the service works. The Bot API client is :mod:`bot.channels.telegram_api`.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from bot.channels.base import Accepted, ChannelBot, Entity, Inbound, Request
from bot.channels.formatting import telegram_messages
from bot.channels.history import ChannelStore
from bot.channels.jobs import JobQueue
from bot.channels.telegram_api import SECRET_FORMAT, SECRET_HEADER, TelegramApi
from bot.channels.telegram_group import needs_identity, read_addressed
from bot.channels.wire import BadBody
from bot.citations import Answer
from bot.service import ChatService

__all__ = ["SECRET_FORMAT", "SECRET_HEADER", "TelegramApi", "TelegramBot", "parse_update"]

GROUP_TYPES = {"group", "supergroup"}


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _User(_Wire):
    id: StrictInt
    is_bot: StrictBool = False


class _Chat(_Wire):
    id: StrictInt
    type: StrictStr


class _Entity(_Wire):
    type: StrictStr
    offset: StrictInt = Field(ge=0)
    length: StrictInt = Field(ge=0)
    user: _User | None = None


class _Replied(_Wire):
    message_id: StrictInt
    sender: _User | None = Field(default=None, alias="from")


class _Message(_Wire):
    message_id: StrictInt
    chat: _Chat
    sender: _User | None = Field(default=None, alias="from")
    text: StrictStr | None = None
    entities: list[_Entity] = Field(default_factory=list, max_length=1000)
    reply_to_message: _Replied | None = None


class _Update(_Wire):
    update_id: StrictInt
    message: _Message | None = None


_PROBLEMS = {"int_type": "phải là số nguyên", "string_type": "phải là chuỗi", "bool_type": "phải là true/false",
             "missing": "bị thiếu", "model_type": "phải là một đối tượng", "list_type": "phải là một danh sách"}


def _problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "(gốc)"
    return f"trường {where} {_PROBLEMS.get(error['type'], 'không hợp lệ')}"


def parse_update(update: dict[str, Any]) -> Inbound | None:
    """A user's message in the update; None for updates we do not answer; :class:`BadBody` for a malformed one."""
    try:
        parsed = _Update.model_validate(update)
    except ValidationError as exc:
        raise BadBody(400, f"Cập nhật Telegram không hợp lệ: {_problem(exc)}.") from None
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


class Typing(AbstractContextManager["Typing"]):
    """"typing…" now and every few seconds until the block ends (Telegram shows it for 5 s at most)."""

    def __init__(self, api: TelegramApi, chat_id: int, every: float = 4.0) -> None:
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

"""Zalo Official Account: signed webhook events in, customer-service replies out.

Each event is signed in the ``X-ZEvent-Signature`` header: ``mac=`` + sha256 hex of
(app id + raw body + the body's ``timestamp`` + OA secret key). The signature is checked on the
raw bytes before the body is parsed; the timestamp (epoch milliseconds) must also be recent,
so a captured event cannot be replayed later. A text answers the user's message by its
``msg_id`` (a reply, not a proactive message); a new follower is greeted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr, ValidationError

from bot.channels.base import Accepted, ChannelBot, Inbound
from bot.channels.formatting import plain_messages
from bot.channels.health import iso
from bot.channels.history import ChannelStore
from bot.channels.jobs import JobQueue
from bot.channels.wire import BadBody
from bot.channels.zalo_api import ZaloApi
from bot.citations import Answer
from bot.service import ChatService

SIGNATURE_HEADER = "X-ZEvent-Signature"
FUTURE_SKEW = 600.0  # seconds an event's clock may run ahead of ours

TEXT_EVENT = "user_send_text"
FOLLOW_EVENT = "follow"
OTHER_USER_MESSAGES = {  # a user sent something we cannot read: say so
    "user_send_image", "user_send_gif", "user_send_sticker", "user_send_file", "user_send_audio",
    "user_send_video", "user_send_location", "user_send_link", "user_send_business_card",
}

_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"?(\d{1,20})"?')


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret: str) -> str:
    """The header value Zalo sends with an event: ``mac=<sha256 hex>``."""
    digest = hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret.encode()).hexdigest()
    return f"mac={digest}"


def signed_timestamp(header: str | None, raw_body: bytes, app_id: str, oa_secret: str) -> str | None:
    """The ``timestamp`` of ``raw_body`` the header signs it with; None when the signature does not hold.

    Read from the raw bytes, not parsed JSON, so nothing is parsed before the sender is known.
    """
    if not header:
        return None
    given = header.strip()
    given = (given[4:] if given.lower().startswith("mac=") else given).lower().encode()
    for match in list(_TIMESTAMP.finditer(raw_body))[:8]:
        timestamp = match.group(1).decode()
        if hmac.compare_digest(given, signature(app_id, raw_body, timestamp, oa_secret)[4:].encode()):
            return timestamp
    return None


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Party(_Wire):
    id: StrictStr


class _Message(_Wire):
    msg_id: StrictStr | None = None
    text: StrictStr | None = None


class _Event(_Wire):
    event_name: StrictStr
    timestamp: StrictStr | StrictInt
    sender: _Party | None = None
    follower: _Party | None = None
    message: _Message | None = None


def parse_event(event: dict[str, Any]) -> Inbound | None:
    """A user's message (or a new follower) in the event; None for events we do not answer."""
    name = event.get("event_name")
    if name != TEXT_EVENT and name != FOLLOW_EVENT and name not in OTHER_USER_MESSAGES:
        return None
    try:
        parsed = _Event.model_validate(event)
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors(include_url=False)[0]["loc"])
        raise BadBody(400, f"Sự kiện Zalo không hợp lệ ở trường {where}.") from None
    if name == FOLLOW_EVENT:
        if parsed.follower is None:
            raise BadBody(400, "Sự kiện Zalo không hợp lệ: thiếu follower.id.")
        user = parsed.follower.id
        return Inbound(user, f"follow:{user}:{parsed.timestamp}", None, sender_id=user, event="follow")
    if parsed.sender is None:
        raise BadBody(400, "Sự kiện Zalo không hợp lệ: thiếu sender.id.")
    message = parsed.message or _Message()
    text = message.text if name == TEXT_EVENT else None
    msg_id = message.msg_id
    delivery = msg_id or f"{name}:{parsed.sender.id}:{parsed.timestamp}"
    return Inbound(parsed.sender.id, delivery, text, msg_id, sender_id=parsed.sender.id)


class ZaloBot(ChannelBot):
    name = "zalo"

    def __init__(self, service: ChatService, store: ChannelStore, queue: JobQueue, api: ZaloApi,
                 app_id: str, oa_secret: str, max_age: float) -> None:
        super().__init__(service, store, queue)
        self.api = api
        self.app_id = app_id
        self.oa_secret = oa_secret
        self.max_age = max_age  # seconds; older events are refused
        self.health.details = lambda: {"token_valid_until": iso(api.auth.valid_until()),
                                       "token_source": api.auth.current().source}

    def render(self, reply: Answer | str) -> list[str]:
        return plain_messages(reply)

    def send_one(self, inbound: Inbound, index: int, text: str) -> None:
        recipient = {"message_id": inbound.message_id} if inbound.message_id else {"user_id": inbound.chat_id}
        self.api.send_text(recipient, text)

    def signed_timestamp(self, header: str | None, raw_body: bytes) -> str | None:
        return signed_timestamp(header, raw_body, self.app_id, self.oa_secret)

    def accept_event(self, event: dict[str, Any], timestamp: str) -> Accepted | None:
        """A verified event: refused (:class:`BadBody`) when too old or inconsistent, else queued or ignored."""
        if str(event.get("timestamp")) != timestamp:
            raise BadBody(400, "Sự kiện Zalo không hợp lệ: timestamp không khớp chữ ký.")
        age = time.time() - int(timestamp) / 1000
        if age > self.max_age or age < -FUTURE_SKEW:
            raise BadBody(400, f"Sự kiện Zalo đã quá hạn (chỉ nhận sự kiện trong {self.max_age:.0f} giây gần nhất).")
        inbound = parse_event(event)
        return self.accept(inbound) if inbound else None

    def close(self) -> None:
        self.api.close()

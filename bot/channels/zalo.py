"""Zalo Official Account: signed webhook events in, customer-service text messages out.

Each event is signed in the ``X-ZEvent-Signature`` header:
``mac=`` + sha256 hex of (app id + raw body + the body's ``timestamp`` + OA secret key).
Replies go to ``{ZALO_API_BASE}/v3.0/oa/message/cs`` with the ``access_token`` header; Zalo
answers HTTP 200 with ``{"error": 0, "message": "Success", "data": …}`` or a non-zero error.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from bot.channels.base import Accepted, BackgroundWorker, ChannelBot, Inbound
from bot.channels.formatting import plain_messages
from bot.channels.history import ChannelStore
from bot.channels.http import JsonClient, RetryPolicy, UpstreamError
from bot.citations import Answer
from bot.service import ChatService

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
MESSAGE_PATH = "/v3.0/oa/message/cs"

TEXT_EVENT = "user_send_text"
OTHER_USER_MESSAGES = {  # a user sent something we cannot read: say so
    "user_send_image", "user_send_gif", "user_send_sticker", "user_send_file", "user_send_audio",
    "user_send_video", "user_send_location", "user_send_link", "user_send_business_card",
}


def signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret: str) -> str:
    """The header value Zalo sends with an event: ``mac=<sha256 hex>``."""
    digest = hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret.encode()).hexdigest()
    return f"mac={digest}"


def verify(header: str | None, raw_body: bytes, event: dict[str, Any], app_id: str, oa_secret: str) -> bool:
    """True when ``header`` signs ``raw_body`` for our app and OA (the ``mac=`` prefix optional)."""
    timestamp = event.get("timestamp")
    if not header or timestamp is None or isinstance(timestamp, bool):
        return False
    given = header.strip()
    given = given[4:] if given.lower().startswith("mac=") else given
    expected = signature(app_id, raw_body, str(timestamp), oa_secret)[4:]
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def parse_event(event: dict[str, Any]) -> Inbound | None:
    """A user's message in the event, or None for events we do not answer."""
    name = event.get("event_name")
    if name != TEXT_EVENT and name not in OTHER_USER_MESSAGES:
        return None
    sender = event.get("sender")
    message = event.get("message") if isinstance(event.get("message"), dict) else {}
    if not isinstance(sender, dict) or not sender.get("id"):
        return None
    text = message.get("text") if name == TEXT_EVENT else None
    msg_id = message.get("msg_id") or f"{name}:{sender['id']}:{event.get('timestamp')}"
    return Inbound(str(sender["id"]), str(msg_id), text if isinstance(text, str) else None, str(msg_id))


class ZaloApi:
    def __init__(
        self, access_token: str, api_base: str, *, timeout: float = 15.0, retry: RetryPolicy | None = None
    ) -> None:
        self.client = JsonClient(api_base, "zalo", timeout=timeout, retry=retry,
                                 headers={"access_token": access_token})

    def send_text(self, user_id: str, text: str) -> Any:
        body = self.client.post(
            MESSAGE_PATH, {"recipient": {"user_id": user_id}, "message": {"text": text}}, what="message/cs"
        )
        if not isinstance(body, dict) or body.get("error", 0) != 0:
            error = body.get("error") if isinstance(body, dict) else None
            detail = body.get("message") if isinstance(body, dict) else body
            raise UpstreamError(f"zalo message/cs: error {error} ({detail})", None, body)
        return body.get("data")

    def close(self) -> None:
        self.client.close()


class ZaloBot(ChannelBot):
    name = "zalo"

    def __init__(
        self,
        service: ChatService,
        store: ChannelStore,
        worker: BackgroundWorker,
        api: ZaloApi,
        app_id: str,
        oa_secret: str,
    ) -> None:
        super().__init__(service, store, worker)
        self.api = api
        self.app_id = app_id
        self.oa_secret = oa_secret

    def render(self, reply: Answer | str) -> list[str]:
        return plain_messages(reply)

    def send(self, inbound: Inbound, messages: list[str]) -> None:
        for text in messages:
            self.api.send_text(inbound.chat_id, text)

    def verify(self, header: str | None, raw_body: bytes, event: dict[str, Any]) -> bool:
        return verify(header, raw_body, event, self.app_id, self.oa_secret)

    def accept_event(self, event: dict[str, Any]) -> Accepted | None:
        inbound = parse_event(event)
        return self.accept(inbound) if inbound else None

    def close(self) -> None:
        super().close()
        self.api.close()

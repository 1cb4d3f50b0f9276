"""What every channel shares: an inbound message -> how it reads (a question, a command, something
unreadable, or nothing for us) -> the ChatService with the chat's recent history -> the channel's
own formatter and sender.

A channel subclass knows only its wire format: how to read a message, render a reply and send
one message. Taking a message queues it durably (:mod:`bot.channels.jobs`); the channel's
workers (:mod:`bot.channels.dispatch`) answer it.
"""

from __future__ import annotations

import enum
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass

import prompts
from bot.channels.health import ChannelHealth
from bot.channels.history import ChannelStore, StoreClosed
from bot.channels.jobs import JobQueue
from bot.citations import Answer
from bot.service import ChatService

log = logging.getLogger(__name__)

MAX_QUESTION = 2000  # characters passed to the service, as for POST /api/chat
ASK, START, HELP = "hoi", "start", "help"
COMMANDS = (ASK, START, HELP)


@dataclass(frozen=True)
class Entity:
    """A marked stretch of the text (Telegram's MessageEntity): offsets in UTF-16 code units."""

    kind: str  # "mention", "text_mention", "bot_command", …
    offset: int
    length: int
    user_id: str | None = None  # text_mention: the user mentioned


@dataclass(frozen=True)
class Inbound:
    """One message (or event) from a user, in channel-neutral terms; stored as JSON in the queue."""

    chat_id: str
    delivery: str  # the provider's id for this delivery (Telegram update_id, Zalo msg_id)
    text: str | None  # None: something we cannot read (a photo, a sticker …)
    message_id: str | None = None  # the user's message, to reply under where the channel can
    sender_id: str | None = None
    group: bool = False  # a chat of several people: answer only what is addressed to the bot
    event: str = "message"  # "message", or "follow" (a user began following the account)
    entities: tuple[Entity, ...] = ()
    reply_to_sender: str | None = None  # the author of the message this one replies to

    @property
    def history_key(self) -> str:
        """Whose conversation this is: the chat, or in a group the sender within the chat."""
        return f"{self.chat_id}/{self.sender_id}" if self.group and self.sender_id else self.chat_id

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Inbound:
        data = json.loads(raw)
        data["entities"] = tuple(Entity(**e) for e in data.get("entities", ()))
        return cls(**data)


class Accepted(enum.Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Request:
    """How a message reads: ``question`` (text), ``command`` (name, text after it),
    ``unreadable`` (not text), ``greeting`` (a new follower)."""

    kind: str
    text: str = ""
    command: str = ""


_COMMAND = re.compile(r"/(?P<name>\w{1,64})(?:@(?P<target>\w+))?(?:\s+(?P<rest>.*))?", re.DOTALL)


def parse_command(text: str) -> tuple[str, str | None, str] | None:
    """``"/hoi@chidao_bot Sở Y tế?"`` -> ``("hoi", "chidao_bot", "Sở Y tế?")``; None for plain text."""
    if not text.startswith("/"):
        return None
    m = _COMMAND.fullmatch(text)
    if m is None:  # "/", "/?" …: a command we do not know
        return "", None, ""
    return m["name"].lower(), m["target"], (m["rest"] or "").strip()


def plain_request(text: str | None) -> Request:
    """A message in a one-to-one chat: every text is for the bot."""
    if text is None or not text.strip():
        return Request("unreadable")
    parsed = parse_command(text.strip())
    if parsed is None:
        return Request("question", text.strip())
    name, _, rest = parsed
    return Request("command", rest, name)


class ChannelBot(ABC):
    """Answers a channel's messages with the shared service; subclasses read, render and send."""

    name: str = ""

    def __init__(self, service: ChatService, store: ChannelStore, queue: JobQueue) -> None:
        self.service = service
        self.store = store
        self.queue = queue
        self.health = ChannelHealth(self.name)
        self.wake: Callable[[], None] = lambda: None  # the dispatcher's: a job was queued

    @abstractmethod
    def render(self, reply: Answer | str) -> list[str]:
        """The reply (an answer, or a fixed markdown message) as this channel's messages."""

    @abstractmethod
    def send_one(self, inbound: Inbound, index: int, text: str) -> None:
        """Deliver message ``index`` of the reply to the chat."""

    def read(self, inbound: Inbound) -> Request | None:
        """How the message reads; None when it is not for the bot."""
        if inbound.event == "follow":
            return Request("greeting")
        return plain_request(inbound.text)

    def working(self, inbound: Inbound) -> AbstractContextManager[object]:
        """Shown to the user while the service works (Telegram: "typing…")."""
        return nullcontext()

    def accept(self, inbound: Inbound) -> Accepted:
        """Take a delivery now, durably, to be answered by the workers."""
        if not self.queue.put(self.name, inbound.delivery, inbound.chat_id, inbound.to_json()):
            return Accepted.DUPLICATE
        self.wake()
        return Accepted.QUEUED

    def answer(self, inbound: Inbound) -> list[str]:
        """The messages to send for ``inbound`` (none when it is not for the bot)."""
        try:
            reply = self.reply_to(inbound)
        except StoreClosed:
            raise
        except Exception as exc:
            if getattr(exc, "transient", False):
                raise  # the provider is down: the job is retried later
            log.exception("%s: answering chat %s failed", self.name, inbound.chat_id)
            reply = prompts.load("channel_error.txt")
        return self.render(reply) if reply is not None else []

    def reply_to(self, inbound: Inbound) -> Answer | str | None:
        request = self.read(inbound)
        if request is None:
            return None
        if request.kind == "greeting":
            return prompts.load("channel_greeting.txt")
        if request.kind == "unreadable":
            return prompts.load("channel_text_only.txt")
        if request.kind == "question":
            return self.ask(inbound, request.text)
        if request.command == START:
            self.store.forget(self.name, inbound.history_key)
            return prompts.load("channel_start.txt")
        if request.command == ASK:
            return self.ask(inbound, request.text) if request.text else prompts.load("channel_ask_empty.txt")
        return prompts.load("channel_help.txt")

    def ask(self, inbound: Inbound, text: str) -> Answer | str:
        question = text[:MAX_QUESTION]
        if not question.strip():
            return prompts.load("channel_ask_empty.txt")
        history = self.store.history(self.name, inbound.history_key)
        with self.working(inbound):
            answer = self.service.chat(question, history)
        self.store.record(self.name, inbound.history_key, question, answer.answer)
        return answer

    @abstractmethod
    def close(self) -> None:
        """Release what the channel holds (HTTP clients); queued work stays queued."""

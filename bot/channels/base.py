"""What every channel shares: an inbound message -> the ChatService (with the chat's recent
history) -> the channel's own formatter and sender.

A channel subclass knows only its wire format: how to render a reply and send the messages.
Work runs on the channel's own small thread pool, so a slow or failing provider holds up
neither the web API nor the other channels.
"""

from __future__ import annotations

import enum
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import prompts
from bot.channels.history import ChannelStore
from bot.citations import Answer
from bot.service import ChatService

log = logging.getLogger(__name__)

MAX_QUESTION = 2000  # characters passed to the service, as for POST /api/chat


@dataclass(frozen=True)
class Inbound:
    """One message from a user, in channel-neutral terms."""

    chat_id: str
    delivery: str  # the provider's id for this delivery (Telegram update_id, Zalo msg_id)
    text: str | None  # None: something we cannot read (a photo, a sticker …)
    message_id: str | None = None  # the user's message, to reply under where the channel can


class Accepted(enum.Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    BUSY = "busy"


class BackgroundWorker:
    """A few threads of one channel's own, with a bounded backlog."""

    def __init__(self, name: str, threads: int = 2, backlog: int = 100) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"chidao-{name}")
        self._slots = threading.BoundedSemaphore(backlog)
        self._closed = False

    def submit(self, job: Callable[[], None]) -> bool:
        """Queue ``job``; False when the backlog is full or the worker is closed."""
        if self._closed or not self._slots.acquire(blocking=False):
            return False

        def run() -> None:
            try:
                job()
            except Exception:  # a job must never take the worker down
                log.exception("channel job failed")
            finally:
                self._slots.release()

        try:
            self._pool.submit(run)
        except RuntimeError:  # closed meanwhile
            self._slots.release()
            return False
        return True

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)


def command_of(text: str) -> str | None:
    """``"/help@chidao_bot extra"`` -> ``"help"``; None when the text is not a command."""
    if not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""


class ChannelBot(ABC):
    """Answers a channel's messages with the shared service; subclasses render and send."""

    name: str = ""

    def __init__(self, service: ChatService, store: ChannelStore, worker: BackgroundWorker) -> None:
        self.service = service
        self.store = store
        self.worker = worker
        self.closing = False

    @abstractmethod
    def render(self, reply: Answer | str) -> list[str]:
        """The reply (an answer, or a fixed markdown message) as this channel's messages."""

    @abstractmethod
    def send(self, inbound: Inbound, messages: list[str]) -> None:
        """Deliver the messages to the chat, in order."""

    def accept(self, inbound: Inbound) -> Accepted:
        """Take a delivery now and answer it in the background (webhooks must answer quickly)."""
        if not self.store.claim(self.name, inbound.delivery):
            return Accepted.DUPLICATE
        if not self.worker.submit(lambda: self.respond(inbound)):
            self.store.release(self.name, inbound.delivery)
            log.warning("%s: backlog full, delivery %s left for the provider to re-send", self.name,
                        inbound.delivery)
            return Accepted.BUSY
        return Accepted.QUEUED

    def handle(self, inbound: Inbound) -> bool:
        """Answer a delivery here and now (polling); False if it was a duplicate."""
        if not self.store.claim(self.name, inbound.delivery):
            return False
        self.respond(inbound)
        return True

    def respond(self, inbound: Inbound) -> None:
        try:
            reply = self.reply_to(inbound)
        except Exception:
            log.exception("%s: answering chat %s failed", self.name, inbound.chat_id)
            reply = prompts.load("channel_error.txt")
        try:
            self.send(inbound, self.render(reply))
        except Exception:  # already retried where it made sense; logged, given up
            if self.closing:
                log.warning("%s: shutting down; the reply to chat %s was dropped", self.name, inbound.chat_id)
            else:
                log.exception("%s: could not deliver the reply to chat %s", self.name, inbound.chat_id)

    def close(self) -> None:
        """Stop taking work; queued deliveries are dropped."""
        self.closing = True
        self.worker.close()

    def reply_to(self, inbound: Inbound) -> Answer | str:
        if inbound.text is None or not inbound.text.strip():
            return prompts.load("channel_text_only.txt")
        text = inbound.text.strip()
        command = command_of(text)
        if command is not None:
            if command == "start":
                self.store.forget(self.name, inbound.chat_id)
                return prompts.load("channel_start.txt")
            return prompts.load("channel_help.txt")
        question = text[:MAX_QUESTION]
        history = self.store.history(self.name, inbound.chat_id)
        answer = self.service.chat(question, history)
        self.store.record(self.name, inbound.chat_id, question, answer.answer)
        return answer

"""Long polling, for offices without a public HTTPS address: ask the provider for new messages
again and again, queue each durably (as a webhook delivery would be) for the channel's workers.

A provider that is down is waited out with a growing pause; one that refuses to hand out
updates to us (a bad token, a webhook set, another poller) stops the poller with the reason.
The provider's own poller says how one round of asking goes (:meth:`Poller.poll_once`).
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

from bot.channels.bot_api import description
from bot.channels.http import UpstreamError

log = logging.getLogger(__name__)


class PollerStopped(Exception):
    """The provider refuses to hand out updates to us; polling again will not help."""

    def __init__(self, status: int | None, description: str) -> None:
        super().__init__(description)
        self.status = status


class Poller(ABC):
    name = ""
    fatal: frozenset[int] = frozenset({401, 403, 404, 409})  # bad token, or someone else holds the updates

    def __init__(self, timeout: int = 30, max_pause: float = 60.0) -> None:
        self.timeout = timeout  # seconds the provider may hold one request open
        self.max_pause = max_pause

    @abstractmethod
    def poll_once(self) -> int:
        """One round: fetch what is waiting and queue it in order; the number of updates taken."""

    @abstractmethod
    def announce(self) -> None:
        """Done once before polling starts (Telegram: the command menu; Zalo Bot: no webhook in the way)."""

    def run(self, stop: threading.Event | None = None, once: bool = False) -> None:
        """Poll until ``stop`` is set (or one round with ``once``); outages are waited out."""
        stop = stop or threading.Event()
        self.announce()
        failures = 0
        while not stop.is_set():
            try:
                taken = self.poll_once()
                failures = 0
                if taken:
                    log.info("%s: %d updates queued", self.name, taken)
            except UpstreamError as exc:
                code = exc.code if exc.code is not None else exc.status
                if code in self.fatal:
                    raise PollerStopped(code, description(exc.body) or str(exc)) from exc
                failures += 1
                pause = min(self.max_pause, 2.0**failures)
                log.warning("%s getUpdates failed (%s); polling again in %.0fs", self.name, exc, pause)
                stop.wait(pause)
            if once:
                return

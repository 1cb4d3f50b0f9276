"""Long polling (getUpdates) for offices without a public HTTPS address.

Each update is queued durably (as a webhook delivery would be) and the offset — one more than
the last update queued — is saved in the channel store, so a restarted poller neither skips
nor repeats updates. The channel's workers answer the queue: chats concurrently, each chat in
order. Polling starts by announcing the bot's commands (setMyCommands).
"""

from __future__ import annotations

import logging
import threading

from bot.channels.http import UpstreamError
from bot.channels.telegram import TelegramBot
from bot.channels.telegram_api import description
from bot.channels.wire import BadBody

log = logging.getLogger(__name__)

FATAL = {401, 403, 404, 409}  # bad token, or a webhook / another poller holds the updates


class PollerStopped(Exception):
    """Telegram refuses to hand out updates to us; polling again will not help."""

    def __init__(self, status: int | None, description: str) -> None:
        super().__init__(description)
        self.status = status


class TelegramPoller:
    def __init__(self, bot: TelegramBot, timeout: int = 30, max_pause: float = 60.0) -> None:
        self.bot = bot
        self.timeout = timeout
        self.max_pause = max_pause

    @property
    def _offset_key(self) -> str:
        return f"telegram.offset.{self.bot.api.bot_id}"

    @property
    def offset(self) -> int | None:
        value = self.bot.store.get_state(self._offset_key)
        return int(value) if value else None

    def poll_once(self) -> int:
        """Fetch one batch and queue it in order; the number of updates taken."""
        updates = sorted(self.bot.api.get_updates(self.offset, self.timeout), key=lambda u: u["update_id"])
        for update in updates:
            try:
                self.bot.accept_update(update)
            except BadBody as exc:
                log.warning("telegram: update %s skipped: %s", update["update_id"], exc)
            self.bot.store.set_state(self._offset_key, str(update["update_id"] + 1))
        return len(updates)

    def announce_commands(self) -> None:
        try:
            self.bot.api.set_commands()
        except UpstreamError as exc:
            log.warning("telegram setMyCommands failed: %s", exc)

    def run(self, stop: threading.Event | None = None, once: bool = False) -> None:
        """Poll until ``stop`` is set (or one batch with ``once``); outages are waited out."""
        stop = stop or threading.Event()
        self.announce_commands()
        failures = 0
        while not stop.is_set():
            try:
                taken = self.poll_once()
                failures = 0
                if taken:
                    log.info("telegram: %d updates queued, offset %s", taken, self.offset)
            except UpstreamError as exc:
                if exc.status in FATAL:
                    raise PollerStopped(exc.status, description(exc.body) or str(exc)) from exc
                failures += 1
                pause = min(self.max_pause, 2.0**failures)
                log.warning("telegram getUpdates failed (%s); polling again in %.0fs", exc, pause)
                stop.wait(pause)
            if once:
                return

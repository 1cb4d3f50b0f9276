"""Long polling (getUpdates) for offices without a public HTTPS address.

The offset — one more than the last update handled — is saved in the channel store after
each update, so a restarted poller neither skips nor repeats updates (and a repeat that
slips through is caught by the delivery de-duplication).
"""

from __future__ import annotations

import logging
import threading

from bot.channels.http import UpstreamError
from bot.channels.telegram import TelegramBot, parse_update

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
        """Fetch one batch, answer it in order; the number of updates handled."""
        updates = sorted(self.bot.api.get_updates(self.offset, self.timeout), key=lambda u: u["update_id"])
        for update in updates:
            inbound = parse_update(update)
            if inbound is not None:
                self.bot.handle(inbound)
            self.bot.store.set_state(self._offset_key, str(update["update_id"] + 1))
        return len(updates)

    def run(self, stop: threading.Event | None = None, once: bool = False) -> None:
        """Poll until ``stop`` is set (or one batch with ``once``); outages are waited out."""
        stop = stop or threading.Event()
        failures = 0
        while not stop.is_set():
            try:
                handled = self.poll_once()
                failures = 0
                if handled:
                    log.info("telegram: %d updates handled, offset %s", handled, self.offset)
            except UpstreamError as exc:
                if exc.status in FATAL:
                    description = exc.body.get("description", "") if isinstance(exc.body, dict) else ""
                    raise PollerStopped(exc.status, description or str(exc)) from exc
                failures += 1
                pause = min(self.max_pause, 2.0**failures)
                log.warning("telegram getUpdates failed (%s); polling again in %.0fs", exc, pause)
                stop.wait(pause)
            if once:
                return

"""Telegram's long polling (getUpdates with an offset).

Each batch is queued in order and the offset — one more than the last update queued — is saved
in the channel store, so a restarted poller neither skips nor repeats updates. The channel's
workers answer the queue: chats concurrently, each chat in order. Polling starts by announcing
the bot's commands (setMyCommands).
"""

from __future__ import annotations

import logging

from bot.channels.http import UpstreamError
from bot.channels.polling import Poller, PollerStopped
from bot.channels.telegram import TelegramBot
from bot.channels.wire import BadBody

__all__ = ["PollerStopped", "TelegramPoller"]

log = logging.getLogger(__name__)


class TelegramPoller(Poller):
    name = "telegram"

    def __init__(self, bot: TelegramBot, timeout: int = 30, max_pause: float = 60.0) -> None:
        super().__init__(timeout, max_pause)
        self.bot = bot

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

    def announce(self) -> None:
        try:
            self.bot.api.set_commands()
        except UpstreamError as exc:
            log.warning("telegram setMyCommands failed: %s", exc)

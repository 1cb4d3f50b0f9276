"""Zalo Bot's long polling: getUpdates hands out one update per call and keeps no offset (an update
is gone once handed out), so a round asks again until nothing is waiting. Each update is queued
durably at once; a message delivered twice is still answered once (its id is remembered).

getUpdates does not work while a webhook is set; polling starts by asking getWebhookInfo and
stops with that reason instead of polling in vain.
"""

from __future__ import annotations

import logging

from bot.channels.http import UpstreamError
from bot.channels.polling import Poller, PollerStopped
from bot.channels.wire import BadBody
from bot.channels.zalo_bot import ZaloBotChannel

log = logging.getLogger(__name__)

WEBHOOK_SET = 409  # PollerStopped.status when a webhook holds the updates


class ZaloBotPoller(Poller):
    name = "zalo_bot"
    # 400 "sai đường dẫn hoặc API Name không hợp lệ", 401 token invalid, 404 (Zalo's error table)
    fatal = frozenset({400, 401, 404, WEBHOOK_SET})

    def __init__(self, bot: ZaloBotChannel, timeout: int = 30, max_pause: float = 60.0, round_limit: int = 100) -> None:
        super().__init__(timeout, max_pause)
        self.bot = bot
        self.round_limit = round_limit  # updates taken in one round at most

    def poll_once(self) -> int:
        """Ask until nothing is waiting (or ``round_limit`` updates were taken); the number taken."""
        taken = 0
        while taken < self.round_limit:
            updates = self.bot.api.get_updates(self.timeout)
            if not updates:
                break
            for update in updates:
                try:
                    self.bot.accept_update(update)
                except BadBody as exc:
                    log.warning("zalo_bot: update skipped: %s", exc)
            taken += len(updates)
        return taken

    def announce(self) -> None:
        try:
            url = self.bot.api.webhook_info().get("url")
        except UpstreamError as exc:
            code = exc.code if exc.code is not None else exc.status
            if code in self.fatal:
                raise PollerStopped(code, str(exc)) from exc
            log.warning("zalo_bot getWebhookInfo failed: %s", exc)
            return
        if url:
            raise PollerStopped(WEBHOOK_SET, f"webhook đang đặt: {url}")

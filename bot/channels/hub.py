"""The configured channels of one process, built from settings, started and closed together."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import ChannelBot
from bot.channels.dispatch import Dispatcher
from bot.channels.history import ChannelStore
from bot.channels.jobs import JobQueue
from bot.channels.telegram import TelegramApi, TelegramBot
from bot.channels.zalo import ZaloBot
from bot.channels.zalo_api import ZaloApi
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_bot_api import ZaloBotApi
from bot.channels.zalo_token import ZaloAuth
from bot.service import ChatService
from bot.settings import Settings

NAMES = ("telegram", "zalo", "zalo_bot")


@dataclass
class Channels:
    store: ChannelStore
    telegram: TelegramBot | None = None
    zalo: ZaloBot | None = None
    zalo_bot: ZaloBotChannel | None = None
    zalo_missing: list[str] = field(default_factory=list)  # settings still to fill for Zalo
    dispatchers: dict[str, Dispatcher] = field(default_factory=dict)

    def bots(self) -> list[ChannelBot]:
        return [bot for bot in (self.telegram, self.zalo, self.zalo_bot) if bot is not None]

    def status(self) -> dict[str, Any]:
        """Each channel: configured or not, replies still queued, last delivery, last error."""
        states: dict[str, Any] = {name: {"configured": False} for name in NAMES}
        for bot in self.bots():
            states[bot.name] = {"configured": True, "queued": bot.queue.pending(bot.name), **bot.health.snapshot()}
        return states

    def close(self) -> None:
        for dispatcher in self.dispatchers.values():
            dispatcher.close()
        for bot in self.bots():
            bot.close()
        self.store.close()


def zalo_missing(settings: Settings) -> list[str]:
    missing = [name for name, value in (("ZALO_APP_ID", settings.zalo_app_id),
                                        ("ZALO_OA_SECRET", settings.zalo_oa_secret)) if not value]
    if not settings.zalo_access_token and not (settings.zalo_refresh_token and settings.zalo_app_secret):
        missing.append("ZALO_ACCESS_TOKEN hoặc ZALO_REFRESH_TOKEN cùng ZALO_APP_SECRET")
    return missing


def build_telegram(settings: Settings, service: ChatService, store: ChannelStore,
                   queue: JobQueue) -> TelegramBot | None:
    if not settings.telegram_bot_token:
        return None
    api = TelegramApi(settings.telegram_bot_token, settings.telegram_api_base)
    return TelegramBot(service, store, queue, api, settings.telegram_webhook_secret)


def build_zalo(settings: Settings, service: ChatService, store: ChannelStore, queue: JobQueue) -> ZaloBot | None:
    if zalo_missing(settings):
        return None
    assert settings.zalo_app_id and settings.zalo_oa_secret
    auth = ZaloAuth(app_id=settings.zalo_app_id, app_secret=settings.zalo_app_secret,
                    access_token=settings.zalo_access_token, refresh_token=settings.zalo_refresh_token,
                    oauth_base=settings.zalo_oauth_base, data_dir=settings.data_dir)
    return ZaloBot(service, store, queue, ZaloApi(auth, settings.zalo_api_base), settings.zalo_app_id,
                   settings.zalo_oa_secret, settings.zalo_event_max_age)


def build_zalo_bot(settings: Settings, service: ChatService, store: ChannelStore,
                   queue: JobQueue) -> ZaloBotChannel | None:
    if not settings.zalo_bot_token:
        return None
    api = ZaloBotApi(settings.zalo_bot_token, settings.zalo_bot_api_base)
    return ZaloBotChannel(service, store, queue, api, settings.zalo_bot_webhook_secret, settings.zalo_event_max_age)


def build_channels(settings: Settings, service: ChatService, only: Collection[str] = NAMES) -> Channels:
    """Whatever the settings configure (of ``only``), with their workers running. The store's file
    is created only when a channel is configured."""
    store = ChannelStore.in_dir(settings.data_dir)
    channels = Channels(store=store, zalo_missing=zalo_missing(settings))
    configured = {"telegram": bool(settings.telegram_bot_token), "zalo": not channels.zalo_missing,
                  "zalo_bot": bool(settings.zalo_bot_token)}
    wanted = [name for name in only if configured.get(name)]
    if not wanted:
        return channels
    queue = JobQueue(store)
    if "telegram" in wanted:
        channels.telegram = build_telegram(settings, service, store, queue)
    if "zalo" in wanted:
        channels.zalo = build_zalo(settings, service, store, queue)
    if "zalo_bot" in wanted:
        channels.zalo_bot = build_zalo_bot(settings, service, store, queue)
    for bot in channels.bots():
        channels.dispatchers[bot.name] = Dispatcher(bot, queue, threads=settings.channel_workers).start()
    return channels

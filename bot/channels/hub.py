"""The configured channels of one process, built from settings and closed together."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.channels.base import BackgroundWorker
from bot.channels.history import ChannelStore
from bot.channels.telegram import TelegramApi, TelegramBot
from bot.channels.zalo import ZaloApi, ZaloBot
from bot.service import ChatService
from bot.settings import Settings

ZALO_SETTINGS = ("ZALO_APP_ID", "ZALO_OA_SECRET", "ZALO_ACCESS_TOKEN")


@dataclass
class Channels:
    store: ChannelStore
    telegram: TelegramBot | None = None
    zalo: ZaloBot | None = None
    zalo_missing: list[str] = field(default_factory=list)  # settings still to fill for Zalo

    def close(self) -> None:
        for bot in (self.telegram, self.zalo):
            if bot is not None:
                bot.close()
        self.store.close()


def build_telegram(settings: Settings, service: ChatService, store: ChannelStore) -> TelegramBot | None:
    if not settings.telegram_bot_token:
        return None
    api = TelegramApi(settings.telegram_bot_token, settings.telegram_api_base)
    return TelegramBot(service, store, BackgroundWorker("telegram"), api, settings.telegram_webhook_secret)


def build_zalo(settings: Settings, service: ChatService, store: ChannelStore) -> ZaloBot | None:
    if not (settings.zalo_app_id and settings.zalo_oa_secret and settings.zalo_access_token):
        return None
    api = ZaloApi(settings.zalo_access_token, settings.zalo_api_base)
    return ZaloBot(service, store, BackgroundWorker("zalo"), api, settings.zalo_app_id, settings.zalo_oa_secret)


def build_channels(settings: Settings, service: ChatService) -> Channels:
    """Whatever the settings configure; the store's file is created on first use only."""
    store = ChannelStore.in_dir(settings.data_dir)
    values = (settings.zalo_app_id, settings.zalo_oa_secret, settings.zalo_access_token)
    return Channels(
        store=store,
        telegram=build_telegram(settings, service, store),
        zalo=build_zalo(settings, service, store),
        zalo_missing=[name for name, value in zip(ZALO_SETTINGS, values) if not value],
    )

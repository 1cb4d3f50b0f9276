"""``chidao zalo-bot …``: long polling, and registering the webhook with the Zalo Bot platform."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli_channels import refused, run_poller, webhook_url
from bot.cli_common import data_dir_option, settings_from

if TYPE_CHECKING:
    from bot.channels.hub import Channels
    from bot.channels.zalo_bot_api import ZaloBotApi
    from bot.channels.zalo_bot_poll import ZaloBotPoller
    from bot.settings import Settings

WEBHOOK_PATH = "/webhooks/zalo-bot"
PROVIDER = "Zalo Bot"


def _settings(ctx: click.Context, data_dir: Path | None) -> Settings:
    settings = settings_from(ctx, data_dir)
    if not settings.zalo_bot_token:
        raise click.ClickException("Chưa đặt ZALO_BOT_TOKEN (Bot Token nhận qua tin nhắn Zalo khi tạo bot bằng "
                                   "Zalo Bot Creator).")
    return settings


def _api(settings: Settings) -> ZaloBotApi:
    from bot.channels.zalo_bot_api import ZaloBotApi

    assert settings.zalo_bot_token
    return ZaloBotApi(settings.zalo_bot_token, settings.zalo_bot_api_base)


def _stopped(status: int | None, reason: str) -> str:
    from bot.channels.zalo_bot_poll import WEBHOOK_SET

    if status == WEBHOOK_SET:
        return (f"Zalo Bot không giao tin qua getUpdates khi bot đang đặt webhook ({reason}). "
                "Gỡ webhook bằng 'chidao zalo-bot delete-webhook' rồi chạy lại.")
    return f"ZALO_BOT_TOKEN không hợp lệ hoặc bị Zalo từ chối ({reason})."


@click.group("zalo-bot")
def zalo_bot() -> None:
    """Kênh Zalo Bot: nhận tin nhắn bằng long polling, đặt hoặc gỡ webhook."""


@zalo_bot.command()
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(0, 50),
              help="Số giây mỗi lần chờ tin nhắn mới (long polling).")
@click.option("--once", is_flag=True, help="Nhận hết tin đang chờ, trả lời rồi thoát.")
@data_dir_option
@click.pass_context
def poll(ctx: click.Context, timeout: int, once: bool, data_dir: Path | None) -> None:
    """Nhận tin nhắn bằng getUpdates (không cần HTTPS công khai) và trả lời."""
    from bot.channels.zalo_bot_poll import ZaloBotPoller

    def poller(channels: Channels) -> ZaloBotPoller:
        assert channels.zalo_bot is not None
        return ZaloBotPoller(channels.zalo_bot, timeout=timeout)

    settings = _settings(ctx, data_dir)
    click.echo("Đang nhận tin nhắn Zalo Bot (getUpdates). Nhấn Ctrl+C để dừng.", err=True)
    run_poller(settings, "zalo_bot", poller, once, _stopped)


@zalo_bot.command("set-webhook")
@click.argument("url")
@data_dir_option
@click.pass_context
def set_webhook(ctx: click.Context, url: str, data_dir: Path | None) -> None:
    """Đăng ký URL (HTTPS công khai) nhận webhook, kèm ZALO_BOT_WEBHOOK_SECRET."""
    from bot.channels.http import UpstreamError
    from bot.channels.zalo_bot_api import SECRET_FORMAT

    settings = _settings(ctx, data_dir)
    secret = settings.zalo_bot_webhook_secret or ""
    if not SECRET_FORMAT.match(secret):
        raise click.ClickException("ZALO_BOT_WEBHOOK_SECRET chưa đặt hoặc không hợp lệ: 8–256 ký tự ASCII in được, "
                                   "không có dấu cách.")
    target = webhook_url(url, WEBHOOK_PATH)
    api = _api(settings)
    try:
        api.set_webhook(target, secret)
    except UpstreamError as exc:
        raise refused(exc, PROVIDER) from exc
    finally:
        api.close()
    click.echo(f"Đã đặt webhook Zalo Bot: {target}")


@zalo_bot.command("delete-webhook")
@data_dir_option
@click.pass_context
def delete_webhook(ctx: click.Context, data_dir: Path | None) -> None:
    """Gỡ webhook (để dùng 'chidao zalo-bot poll')."""
    from bot.channels.http import UpstreamError

    api = _api(_settings(ctx, data_dir))
    try:
        api.delete_webhook()
    except UpstreamError as exc:
        raise refused(exc, PROVIDER) from exc
    finally:
        api.close()
    click.echo("Đã gỡ webhook Zalo Bot.")


@zalo_bot.command("webhook-info")
@data_dir_option
@click.pass_context
def webhook_info(ctx: click.Context, data_dir: Path | None) -> None:
    """Xem webhook đang đặt và thời điểm đặt."""
    from bot.channels.health import iso
    from bot.channels.http import UpstreamError

    api = _api(_settings(ctx, data_dir))
    try:
        info = api.webhook_info()
    except UpstreamError as exc:
        raise refused(exc, PROVIDER) from exc
    finally:
        api.close()
    click.echo(f"URL:            {info.get('url') or '(chưa đặt)'}")
    updated = info.get("updated_at")
    if isinstance(updated, int | float) and not isinstance(updated, bool):
        click.echo(f"Cập nhật lúc:   {iso(updated / 1000)}")

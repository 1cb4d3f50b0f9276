"""``chidao telegram …``: long polling, and registering the webhook (and the command menu) with Telegram.

Also what the bot channels' commands share (``chidao zalo-bot …`` in :mod:`bot.cli_zalo_bot`):
the webhook URL, the provider's refusal as a CLI error, and the polling loop.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import click

from bot.cli_common import data_dir_option, settings_from

if TYPE_CHECKING:
    from bot.channels.hub import Channels
    from bot.channels.polling import Poller
    from bot.channels.telegram_api import TelegramApi
    from bot.settings import Settings

WEBHOOK_PATH = "/webhooks/telegram"
ONCE_DRAIN = 300.0  # seconds `poll --once` waits for the replies to go out


def _settings(ctx: click.Context, data_dir: Path | None) -> Settings:
    settings = settings_from(ctx, data_dir)
    if not settings.telegram_bot_token:
        raise click.ClickException("Chưa đặt TELEGRAM_BOT_TOKEN (mã bot lấy từ @BotFather).")
    return settings


def _api(settings: Settings) -> TelegramApi:
    from bot.channels.telegram_api import TelegramApi

    assert settings.telegram_bot_token
    return TelegramApi(settings.telegram_bot_token, settings.telegram_api_base)


def refused(exc: Exception, provider: str = "Telegram") -> click.ClickException:
    body = getattr(exc, "body", None)
    description = body.get("description") if isinstance(body, dict) else None
    return click.ClickException(f"{provider} từ chối: {description or exc}")


def webhook_url(url: str, path: str = WEBHOOK_PATH) -> str:
    """The URL as given, or with the webhook's route (``/webhooks/telegram``) added when it names only the server."""
    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return urlunsplit(parts._replace(path=path))
    return url


def run_poller(settings: Settings, name: str, make_poller: Callable[[Channels], Poller], once: bool,
               on_stopped: Callable[[int | None, str], str]) -> None:
    """Answer channel ``name`` by long polling until Ctrl+C (or one round with ``once``, its replies
    sent before returning); ``on_stopped`` words the error when the provider refuses to hand out updates."""
    from bot.channels.hub import build_channels
    from bot.channels.polling import PollerStopped
    from bot.wiring import build_service

    service = build_service(settings)
    service.warm_up(wait=False)
    channels = build_channels(settings, service, only=(name,))
    poller = make_poller(channels)
    try:
        poller.run(once=once)
        if once and not channels.dispatchers[name].drain(timeout=ONCE_DRAIN):
            click.echo("Còn tin chưa trả lời xong; lần chạy sau sẽ gửi tiếp.", err=True)
    except PollerStopped as exc:
        raise click.ClickException(on_stopped(exc.status, str(exc))) from exc
    except KeyboardInterrupt:
        click.echo("Đã dừng.", err=True)
    finally:
        channels.close()


@click.group()
def telegram() -> None:
    """Kênh Telegram: nhận tin nhắn bằng long polling, đặt hoặc gỡ webhook."""


@telegram.command()
@click.option("--timeout", default=30, show_default=True, type=click.IntRange(0, 50),
              help="Số giây mỗi lần chờ tin nhắn mới (long polling).")
@click.option("--once", is_flag=True, help="Nhận và trả lời một lượt tin nhắn rồi thoát.")
@data_dir_option
@click.pass_context
def poll(ctx: click.Context, timeout: int, once: bool, data_dir: Path | None) -> None:
    """Nhận tin nhắn bằng getUpdates (không cần HTTPS công khai) và trả lời."""
    from bot.channels.telegram_poll import TelegramPoller

    def stopped(status: int | None, reason: str) -> str:
        if status == 409:
            return ("Telegram không cho nhận tin bằng getUpdates: bot đang đặt webhook hoặc một tiến trình poll "
                    f"khác đang chạy ({reason}). Gỡ webhook bằng 'chidao telegram delete-webhook' rồi chạy lại.")
        return f"TELEGRAM_BOT_TOKEN không hợp lệ hoặc bị từ chối ({reason})."

    def poller(channels: Channels) -> TelegramPoller:
        assert channels.telegram is not None
        return TelegramPoller(channels.telegram, timeout=timeout)

    settings = _settings(ctx, data_dir)
    click.echo("Đang nhận tin nhắn Telegram (getUpdates). Nhấn Ctrl+C để dừng.", err=True)
    run_poller(settings, "telegram", poller, once, stopped)


@telegram.command("set-webhook")
@click.argument("url")
@click.option("--drop-pending", is_flag=True, help="Bỏ các tin nhắn đang chờ trên Telegram.")
@data_dir_option
@click.pass_context
def set_webhook(ctx: click.Context, url: str, drop_pending: bool, data_dir: Path | None) -> None:
    """Đăng ký URL (HTTPS công khai) nhận webhook, kèm TELEGRAM_WEBHOOK_SECRET."""
    from bot.channels.http import UpstreamError
    from bot.channels.telegram_api import SECRET_FORMAT

    settings = _settings(ctx, data_dir)
    secret = settings.telegram_webhook_secret or ""
    if not SECRET_FORMAT.match(secret):
        raise click.ClickException(
            "TELEGRAM_WEBHOOK_SECRET chưa đặt hoặc không hợp lệ: 1–256 ký tự, chỉ gồm A-Z, a-z, 0-9, _ và -."
        )
    target = webhook_url(url)
    api = _api(settings)
    try:
        api.set_webhook(target, secret, drop_pending)
        api.set_commands()
    except UpstreamError as exc:
        raise refused(exc) from exc
    finally:
        api.close()
    click.echo(f"Đã đặt webhook Telegram: {target} (kèm danh sách lệnh /hoi, /help, /start)")


@telegram.command("delete-webhook")
@click.option("--drop-pending", is_flag=True, help="Bỏ các tin nhắn đang chờ trên Telegram.")
@data_dir_option
@click.pass_context
def delete_webhook(ctx: click.Context, drop_pending: bool, data_dir: Path | None) -> None:
    """Gỡ webhook (để dùng 'chidao telegram poll')."""
    from bot.channels.http import UpstreamError

    api = _api(_settings(ctx, data_dir))
    try:
        api.delete_webhook(drop_pending)
    except UpstreamError as exc:
        raise refused(exc) from exc
    finally:
        api.close()
    click.echo("Đã gỡ webhook Telegram.")


@telegram.command("webhook-info")
@data_dir_option
@click.pass_context
def webhook_info(ctx: click.Context, data_dir: Path | None) -> None:
    """Xem webhook đang đặt, số tin đang chờ và lỗi gần nhất Telegram ghi nhận."""
    from bot.channels.http import UpstreamError

    api = _api(_settings(ctx, data_dir))
    try:
        info = api.webhook_info()
    except UpstreamError as exc:
        raise refused(exc) from exc
    finally:
        api.close()
    click.echo(f"URL:            {info.get('url') or '(chưa đặt)'}")
    click.echo(f"Tin đang chờ:   {info.get('pending_update_count', 0)}")
    if info.get("last_error_message"):
        click.echo(f"Lỗi gần nhất:   {info['last_error_message']}")

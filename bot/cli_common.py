"""Pieces every ``chidao`` subcommand shares: the settings and the ``--data-dir`` option."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def settings_from(ctx: click.Context, data_dir: Path | None) -> Settings:
    data_dir = data_dir or ctx.obj.get("data_dir")
    try:
        settings = Settings(data_dir=data_dir) if data_dir else Settings()
    except Exception as exc:  # pydantic's ValidationError, a malformed .env
        raise click.ClickException(f"Cấu hình không hợp lệ: {exc}") from exc
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise click.ClickException(f"{settings.data_dir}: không phải thư mục (CHIDAO_DATA_DIR / --data-dir)")
    return settings


def data_dir_option(func: F) -> F:
    """``--data-dir DIR`` on every command (also accepted before the command name)."""

    @click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Thư mục dữ liệu (mặc định: CHIDAO_DATA_DIR hoặc ~/.local/share/chidao).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]



"""``chidao feedback export``: the officers' ratings, with question, answer and citations, as JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli_common import data_dir_option, settings_from


@click.group()
def feedback() -> None:
    """Đánh giá (👍/👎) của cán bộ về các câu trả lời."""


@feedback.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ghi ra tệp này (mặc định: in ra màn hình).")
@data_dir_option
@click.pass_context
def export(ctx: click.Context, output: Path | None, data_dir: Path | None) -> None:
    """Xuất mọi đánh giá dạng JSONL (mỗi dòng một đánh giá, kèm câu hỏi, câu trả lời, trích dẫn)."""
    from bot.feedback import FILENAME, FeedbackStore

    settings = settings_from(ctx, data_dir)
    path = settings.data_dir / FILENAME
    rows = list(FeedbackStore(path).export()) if path.exists() else []
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if output is None:
        click.echo(lines, nl=False)
        if not rows:
            click.echo(f"Chưa có đánh giá nào ({path}).", err=True)
        return
    try:
        output.write_text(lines, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Không ghi được {output}: {exc.strerror or exc}") from exc
    click.echo(f"Đã xuất {len(rows)} đánh giá vào {output}.", err=True)

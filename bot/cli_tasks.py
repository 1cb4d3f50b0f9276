"""``chidao agencies`` and ``chidao deadlines``: who is assigned what, and by when."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from bot.cli_common import data_dir_option, settings_from


def _index(ctx: click.Context, data_dir: Path | None):  # noqa: ANN202 - TaskIndex, imported lazily
    from bot.wiring import build_store
    from vectorstore.task_index import TaskIndex

    return TaskIndex(build_store(settings_from(ctx, data_dir)))


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"cần ngày dạng YYYY-MM-DD, nhận '{value}'", param_hint=name) from None


@click.command()
@data_dir_option
@click.pass_context
def agencies(ctx: click.Context, data_dir: Path | None) -> None:
    """Liệt kê cơ quan, đơn vị được giao nhiệm vụ trong các văn bản đã nạp."""
    summaries = _index(ctx, data_dir).agencies()
    if not summaries:
        click.echo("Chưa có nhiệm vụ nào (hãy nạp văn bản: chidao ingest THƯ_MỤC).")
        return
    click.echo(f"{'mã':28} {'nhiệm vụ':>8} {'chủ trì':>8} {'có hạn':>7}  tên")
    for a in summaries:
        click.echo(f"{a.id:28} {a.task_count:8} {a.lead_count:8} {a.deadline_count:7}  {a.name}")


@click.command()
@click.option("--agency", "-a", default=None, help="Mã, tên hoặc tên viết tắt của cơ quan (vd: 'Sở GD&ĐT').")
@click.option("--from", "start", default=None, help="Từ ngày (YYYY-MM-DD).")
@click.option("--to", "end", default=None, help="Đến ngày (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "ics"]), default="table", show_default=True)
@data_dir_option
@click.pass_context
def deadlines(ctx: click.Context, agency: str | None, start: str | None, end: str | None, fmt: str,
              data_dir: Path | None) -> None:
    """Các thời hạn (bảng, CSV hoặc iCalendar), lọc theo cơ quan và khoảng ngày."""
    from bot import exports

    first, last = _date(start, "--from"), _date(end, "--to")
    index = _index(ctx, data_dir)
    agency_id = None
    if agency:
        agency_id = index.resolve(agency)
        if agency_id is None:
            raise click.ClickException(f"Không có cơ quan '{agency}' trong danh mục nhiệm vụ (xem: chidao agencies).")
    found = index.occurrences(first, last, agency_id)
    if fmt == "csv":
        sys.stdout.write(exports.to_csv(found))
        return
    if fmt == "ics":
        views = list({o.view.task.id: o.view for o in found}.values())
        lo = first or min((o.day for o in found), default=date.today())
        hi = last or max((o.day for o in found), default=date.today())
        sys.stdout.buffer.write(exports.to_ics(views, lo, hi))
        return
    if not found:
        click.echo("Không có thời hạn nào trong khoảng đã chọn.")
    for o in found:
        t = o.view.task
        click.echo(f"{o.day.isoformat()}  {t.agency_name} ({t.role}) – {o.deadline.text}\n"
                   f"            {t.text[:110]}\n            {o.view.document.label} · {t.section}")

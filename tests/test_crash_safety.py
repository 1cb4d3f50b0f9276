"""A process killed (SIGKILL) in the middle of an ingest leaves the previous state fully queryable,
and the next ingest completes the work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
V1 = """KẾ HOẠCH
Tuần tra biên giới

I. NHIỆM VỤ
1. Đồn biên phòng Bản Vược
- Tổ chức tuần tra đường mòn lối mở vào ban đêm, báo cáo trước ngày 12/6/2026.
"""


def chidao(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args, "--data-dir", str(data)], capture_output=True,
                          text=True, cwd=ROOT, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def state(data: Path) -> tuple[str, str]:
    """(version of the live document, the answer to a question only version 1 answers)."""
    docs = json.loads(chidao("list", "--json", data=data).stdout)
    assert [d["id"] for d in docs] == ["plan"]
    answer = json.loads(chidao("ask", "Đồn biên phòng Bản Vược tuần tra ở đâu, báo cáo trước ngày nào?", "--json",
                               data=data).stdout)
    return docs[0]["ingested_at"], json.dumps(answer, ensure_ascii=False)


def test_sigkill_mid_ingest_keeps_the_old_version_and_the_next_run_finishes(tmp_path):
    data = tmp_path / "data"
    plan = tmp_path / "plan.txt"
    plan.write_text(V1, encoding="utf-8")
    assert chidao("ingest", str(plan), data=data).returncode == 0
    v1_stamp, v1_answer = state(data)
    assert "12/6/2026" in v1_answer

    # Version 2: a long document (about a minute of embedding) whose text version 1 lacks.
    seed = (ROOT / "samples" / "003_aab6fb287954f5ee.txt").read_text(encoding="utf-8")
    extra = (ROOT / "samples" / "002_11ae31a54952ac5b.txt").read_text(encoding="utf-8")
    plan.write_text(seed.replace("Sở Tài chính", "Sở Tài chính (phiên bản hai)") + "\n\n" + extra, encoding="utf-8")

    for delay in (3.0, 8.0, 14.0):
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "ingest", str(plan), "--data-dir", str(data)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
        time.sleep(delay)
        assert proc.poll() is None, "ingest finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        stamp, answer = state(data)
        assert stamp == v1_stamp  # still version 1, whole
        assert "12/6/2026" in answer and "phiên bản hai" not in answer

    done = chidao("ingest", str(plan), data=data)
    assert done.returncode == 0 and "đã cập nhật" in done.stdout
    answer = json.loads(chidao("ask", "Sở Tài chính có nhiệm vụ gì?", "--json", data=data).stdout)
    assert answer["answered"] and "phiên bản hai" in answer["citations"][0]["section"]
    gone = json.loads(chidao("ask", "Đồn biên phòng Bản Vược tuần tra ở đâu?", "--json", data=data).stdout)
    assert "Bản Vược" not in json.dumps(gone, ensure_ascii=False)

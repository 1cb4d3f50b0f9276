"""The `chidao` command as users run it: a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEV_SET

pytestmark = pytest.mark.slow

CHIDAO = [sys.executable, "-m", "bot.cli"]


def run(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([*CHIDAO, *args], capture_output=True, text=True, env=full_env, timeout=timeout,
                          cwd=Path(__file__).resolve().parent.parent)


def test_ingest_reports_each_file_and_is_idempotent(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "plan.md").write_text(
        "# KẾ HOẠCH\n\nKiểm tra chợ\n\n## I. NHIỆM VỤ\n\n**1. Công an xã** tuần tra chợ phiên.\n", encoding="utf-8")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "bang-tinh.xlsx").write_bytes(b"PK\x03\x04")
    data = tmp_path / "data"
    first = run("ingest", str(docs), "--data-dir", str(data))
    assert first.returncode == 1  # one file failed; the others are in
    assert "plan.md" in first.stdout and "đã thêm" in first.stdout
    assert "empty.txt" in first.stderr and "rỗng" in first.stderr
    assert "bang-tinh.xlsx" in first.stderr and "không được hỗ trợ" in first.stderr
    second = run("ingest", str(docs / "sub"), "--data-dir", str(data))
    assert second.returncode == 0 and "không đổi" in second.stdout


def test_data_dir_from_environment(tmp_path):
    plan = tmp_path / "plan.txt"
    plan.write_text("KẾ HOẠCH\n\nNhiệm vụ\n\n1. Công an xã tuần tra chợ phiên vào cuối tuần.\n", encoding="utf-8")
    data = tmp_path / "envdata"
    assert run("ingest", str(plan), env={"CHIDAO_DATA_DIR": str(data)}).returncode == 0
    assert (data / "chroma").is_dir()


def test_ask_json_is_the_chat_object(seeded_dir):
    result = run("ask", "Sở Tư pháp có nhiệm vụ gì?", "--json", "--data-dir", str(seeded_dir))
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert set(body) >= {"answer", "answered", "citations"}
    assert body["answered"] and body["citations"][0]["section"] == "III › 11. Sở Tư pháp"


def test_ask_plain_prints_sources(seeded_dir):
    result = run("ask", "Sở Tư pháp có nhiệm vụ gì?", "--data-dir", str(seeded_dir))
    assert "[1]" in result.stdout and "003_aab6fb287954f5ee.txt · III › 11. Sở Tư pháp" in result.stdout


def test_eval_prints_the_four_figures(seeded_dir):
    result = run("eval", str(DEV_SET), "--data-dir", str(seeded_dir))
    assert result.returncode == 0, result.stderr
    for name in ("hit@5", "MRR@10", "fact recall", "refusal accuracy"):
        assert name in result.stdout
    hit = float(result.stdout.split("hit@5")[1].split()[0])
    assert hit >= 0.95


def test_errors_name_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "questions.jsonl"
    bad.write_text("{oops\n", encoding="utf-8")
    result = run("eval", str(bad), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 1 and "questions.jsonl:1" in result.stderr
    missing = run("ingest", str(tmp_path / "nope.txt"), "--data-dir", str(tmp_path / "d"))
    assert missing.returncode == 1
    assert "nope.txt" in missing.stderr and "không tìm thấy" in missing.stderr
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = run("ask", "x", "--data-dir", str(afile))
    assert result.returncode != 0 and "afile" in result.stderr
